package eventstoretest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/offerflow/offerflow/eventstore"
)

func testGlobalOrder(t *testing.T, f *fixture) {
	a, b, c := f.stream("order-a"), f.stream("order-b"), f.stream("order-c")
	headBefore := f.head()
	type step struct {
		stream   string
		expected uint64
		n        int
	}
	var (
		wantIDs []string
		results []eventstore.AppendResult
	)
	for _, s := range []step{{a, 0, 1}, {b, 0, 2}, {a, 1, 1}, {c, 0, 1}, {b, 2, 3}, {a, 2, 1}} {
		evs := events(s.n, "test.order")
		results = append(results, f.append(s.stream, s.expected, evs...))
		wantIDs = append(wantIDs, newIDs(evs)...)
	}
	log := ofStreams(f.readAllAfter(headBefore), a, b, c)
	if diff := cmp.Diff(wantIDs, ids(log)); diff != "" {
		t.Fatalf("global log is not in append order (-want +got):\n%s", diff)
	}
	// Each append's result names the position of its last event.
	i := -1
	for k, n := range []int{1, 2, 1, 1, 3, 1} {
		i += n
		if log[i].Position != results[k].Position {
			t.Errorf("append %d: result position %d, its last event is at %d", k, results[k].Position, log[i].Position)
		}
		if k > 0 && results[k].Position <= results[k-1].Position {
			t.Errorf("append %d: position %d not after %d", k, results[k].Position, results[k-1].Position)
		}
	}
	if h := f.head(); h != results[len(results)-1].Position {
		t.Errorf("Head = %d, want the last append's position %d", h, results[len(results)-1].Position)
	}
}

func testReadAllFromPosition(t *testing.T, f *fixture) {
	a, b := f.stream("from-a"), f.stream("from-b")
	var pos []uint64
	for i, s := range []string{a, b, a, b, a} {
		pos = append(pos, f.append(s, uint64(i/2), events(1, "test.from")...).Position)
	}
	cases := []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{pos[0], 2, pos[1:3]},
		{pos[1], 1, pos[2:3]},
		{pos[1], 100, pos[2:]},
		{pos[4], 100, nil},
		{pos[4] + 1000, 100, nil},
	}
	for _, c := range cases {
		got, err := f.store.ReadAll(f.ctx, c.after, c.limit)
		if err != nil {
			t.Fatalf("ReadAll(after %d, limit %d): %v", c.after, c.limit, err)
		}
		var gotPos []uint64
		for _, e := range got {
			gotPos = append(gotPos, e.Position)
		}
		if diff := cmp.Diff(c.want, gotPos, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ReadAll(after %d, limit %d) positions (-want +got):\n%s", c.after, c.limit, diff)
		}
	}
	// From the start of the log, the limit holds too.
	first, err := f.store.ReadAll(f.ctx, 0, 1)
	if err != nil {
		t.Fatalf("ReadAll(0, 1): %v", err)
	}
	if len(first) != 1 || first[0].Position == 0 || first[0].Position > pos[0] {
		t.Errorf("ReadAll(0, 1) = %d events, want the log's first event at a position in 1..%d", len(first), pos[0])
	}
}
