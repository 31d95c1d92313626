package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
	"github.com/offerflow/offerflow/eventstore/lease/leasetest"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// MustOpen opens a store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string, cfg sqlite.Config) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path, cfg)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func tempPath(tb testing.TB) string { return filepath.Join(tb.TempDir(), "events.db") }

// event returns a new event with id and data {"n": n}.
func event(id string, n int) eventstore.NewEvent {
	return eventstore.NewEvent{
		ID: id, Type: "test.event", SchemaVersion: 1,
		Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{
			Actor:      domain.Actor{Role: "system", Tenant: "t", Subject: "test"},
			OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		},
	}
}

func mustAppend(tb testing.TB, s eventstore.Store, stream string, expected uint64, evs ...eventstore.NewEvent) eventstore.AppendResult {
	tb.Helper()
	res, err := s.Append(context.Background(), stream, expected, evs...)
	if err != nil {
		tb.Fatalf("Append(%s, %d): %v", stream, expected, err)
	}
	return res
}

func TestStore_Conformance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
		// An hour-long fallback poll: any Wait that returns within the
		// suite's patience was woken by the append itself.
		return MustOpen(t, tempPath(t), sqlite.Config{PollInterval: time.Hour})
	})
}

func TestStore_Pragmas(t *testing.T) {
	ctx := t.Context()
	t.Run("Defaults", func(t *testing.T) {
		s := MustOpen(t, tempPath(t), sqlite.Config{})
		for _, c := range []struct {
			writer     bool
			name, want string
		}{
			// synchronous=FULL is 2; the driver alone would leave NORMAL (1) under WAL.
			{true, "synchronous", "2"},
			{false, "synchronous", "2"},
			{true, "journal_mode", "wal"},
			{false, "journal_mode", "wal"},
			{true, "busy_timeout", "5000"},
			{false, "busy_timeout", "5000"},
			{true, "foreign_keys", "1"},
			{false, "query_only", "1"},
			{true, "query_only", "0"},
		} {
			got, err := s.Pragma(ctx, c.writer, c.name)
			if err != nil {
				t.Fatalf("PRAGMA %s: %v", c.name, err)
			}
			if got != c.want {
				t.Errorf("PRAGMA %s on the %s = %s, want %s", c.name, conn(c.writer), got, c.want)
			}
		}
	})
	t.Run("Configured", func(t *testing.T) {
		s := MustOpen(t, tempPath(t), sqlite.Config{Synchronous: "normal", BusyTimeout: 1500 * time.Millisecond})
		for _, w := range []bool{true, false} {
			if got, _ := s.Pragma(ctx, w, "synchronous"); got != "1" {
				t.Errorf("synchronous on the %s = %s, want 1 (NORMAL)", conn(w), got)
			}
			if got, _ := s.Pragma(ctx, w, "busy_timeout"); got != "1500" {
				t.Errorf("busy_timeout on the %s = %s, want 1500", conn(w), got)
			}
		}
	})
}

func conn(writer bool) string {
	if writer {
		return "writer"
	}
	return "read pool"
}

func TestOpen_Refuses(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		path string
		cfg  sqlite.Config
	}{
		"EmptyPath":       {"", sqlite.Config{}},
		"Memory":          {":memory:", sqlite.Config{}},
		"QueryInPath":     {filepath.Join(dir, "x.db?mode=ro"), sqlite.Config{}},
		"SynchronousOff":  {filepath.Join(dir, "a.db"), sqlite.Config{Synchronous: "OFF"}},
		"NegativeTimeout": {filepath.Join(dir, "b.db"), sqlite.Config{BusyTimeout: -time.Second}},
		"NoReaders":       {filepath.Join(dir, "c.db"), sqlite.Config{ReadConns: -1}},
		"MissingDir":      {filepath.Join(dir, "no", "such", "dir", "d.db"), sqlite.Config{}},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), c.path, c.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q, %+v) succeeded", c.path, c.cfg)
			}
		})
	}
}

