package projections

import (
	"fmt"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// Preparing an event for the projectors (its envelope, its decoded data,
// and for the audit index the envelope's JSON) needs nothing from the
// database. The read models' subscription prepares each batch in its own
// goroutine (pubsub.SubscriberConfig.Prepare, see preparer) while the
// batch before it is applied, so that on two cores the decoding runs
// beside SQLite's work instead of before it (it was a fifth of a
// rebuild's CPU, all on the one goroutine that applies), and the applying
// goroutine finds the next batch ready when it commits one. A batch that
// comes without (applied again event by event, RetryParked) is prepared
// in line.

// prepared is a batch's events as the projectors take them. Index i of
// every slice is events[i].
type prepared struct {
	envs    []domain.Envelope
	decoded []domain.Event // nil where no projector takes the type
	// envelopes holds encodeEnvelope(&envs[i]) where a projector that
	// stores envelopes takes the type, else "".
	envelopes []string

	have int   // events prepared: all of them, or those before the failure
	err  error // the failure at event have, if any
}

// preparer returns the pubsub.SubscriberConfig.Prepare of the read models'
// subscription for prs.
func preparer(prs []*projector) func([]eventstore.Event) any {
	return func(events []eventstore.Event) any { return prepare(prs, events) }
}

// prepare prepares events for prs, in order, up to the first that fails.
func prepare(prs []*projector, events []eventstore.Event) *prepared {
	n := len(events)
	p := &prepared{
		envs: make([]domain.Envelope, n), decoded: make([]domain.Event, n), envelopes: make([]string, n),
	}
	p.err = p.run(prs, events)
	return p
}

// run prepares events in order until done or a failure.
func (p *prepared) run(prs []*projector, events []eventstore.Event) error {
	for i := range events {
		e := &events[i]
		p.envs[i] = *e
		wanted, envelope := false, false
		for _, pr := range prs {
			if pr.types[e.Type] {
				wanted, envelope = true, envelope || pr.envelopes
			}
		}
		valid := false
		if wanted {
			de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
			if err != nil {
				return &eventError{position: e.Position, permanent: true, err: fmt.Errorf("event at position %d: %w", e.Position, err)}
			}
			p.decoded[i] = de
			// Decoded without upcasting, the data went whole through
			// json.Unmarshal, which validates it first: the envelope need
			// not validate it again (it was a third of encoding one).
			valid = max(e.SchemaVersion, 1) == domain.SchemaVersion(e.Type)
		}
		if envelope {
			b, err := encodeEnvelopeOf(&p.envs[i], valid)
			if err != nil {
				return &eventError{position: e.Position, permanent: true, err: fmt.Errorf("encode audit event %d: %w", e.Position, err)}
			}
			p.envelopes[i] = string(b) // a string binds as TEXT
		}
		p.have = i + 1
	}
	return nil
}

// of reports whether p was prepared from events (a batch the subscription
// delivers with what it prepared for it).
func (p *prepared) of(events []eventstore.Event) bool {
	n := len(events)
	return p != nil && len(p.envs) == n && n > 0 &&
		p.envs[0].Position == events[0].Position && p.envs[n-1].Position == events[n-1].Position
}

// wait returns the failure that stopped the preparing before event i.
func (p *prepared) wait(i int) error {
	if i < p.have {
		return nil
	}
	if p.err != nil {
		return p.err
	}
	return fmt.Errorf("prepare events: event %d of %d not prepared", i, len(p.envs))
}

// all returns the failure that stopped the preparing, if any.
func (p *prepared) all() error { return p.err }
