package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestStore_ConformanceOneTransactionPerAppend runs the suite with group
// commit switched off (MaxBatch 1), the benchmark's baseline.
func TestStore_ConformanceOneTransactionPerAppend(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
		return MustOpen(t, tempPath(t), sqlite.Config{PollInterval: time.Hour, MaxBatch: 1})
	})
}

// lockPatience is the busy timeout of stores whose writer lockFile blocks: the
// writer must keep waiting for the lock however slowly a loaded machine runs
// the steps of the test, and the test never holds it this long.
const lockPatience = time.Minute

// lockFile takes the file's write lock through a connection of its own, as
// another process would, so that the store's writer blocks in BEGIN and the
// appends that follow queue up behind it. The returned function releases
// the lock.
func lockFile(t *testing.T, path string) (release func()) {
	t.Helper()
	conn, err := rawDB(t, path).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("release the lock: %v", err)
			}
			_ = conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// eventually fails the test unless cond becomes true within 20 s (it returns as soon as it is).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type outcome struct {
	res eventstore.AppendResult
	err error
}

func appendAsync(ctx context.Context, s *sqlite.Store, stream string, expected uint64, evs ...eventstore.NewEvent) <-chan outcome {
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Append(ctx, stream, expected, evs...)
		done <- outcome{res, err}
	}()
	return done
}

func receive(t *testing.T, what string, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		return outcome{}
	}
}

// TestStore_GroupCommit queues appends in a known order behind a lock held
// by another connection, so that they are committed in one transaction, and
// checks that each got its own answer: appends to one stream see each other,
// a retry of an append in the same batch or an earlier one writes nothing, a
// wrong version or a failing insert is rolled back alone, and an append
// withdrawn by its caller while queued is not written.
func TestStore_GroupCommit(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	s := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour, BusyTimeout: lockPatience})
	release := lockFile(t, path)

	plugCtx, cancelPlug := context.WithCancel(ctx)
	defer cancelPlug()
	plugEvents := []eventstore.NewEvent{event("p1", 0)}
	plug := appendAsync(plugCtx, s, "plug", eventstore.NoStream, plugEvents...)
	eventually(t, "the writer has taken the first append", func() bool { return s.Taken() == 1 })

	withdrawnCtx, withdraw := context.WithCancel(ctx)
	defer withdraw()
	a := []eventstore.NewEvent{event("a1", 1), event("a2", 2)}
	steps := []struct {
		name     string
		ctx      context.Context
		stream   string
		expected uint64
		events   []eventstore.NewEvent
	}{
		{"A", ctx, "s1", eventstore.NoStream, a},
		{"B", ctx, "s1", 2, []eventstore.NewEvent{event("b1", 3)}},
		{"RetryOfA", ctx, "s1", eventstore.NoStream, a},
		{"RetryOfPlug", ctx, "plug", 1, plugEvents},
		{"Stale", ctx, "s1", eventstore.NoStream, []eventstore.NewEvent{event("x1", 4)}},
		{"IDTwice", ctx, "s2", eventstore.NoStream, []eventstore.NewEvent{event("d1", 5), event("d1", 6)}},
		{"Withdrawn", withdrawnCtx, "s3", eventstore.NoStream, []eventstore.NewEvent{event("w1", 7)}},
		{"C", ctx, "s2", eventstore.NoStream, []eventstore.NewEvent{event("c1", 8)}},
	}
	answers := make(map[string]<-chan outcome)
	for i, st := range steps {
		answers[st.name] = appendAsync(st.ctx, s, st.stream, st.expected, st.events...)
		eventually(t, fmt.Sprintf("%d appends are queued", i+1), func() bool { return s.Queued() == i+1 })
	}

	// Withdrawn while queued: answered at once, although the writer is
	// still blocked.
	withdraw()
	if o := receive(t, "Withdrawn", answers["Withdrawn"]); !errors.Is(o.err, context.Canceled) {
		t.Errorf("append cancelled while queued: %+v, want context.Canceled", o)
	}
	if n := s.Queued(); n != len(steps)-1 {
		t.Errorf("queue holds %d appends after a withdrawal, want %d", n, len(steps)-1)
	}
	// Cancelled once taken: answered at once too, and committed anyway.
	cancelPlug()
	if o := receive(t, "plug", plug); !errors.Is(o.err, context.Canceled) {
		t.Errorf("append cancelled while being committed: %+v, want context.Canceled", o)
	}
	release()

	want := map[string]eventstore.AppendResult{
		"A":           {Version: 2, Position: 3},
		"B":           {Version: 3, Position: 4},
		"RetryOfA":    {Version: 2, Position: 3},
		"RetryOfPlug": {Version: 1, Position: 1},
		// IDTwice's rolled-back insert consumed no position.
		"C": {Version: 1, Position: 5},
	}
	for _, st := range steps {
		if st.name == "Withdrawn" {
			continue
		}
		o := receive(t, st.name, answers[st.name])
		switch st.name {
		case "Stale":
			var ve *eventstore.VersionError
			if !errors.As(o.err, &ve) || ve.Expected != 0 || ve.Actual != 3 {
				t.Errorf("Stale: %+v, want a VersionError expected 0 actual 3", o)
			}
		case "IDTwice":
			if o.err == nil || errors.Is(o.err, eventstore.ErrWrongVersion) {
				t.Errorf("IDTwice: %+v, want an insert error", o)
			}
		default:
			if o.err != nil || o.res != want[st.name] {
				t.Errorf("%s: %+v, want %+v", st.name, o, want[st.name])
			}
		}
	}

	if got := s.Stats(); got != (sqlite.Stats{Transactions: 2, Appends: 4}) {
		t.Errorf("Stats = %+v, want 2 transactions (the plug, then the rest) writing 4 appends", got)
	}
	log, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, fmt.Sprintf("%s:%s@%d", e.Stream, e.ID, e.Position))
	}
	if fmt.Sprint(got) != "[plug:p1@1 s1:a1@2 s1:a2@3 s1:b1@4 s2:c1@5]" {
		t.Errorf("log = %v", got)
	}
	if _, err := eventstore.VerifyAll(ctx, s, nil); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
	if h, err := s.Head(ctx); err != nil || h != 5 {
		t.Errorf("Head = %d, %v; want 5", h, err)
	}
}