func TestStore_AppendRefuses(t *testing.T) {
	s := MustOpen(t, tempPath(t), sqlite.Config{})
	ctx := t.Context()
	cases := map[string]struct {
		stream string
		events []eventstore.NewEvent
	}{
		"NoEvents":    {"s", nil},
		"EmptyStream": {"", []eventstore.NewEvent{event("a", 1)}},
		"EmptyID":     {"s", []eventstore.NewEvent{event("", 1)}},
		// The second insert breaks UNIQUE(stream, id) inside the
		// transaction, after the first went in.
		"IDTwiceInBatch": {"s", []eventstore.NewEvent{event("a", 1), event("a", 2)}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Append(ctx, c.stream, eventstore.NoStream, c.events...); err == nil {
				t.Fatal("Append succeeded")
			}
		})
	}
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Fatalf("Head after refused appends = %d, %v; want 0", h, err)
	}
	// A rolled-back insert consumes no position: positions stay contiguous.
	if res := mustAppend(t, s, "s", eventstore.NoStream, event("a", 1)); res.Position != 1 || res.Version != 1 {
		t.Errorf("first successful append: %+v, want version 1 at position 1", res)
	}
	if _, err := s.ReadStream(ctx, "s", 0, 0); err == nil {
		t.Error("ReadStream with limit 0 succeeded")
	}
	if _, err := s.ReadAll(ctx, 0, -1); err == nil {
		t.Error("ReadAll with limit -1 succeeded")
	}
}

func TestStore_Reopen(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	s, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "a", eventstore.NoStream, event("a1", 1), event("a2", 2))
	mustAppend(t, s, "b", eventstore.NoStream, event("b1", 3))
	before, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "a", 2, event("a3", 4)); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Wait(ctx, 0); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("Wait after Close: err = %v, want ErrClosed", err)
	}

	s2 := MustOpen(t, path, sqlite.Config{})
	after, err := s2.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("events after reopening (-before +after):\n%s", diff)
	}
	if res := mustAppend(t, s2, "a", 2, event("a3", 4)); res.Version != 3 || res.Position != 4 {
		t.Errorf("append after reopening: %+v, want version 3 at position 4", res)
	}
	if _, err := eventstore.VerifyAll(ctx, s2, nil); err != nil {
		t.Errorf("VerifyAll after reopening: %v", err)
	}
}

func TestStore_CloseWakesWait(t *testing.T) {
	s, err := sqlite.Open(t.Context(), tempPath(t), sqlite.Config{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait(context.Background(), 0) }()
	select {
	case err := <-done:
		t.Fatalf("Wait on an empty log returned %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, sqlite.ErrClosed) {
			t.Fatalf("Wait after Close: err = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
}

// TestStore_TwoHandles opens the same file twice, as two processes would: the
// single writer and the in-process wake-up no longer cover both, so SQLite's
// locks and the fallback poll must.
func TestStore_TwoHandles(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	a := MustOpen(t, path, sqlite.Config{PollInterval: 20 * time.Millisecond})
	b := MustOpen(t, path, sqlite.Config{PollInterval: 20 * time.Millisecond})

	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx, 0) }()
	mustAppend(t, a, "s", eventstore.NoStream, event("e1", 1))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait on the other handle: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an append through one handle did not wake Wait on the other")
	}

	// Optimistic concurrency holds across handles.
	_, errA := a.Append(ctx, "s", 1, event("from-a", 2))
	_, errB := b.Append(ctx, "s", 1, event("from-b", 3))
	if errA != nil || !errors.Is(errB, eventstore.ErrWrongVersion) {
		t.Fatalf("appends at the same version through two handles: a: %v, b: %v; want nil and ErrWrongVersion", errA, errB)
	}
	var ve *eventstore.VersionError
	if errors.As(errB, &ve) && (ve.Expected != 1 || ve.Actual != 2 || ve.Stream != "s") {
		t.Errorf("VersionError = %+v, want stream s expected 1 actual 2", ve)
	}
	if res := mustAppend(t, b, "s", 2, event("from-b", 3)); res.Version != 3 {
		t.Errorf("append through the other handle: %+v, want version 3", res)
	}
	evs, err := eventstore.ReadStreamAll(ctx, a, "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := eventstore.VerifyChain(evs); err != nil {
		t.Errorf("chain written through two handles: %v", err)
	}
}

func TestMigrate_NewerSchemaRefused(t *testing.T) {
	path := tempPath(t)
	s := MustOpen(t, path, sqlite.Config{})
	_ = s.Close()
	// Reopening applies nothing twice.
	s = MustOpen(t, path, sqlite.Config{})
	_ = s.Close()
	db := rawDB(t, path)
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 2 {
		t.Fatalf("schema_migrations rows = %d, %v; want 2", n, err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'now')"); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(t.Context(), path, sqlite.Config{}); err == nil {
		_ = s.Close()
		t.Fatal("Open of a file migrated by a newer program succeeded")
	}
}

// rawDB opens the file behind the store's back, as an attacker or a careless
// operator would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestStore_Lease holds the lease primitives to the backend tests through two
// handles of one file, as two serve processes sharing it use them.
func TestStore_Lease(t *testing.T) {
	path := tempPath(t)
	a := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	b := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	leasetest.Run(t, a, b, "processes")
}

// TestStore_ReadAllTailPage reads the tail of the log, as every live
// follower does after each commit: the page is made as large as what the
// Store knows lies after the position (not a whole page of limit), and
// events another handle appended beyond what this one knows are still read
// in full.
func TestStore_ReadAllTailPage(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	a := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	b := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	for i := range 10 {
		mustAppend(t, a, fmt.Sprintf("s-%d", i), eventstore.NoStream, event(fmt.Sprintf("e%d", i), i))
	}
	tests := []struct {
		name        string
		store       *sqlite.Store
		after       uint64
		limit       int
		wantFirst   uint64
		wantN       int
		wantMaxRoom int
	}{
		{"the last two events", a, 8, 1000, 9, 2, 2},
		{"nothing after the head", a, 10, 1000, 0, 0, 0},
		{"limit below what follows", a, 2, 3, 3, 3, 3},
		{"a handle that knows less than the file holds", b, 0, 1000, 1, 10, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := tt.store.ReadAll(ctx, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tt.wantN || (tt.wantN > 0 && evs[0].Position != tt.wantFirst) {
				t.Fatalf("ReadAll(%d, %d) = %d events from %v, want %d from %d", tt.after, tt.limit, len(evs), evs, tt.wantN, tt.wantFirst)
			}
			if cap(evs) > tt.wantMaxRoom {
				t.Errorf("ReadAll(%d, %d) made room for %d events, want at most %d", tt.after, tt.limit, cap(evs), tt.wantMaxRoom)
			}
		})
	}
	// Appends through the other handle are beyond what a knows: they are
	// read all the same.
	mustAppend(t, b, "s-b", eventstore.NoStream, event("b1", 1), event("b2", 2), event("b3", 3))
	evs, err := a.ReadAll(ctx, 10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.ID)
	}
	if !slices.Equal(got, []string{"b1", "b2", "b3"}) {
		t.Errorf("ReadAll after another handle's append = %v, want b1 b2 b3", got)
	}
}

