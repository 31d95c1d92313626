package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
)

// prepareTestEvents returns n offer.dispatched events at positions 1 to n,
// the one at bad (if in range) with data that does not decode.
func prepareTestEvents(n int, bad uint64) []eventstore.Event {
	events := make([]eventstore.Event, n)
	for i := range events {
		pos := uint64(i + 1)
		data := json.RawMessage(fmt.Sprintf(`{"offer_id":"o-%d","dispatch":1,"at":"2026-12-02T10:00:00Z"}`, pos))
		if pos == bad {
			data = json.RawMessage(`{"offer_id":`)
		}
		events[i] = eventstore.Event{ID: fmt.Sprintf("e-%d", pos), Stream: fmt.Sprintf("offer-o-%d", pos), Version: 2,
			Position: pos, Type: "offer.dispatched", SchemaVersion: 1, Data: data}
	}
	return events
}

// TestPrepare holds the preparing stage to what applyWith expects of it:
// every event prepared in order, the envelope only for a projector that
// stores them, a failure reported at its event and not before, and a
// batch prepared by the subscription taken for its own events only.
func TestPrepare(t *testing.T) {
	prs, err := projectors()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 600} {
		t.Run(fmt.Sprintf("events=%d", n), func(t *testing.T) {
			events := prepareTestEvents(n, 0)
			p := preparer(prs)(events).(*prepared)
			if err := p.all(); err != nil {
				t.Fatal(err)
			}
			for i, e := range events {
				if p.envs[i].Position != e.Position || p.decoded[i] == nil {
					t.Fatalf("event %d: envelope %+v, decoded %v", i, p.envs[i], p.decoded[i])
				}
				want, err := encodeEnvelope(&p.envs[i])
				if err != nil {
					t.Fatal(err)
				}
				if p.envelopes[i] != string(want) {
					t.Fatalf("event %d: envelope JSON %s, want %s", i, p.envelopes[i], want)
				}
			}
			if !p.of(events) || p.of(events[1:]) || p.of(events[:n-1]) || (*prepared)(nil).of(events) {
				t.Error("of: a batch prepared taken for another, or not for its own")
			}
			noEnvelopes := prepare([]*projector{prs[0]}, events)
			if err := noEnvelopes.all(); err != nil {
				t.Fatal(err)
			}
			if noEnvelopes.envelopes[0] != "" {
				t.Errorf("envelope encoded for %s, which stores none", prs[0].name)
			}
		})
		t.Run(fmt.Sprintf("events=%d/FailsAtTheBadEvent", n), func(t *testing.T) {
			bad := uint64(n - 1)
			p := prepare(prs, prepareTestEvents(n, bad))
			if err := p.wait(int(bad) - 2); err != nil {
				t.Fatalf("event before the bad one: %v", err)
			}
			err := p.wait(int(bad) - 1)
			var ee *eventError
			if !errors.As(err, &ee) || ee.position != bad || !ee.permanent {
				t.Fatalf("got %v, want a permanent eventError at position %d", err, bad)
			}
			if err := p.all(); !errors.As(err, &ee) {
				t.Errorf("all: got %v", err)
			}
		})
	}
}
