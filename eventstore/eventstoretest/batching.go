package eventstoretest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/offerflow/offerflow/eventstore"
)

// crowd is how many writers the many-writer cases start at once: more than a
// store is likely to commit one at a time, so a store that gathers
// concurrent appends into one transaction (group commit) does so here.
const crowd = 32

// together runs fn(0) … fn(n-1) in n goroutines released at the same instant
// by a barrier, and waits for all of them.
func together(n int, fn func(i int)) {
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			fn(i)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
}

// testManyWritersDistinctStreams has a crowd of writers append to streams of
// their own, several times each: every append succeeds, each stream's chain
// is intact, and the log holds every event once, in an order that agrees
// with each writer's own.
func testManyWritersDistinctStreams(t *testing.T, f *fixture) {
	const perWriter = 4
	headBefore := f.head()
	streams := make([]string, crowd)
	for i := range streams {
		streams[i] = f.stream(fmt.Sprintf("crowd-%d", i))
	}
	results := make([][]eventstore.AppendResult, crowd)
	errs := make([]error, crowd)
	together(crowd, func(w int) {
		for k := range perWriter {
			// Alternate sizes, so batches mix one-event and
			// several-event appends.
			res, err := f.store.Append(f.ctx, streams[w], uint64(k*(k+1)/2), events(k+1, "test.crowd")...)
			if err != nil {
				errs[w] = fmt.Errorf("writer %d append %d: %w", w, k, err)
				return
			}
			results[w] = append(results[w], res)
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent appends to distinct streams: %v", err)
	}
	const perStream = perWriter * (perWriter + 1) / 2
	log := ofStreams(f.readAllAfter(headBefore), streams...)
	if len(log) != crowd*perStream {
		t.Fatalf("log holds %d of the events, want %d", len(log), crowd*perStream)
	}
	at := make(map[uint64]eventstore.Event, len(log))
	for _, e := range log {
		at[e.Position] = e
	}
	for w, stream := range streams {
		got := f.readStream(stream)
		if len(got) != perStream {
			t.Fatalf("stream %d holds %d events, want %d", w, len(got), perStream)
		}
		if err := eventstore.VerifyChain(got); err != nil {
			t.Errorf("stream %d: %v", w, err)
		}
		for k, res := range results[w] {
			want := uint64((k + 1) * (k + 2) / 2)
			if res.Version != want {
				t.Errorf("writer %d append %d: version %d, want %d", w, k, res.Version, want)
			}
			if e, ok := at[res.Position]; !ok || e.Stream != stream || e.Version != res.Version {
				t.Errorf("writer %d append %d: result %+v does not name its last event (found %s@%d)", w, k, res, e.Stream, e.Version)
			}
			if k > 0 && res.Position <= results[w][k-1].Position {
				t.Errorf("writer %d: append %d at position %d, not after %d", w, k, res.Position, results[w][k-1].Position)
			}
		}
	}
	if h := f.head(); h != log[len(log)-1].Position {
		t.Errorf("Head = %d, want the last event's position %d", h, log[len(log)-1].Position)
	}
}

// testManyWritersOneStream has a crowd race for one stream version: exactly
// one wins, every other gets ErrWrongVersion, and nothing of the losers is
// visible, not even their ids.
func testManyWritersOneStream(t *testing.T, f *fixture) {
	for _, existing := range []int{0, 3} {
		stream := f.stream("crowd-race")
		if existing > 0 {
			f.append(stream, eventstore.NoStream, events(existing, "test.first")...)
		}
		headBefore := f.head()
		batches := make([][]eventstore.NewEvent, crowd)
		for i := range batches {
			batches[i] = events(1+i%3, "test.racer")
		}
		results, errs := race(f, stream, uint64(existing), batches)
		winner := soleWinner(t, errs, uint64(existing))
		want := uint64(existing + len(batches[winner]))
		if results[winner].Version != want {
			t.Errorf("winner's result %+v, want version %d", results[winner], want)
		}
		if diff := cmp.Diff(newIDs(batches[winner]), ids(f.readAllAfter(headBefore))); diff != "" {
			t.Errorf("log after the race holds more than the winner's events (-want +got):\n%s", diff)
		}
		got := f.readStream(stream)
		if err := eventstore.VerifyChain(got); err != nil {
			t.Errorf("VerifyChain after the race: %v", err)
		}
		// A loser's ids were not recorded: appending its events at the
		// stream's new version writes them.
		loser := (winner + 1) % crowd
		if res := f.append(stream, want, batches[loser]...); res.Version != want+uint64(len(batches[loser])) {
			t.Errorf("loser appending afterwards: %+v, want version %d", res, want+uint64(len(batches[loser])))
		}
	}
}

// mixedOp is one writer's part in testMixedConcurrentAppends.
type mixedOp struct {
	kind     string // "new", "retry", "stale"
	stream   string
	expected uint64
	events   []eventstore.NewEvent
	want     eventstore.AppendResult // for a retry
}

// testMixedConcurrentAppends starts, at once, new appends, idempotent
// retries of appends already made and appends at a stale version, so that a
// store that commits concurrent appends together gets all three kinds in
// one batch: each gets its own answer, and a failing one takes nothing of
// its neighbours with it.
func testMixedConcurrentAppends(t *testing.T, f *fixture) {
	var ops []mixedOp
	for i := range crowd {
		switch i % 3 {
		case 0:
			s := f.stream("mixed-new")
			ops = append(ops, mixedOp{kind: "new", stream: s, events: events(1+i%2, "test.mixed")})
		case 1:
			s := f.stream("mixed-retry")
			evs := events(2, "test.mixed")
			res := f.append(s, eventstore.NoStream, evs...)
			f.append(s, 2, events(1, "test.mixed")...)
			// A retry carries either its original expected version or
			// the one its earlier append produced.
			ops = append(ops, mixedOp{kind: "retry", stream: s, expected: uint64(i%2) * 2, events: evs, want: res})
		default:
			s := f.stream("mixed-stale")
			f.append(s, eventstore.NoStream, events(2, "test.mixed")...)
			ops = append(ops, mixedOp{kind: "stale", stream: s, expected: 1, events: events(1, "test.mixed")})
		}
	}
	headBefore := f.head()
	results := make([]eventstore.AppendResult, len(ops))
	errs := make([]error, len(ops))
	together(len(ops), func(i int) {
		results[i], errs[i] = f.store.Append(f.ctx, ops[i].stream, ops[i].expected, ops[i].events...)
	})
	var wantLog []string
	for i, op := range ops {
		switch op.kind {
		case "new":
			if errs[i] != nil || results[i].Version != uint64(len(op.events)) {
				t.Errorf("op %d, a new stream: %+v, %v; want version %d", i, results[i], errs[i], len(op.events))
			}
			wantLog = append(wantLog, newIDs(op.events)...)
		case "retry":
			if errs[i] != nil || results[i] != op.want {
				t.Errorf("op %d, a retry at expected %d: %+v, %v; want %+v", i, op.expected, results[i], errs[i], op.want)
			}
		case "stale":
			var ve *eventstore.VersionError
			if !errors.As(errs[i], &ve) || ve.Actual != 2 || ve.Expected != 1 {
				t.Errorf("op %d, at a stale version: err = %v, want a VersionError expected 1 actual 2", i, errs[i])
			}
		}
		wantLen := map[string]int{"new": len(op.events), "retry": 3, "stale": 2}[op.kind]
		got := f.readStream(op.stream)
		if len(got) != wantLen {
			t.Errorf("op %d (%s): stream holds %d events afterwards, want %d", i, op.kind, len(got), wantLen)
		}
		if err := eventstore.VerifyChain(got); err != nil {
			t.Errorf("op %d (%s): %v", i, op.kind, err)
		}
	}
	// Only the new appends wrote, each exactly once; their relative order
	// is the store's to choose.
	log := f.readAllAfter(headBefore)
	if diff := cmp.Diff(wantLog, ids(log), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("log after the mixed appends holds other than the new appends' events (-want +got):\n%s", diff)
	}
}