// TestStore_WaitTrustsAFreshHead: the followers woken by a commit that
// come back to wait at the head right after it do not each read the head
// from the file; a Wait that comes later does. An append by another
// process in between is seen all the same, by the poller.
func TestStore_WaitTrustsAFreshHead(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	// a's poller never looks (an hour): every read of the head counted
	// is a Wait's.
	a := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	b := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
	// waitAtHead waits at a's head as a follower does, until a
	// millisecond has passed, and returns how many times it read the
	// file's head.
	waitAtHead := func() uint64 {
		t.Helper()
		before := a.HeadReads()
		wctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		if err := a.Wait(wctx, a.KnownHead()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait at the head: %v, want the deadline", err)
		}
		return a.HeadReads() - before
	}
	tests := []struct {
		name  string
		trust time.Duration
		want  uint64 // head reads of 20 Waits
	}{
		{"the head just committed is trusted", time.Hour, 0},
		{"a head older than the trust is read again", 0, 20},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.SetHeadTrust(tt.trust)
			mustAppend(t, a, fmt.Sprintf("s-%d", i), eventstore.NoStream, event(fmt.Sprintf("e%d", i), i))
			var reads uint64
			for range 20 {
				reads += waitAtHead()
			}
			if reads != tt.want {
				t.Errorf("20 Waits at the head read it from the file %d times, want %d", reads, tt.want)
			}
		})
	}

	// Trusted for an hour, a head misses another process's append only
	// until the poller's next look.
	p := MustOpen(t, path, sqlite.Config{PollInterval: 50 * time.Millisecond})
	p.SetHeadTrust(time.Hour)
	head := mustAppend(t, p, "s-p", eventstore.NoStream, event("p", 1)).Position
	other := mustAppend(t, b, "s-b", eventstore.NoStream, event("b", 2)).Position
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Wait(wctx, head); err != nil {
		t.Fatalf("Wait after another process's append: %v", err)
	}
	if got := p.KnownHead(); got != other {
		t.Errorf("head after the poller's look: %d, want %d", got, other)
	}
}
