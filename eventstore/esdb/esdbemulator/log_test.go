package esdbemulator

import (
	"testing"

	"github.com/google/uuid"
)

func events(ids ...uuid.UUID) []proposed {
	out := make([]proposed, len(ids))
	for i, id := range ids {
		out[i] = proposed{id: id, typ: "t", contentType: "application/json", data: []byte("{}")}
	}
	return out
}

// TestStore_Append checks the expected-revision and idempotency rules on a
// stream "s" that holds events a, b, c at revisions 0, 1, 2.
func TestStore_Append(t *testing.T) {
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	rev := func(r uint64) Expected { return Expected{Kind: ExpectRevision, Revision: r} }
	for _, tt := range []struct {
		name    string
		stream  string
		exp     Expected
		events  []proposed
		wrong   bool
		current uint64 // the revision reported, when not wrong
		wrote   int
	}{
		{"ExactRevisionAppends", "s", rev(2), events(d), false, 3, 1},
		{"RevisionAheadIsWrong", "s", rev(3), events(d), true, 0, 0},
		{"RevisionBehindNewEventsIsWrong", "s", rev(0), events(d), true, 0, 0},
		{"RevisionBehindSameEventsIsIdempotent", "s", rev(0), events(b, c), false, 2, 0},
		{"RevisionBehindPartialMatchIsWrong", "s", rev(0), events(b, d), true, 0, 0},
		{"RevisionBehindLongerThanStreamIsWrong", "s", rev(1), events(c, d), true, 0, 0},
		{"RetryAtCurrentRevisionDuplicates", "s", rev(2), events(a), false, 3, 1},
		{"NoStreamOnNewStreamAppends", "new", Expected{Kind: ExpectNoStream}, events(d), false, 0, 1},
		{"NoStreamOnExistingIsWrong", "s", Expected{Kind: ExpectNoStream}, events(d), true, 0, 0},
		{"NoStreamSameFirstEventsIsIdempotent", "s", Expected{Kind: ExpectNoStream}, events(a, b), false, 1, 0},
		{"StreamExistsOnNewStreamIsWrong", "new", Expected{Kind: ExpectStreamExists}, events(d), true, 0, 0},
		{"StreamExistsAppends", "s", Expected{Kind: ExpectStreamExists}, events(d), false, 3, 1},
		{"AnyAppends", "s", Expected{Kind: ExpectAny}, events(d), false, 3, 1},
		{"AnyKnownEventIsIdempotent", "s", Expected{Kind: ExpectAny}, events(b), false, 1, 0},
		{"RevisionOnNewStreamIsWrong", "new", rev(0), events(d), true, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(func() int64 { return 1 })
			if out, err := s.append("s", Expected{Kind: ExpectNoStream}, events(a, b, c)); err != nil || out.wrong {
				t.Fatalf("setup: %+v, %v", out, err)
			}
			before := len(s.all)
			out, err := s.append(tt.stream, tt.exp, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			if out.wrong != tt.wrong {
				t.Fatalf("wrong expected version = %v, want %v (%+v)", out.wrong, tt.wrong, out)
			}
			if !tt.wrong && out.current != tt.current {
				t.Errorf("current revision %d, want %d", out.current, tt.current)
			}
			if got := len(s.all) - before; got != tt.wrote {
				t.Errorf("wrote %d events, want %d", got, tt.wrote)
			}
			if !tt.wrong {
				last := s.all[s.streams[tt.stream][out.current]]
				if out.position != last.position {
					t.Errorf("position %d, want that of revision %d: %d", out.position, out.current, last.position)
				}
			}
		})
	}
}

func TestStore_Positions(t *testing.T) {
	s := newStore(func() int64 { return 1 })
	for range 3 {
		if _, err := s.append("s", Expected{Kind: ExpectAny}, events(uuid.New(), uuid.New())); err != nil {
			t.Fatal(err)
		}
	}
	prev := uint64(0)
	for i, r := range s.all {
		if r.position <= prev+1 {
			t.Errorf("record %d at position %d after %d: positions must grow and leave gaps", i, r.position, prev)
		}
		prev = r.position
		if got, err := s.indexOf(r.position); err != nil || got != i {
			t.Errorf("indexOf(%d) = %d, %v; want %d", r.position, got, err, i)
		}
	}
	if _, err := s.indexOf(s.all[1].position + 1); err == nil {
		t.Error("indexOf accepted a position inside a record")
	}
	if got, err := s.indexOf(s.next + 100); err != nil || got != len(s.all) {
		t.Errorf("indexOf past the end = %d, %v; want %d", got, err, len(s.all))
	}
}
