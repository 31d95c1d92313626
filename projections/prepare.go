package projections

import (
	"fmt"
	"sync"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// Preparing an event for the projectors (its envelope, its decoded data,
// and for the audit index the envelope's JSON) needs nothing from the
// database, so a large batch prepares its events in a goroutine of its own
// while the batch's transaction applies those already prepared: on two
// cores the decoding runs beside SQLite's work instead of before it (it was
// a fifth of a rebuild's CPU, all on the one goroutine that applies).
// Small batches, the live path's usual, are prepared in line: a goroutine
// would cost more than it saves.

// prepareChunk is how many events the preparing goroutine hands over at a
// time, and the smallest batch that gets one.
const prepareChunk = 256

// prepared is a batch's events as the projectors take them. Index i of
// every slice is events[i].
type prepared struct {
	envs    []domain.Envelope
	decoded []domain.Event // nil where no projector takes the type
	// envelopes holds encodeEnvelope(&envs[i]) where a projector that
	// stores envelopes takes the type, else "".
	envelopes []string

	// ready receives the count of events prepared so far, each time a
	// chunk is done; it is closed when the goroutine stops, early on a
	// failure (err) or on stop.
	ready chan int
	have  int   // events known to be prepared (the consumer's view)
	err   error // the failure, read after ready is closed
	stop  chan struct{}
	done  sync.WaitGroup
}

// prepare starts preparing events for prs. close must be called once the
// batch is done with it.
func prepare(prs []*projector, events []eventstore.Event) *prepared {
	n := len(events)
	p := &prepared{
		envs: make([]domain.Envelope, n), decoded: make([]domain.Event, n), envelopes: make([]string, n),
	}
	if n < 2*prepareChunk {
		p.err = p.run(prs, events, nil)
		return p
	}
	p.ready = make(chan int, (n+prepareChunk-1)/prepareChunk)
	p.stop = make(chan struct{})
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		defer close(p.ready)
		p.err = p.run(prs, events, p.stop)
	}()
	return p
}

// run prepares events in order until done, a failure or stop. Without
// stop it runs in line and counts in p.have; with it, it reports each
// chunk on p.ready.
func (p *prepared) run(prs []*projector, events []eventstore.Event, stop <-chan struct{}) (err error) {
	i := 0
	if stop != nil {
		defer func() {
			// The events before a failure are ready too: the consumer
			// meets the failure at its event, as in line.
			if err != nil && i%prepareChunk != 0 {
				p.ready <- i
			}
		}()
	}
	for ; i < len(events); i++ {
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
		if stop == nil {
			p.have = i + 1
		} else if (i+1)%prepareChunk == 0 || i+1 == len(events) {
			select {
			case <-stop:
				return nil
			default:
			}
			p.ready <- i + 1
		}
	}
	return nil
}

// wait blocks until event i is prepared, and returns the failure that
// stopped the preparing before it.
func (p *prepared) wait(i int) error {
	for p.have <= i {
		if p.ready == nil {
			return p.err // prepared in line, and failed before i
		}
		n, ok := <-p.ready
		if !ok {
			if p.err != nil {
				return p.err
			}
			return fmt.Errorf("prepare events: stopped before event %d of %d", i, len(p.envs))
		}
		p.have = n
	}
	return nil
}

// all blocks until every event is prepared.
func (p *prepared) all() error {
	if len(p.envs) == 0 {
		return nil
	}
	// Every event prepared means no failure; p.err may not be read
	// before ready is closed.
	return p.wait(len(p.envs) - 1)
}

// close stops the preparing goroutine, if any, and waits for it.
func (p *prepared) close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
}