// TestStore_BatchesUnderLoad shows that concurrent appends share
// transactions with group commit on, and do not with MaxBatch 1.
func TestStore_BatchesUnderLoad(t *testing.T) {
	const writers, each = 64, 5
	for _, c := range []struct {
		maxBatch int
		batched  bool
	}{{0, true}, {1, false}} {
		t.Run(fmt.Sprintf("MaxBatch%d", c.maxBatch), func(t *testing.T) {
			s := MustOpen(t, tempPath(t), sqlite.Config{MaxBatch: c.maxBatch})
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, writers)
			for w := range writers {
				wg.Go(func() {
					<-start
					for k := range each {
						if _, err := s.Append(t.Context(), fmt.Sprint("w-", w), uint64(k), event(fmt.Sprint(w, "-", k), k)); err != nil {
							errs[w] = err
							return
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			t.Logf("%d appends in %d transactions", st.Appends, st.Transactions)
			if st.Appends != writers*each {
				t.Fatalf("Stats.Appends = %d, want %d", st.Appends, writers*each)
			}
			if batched := st.Transactions < st.Appends; batched != c.batched {
				t.Errorf("%d appends in %d transactions; want batching %v", st.Appends, st.Transactions, c.batched)
			}
			if _, err := eventstore.VerifyAll(t.Context(), s, nil); err != nil {
				t.Errorf("VerifyAll: %v", err)
			}
		})
	}
}

// TestStore_CloseDrainsQueue closes the store while appends are queued: they
// are committed and answered, later appends get ErrClosed, and the writer
// goroutine is gone when Close returns.
func TestStore_CloseDrainsQueue(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	s, err := sqlite.Open(ctx, path, sqlite.Config{BusyTimeout: lockPatience})
	if err != nil {
		t.Fatal(err)
	}
	release := lockFile(t, path)
	const n = 5
	var answers []<-chan outcome
	for i := range n {
		answers = append(answers, appendAsync(ctx, s, fmt.Sprint("s-", i), eventstore.NoStream, event(fmt.Sprint("e-", i), i)))
	}
	eventually(t, "all appends are queued or taken", func() bool { return s.Taken()+uint64(s.Queued()) == n })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Wait returns ErrClosed as soon as Close has begun.
	if err := s.Wait(ctx, 1<<62); !errors.Is(err, sqlite.ErrClosed) {
		t.Fatalf("Wait during Close: %v, want ErrClosed", err)
	}
	if _, err := s.Append(ctx, "late", eventstore.NoStream, event("late", 0)); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("Append after Close began: %v, want ErrClosed", err)
	}
	if s.WriterStopped() {
		t.Fatal("the writer stopped with appends still queued")
	}
	release()
	for i, ch := range answers {
		if o := receive(t, fmt.Sprint("append ", i), ch); o.err != nil {
			t.Errorf("append %d queued before Close: %v", i, o.err)
		}
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if !s.WriterStopped() {
		t.Error("the writer goroutine outlived Close")
	}
	s2 := MustOpen(t, path, sqlite.Config{})
	if h, err := s2.Head(ctx); err != nil || h != n {
		t.Errorf("Head after reopening = %d, %v; want %d", h, err, n)
	}
}
