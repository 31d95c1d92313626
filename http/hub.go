package http

import (
	dlist "container/list"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Log is the global event log as the live stream follows it.
type Log interface {
	// ReadAll returns up to limit events with position > after, in global
	// order.
	ReadAll(ctx context.Context, after uint64, limit int) ([]domain.Envelope, error)
	// Wait blocks until the log holds an event with position > after, or ctx
	// is done (returning ctx's error).
	Wait(ctx context.Context, after uint64) error
	// Head returns the position of the last event in the log, 0 when empty.
	Head(ctx context.Context) (uint64, error)
	// ReadStream returns every event of one stream, in order.
	ReadStream(ctx context.Context, stream string) ([]domain.Envelope, error)
}

// offerInfo is what the stream needs to know of an offer: its id, and
// what domain.Scope.Sees asks to tell who may see its events: whose it is,
// and from which position on it is in the customer's inbox (0 while it is
// not).
type offerInfo struct {
	id          domain.OfferID
	reseller    domain.ResellerID
	customer    domain.CustomerID
	deliveredAt uint64
	// status is the offer's status as of the last event folded, with
	// domain.OfferStatusAfter.
	status domain.OfferStatus
	// changes are the offer's events that changed its status, in log
	// order, each with the status it left: a few per offer.
	changes []statusChange
	stream  string
	lastPos uint64 // the position of the last event folded
}

type statusChange struct {
	pos    uint64
	status domain.OfferStatus
}

// fold applies the offer event e (decoded: de) at position pos to info,
// which is nil before the offer's offer.created, and returns it.
func (info *offerInfo) fold(stream string, pos uint64, de domain.Event) *offerInfo {
	switch ev := de.(type) {
	case *domain.OfferCreated:
		info = &offerInfo{id: ev.OfferID, reseller: ev.ResellerID, customer: ev.CustomerID, stream: stream}
	case *domain.OfferDelivered:
		if info != nil && info.deliveredAt == 0 {
			info.deliveredAt = pos
		}
	}
	if info == nil {
		return nil
	}
	info.lastPos = pos
	if after := domain.OfferStatusAfter(info.status, de); after != info.status {
		info.status = after
		info.changes = append(info.changes, statusChange{pos: pos, status: after})
	}
	return info
}

// statusAt returns the status the offer's event at pos left it in, "" when
// that event changed none.
func (info *offerInfo) statusAt(pos uint64) domain.OfferStatus {
	for _, c := range info.changes {
		if c.pos == pos {
			return c.status
		}
	}
	return ""
}

// defaultHubOffers is how many offers the hub keeps. An offer it no longer
// holds costs a read of its stream when an event of it comes, and one per
// stream connection that reads one of its older events. At about 330 bytes
// an offer (BenchmarkHub_Apply), 16,384 of them are 5.6 MB, where the hub
// without a bound grew by 250 bytes for every offer in the log.
const defaultHubOffers = 16384

// hub follows the log from the head it found on starting (begin) and
// keeps, for the offers (by their stream) that had an event most recently,
// whose each offer is, when it was delivered, and every status change of its events. Those facts never
// change once recorded (an offer is delivered at most once, an event's
// outcome is fixed), so one shared hub serves every stream connection,
// whatever position the connection is reading. It keeps at most max offers,
// dropping the one whose last event is the oldest: the log is the truth, and
// an offer that had no event for long is read again from its stream when it
// has one (or a connection reads one of its older events).
type hub struct {
	log    Log
	logger *slog.Logger
	once   sync.Once
	max    int

	mu     sync.Mutex
	pos    uint64
	offers map[string]*dlist.Element // of *offerInfo, by stream name
	recent *dlist.List               // of *offerInfo, the latest event's at the front
	// unreadable are the positions of offer events this build cannot
	// decode: they concern nobody it can tell.
	unreadable map[uint64]bool
	changed    chan struct{} // closed and replaced whenever pos advances
}

func newHub(log Log, logger *slog.Logger) *hub {
	return &hub{log: log, logger: logger, max: defaultHubOffers, offers: map[string]*dlist.Element{}, recent: dlist.New(),
		unreadable: map[uint64]bool{}, changed: make(chan struct{})}
}

// start begins following the log, once, until ctx ends.
func (h *hub) start(ctx context.Context) {
	h.once.Do(func() { go h.run(ctx) })
}

func (h *hub) run(ctx context.Context) {
	const batch = 500
	if !h.begin(ctx) {
		return
	}
	// A batch short of batch reached the head as it was: the next turn
	// waits first (Wait returns at once when the log holds more) instead of
	// reading an empty batch, a read per commit.
	short := false
	for ctx.Err() == nil {
		h.mu.Lock()
		after := h.pos
		h.mu.Unlock()
		var evs []domain.Envelope
		var err error
		if short {
			err = h.log.Wait(ctx, after)
		}
		if err == nil {
			evs, err = h.log.ReadAll(ctx, after, batch)
		}
		short = false
		if err == nil && len(evs) == 0 {
			err = h.log.Wait(ctx, after)
			if err == nil {
				continue
			}
		}
		var dropped map[string][]domain.Envelope
		if err == nil {
			dropped, err = h.readDropped(ctx, evs)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.logger.ErrorContext(ctx, "stream hub: reading the log", "err", err, "after", after)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		h.apply(evs, dropped)
		short = len(evs) < batch
	}
}

// begin moves the hub to the head of the log, which it follows from then
// on. It need not read what came before: an offer it does not hold is read
// from its stream when an event of it comes (readDropped) or a connection
// reads one of its older events (lookup), as after it was dropped. Started
// at position 0, the first stream connection after a restart waited for the
// hub to read and decode the whole log (the 200,000 events of a benchmark's
// earlier steps: 3 to 6 s for every offer event, issue 7). It reports false
// when ctx ended first.
func (h *hub) begin(ctx context.Context) bool {
	for {
		head, err := h.log.Head(ctx)
		if err == nil {
			h.mu.Lock()
			if head > h.pos {
				h.pos = head
				close(h.changed)
				h.changed = make(chan struct{})
			}
			h.mu.Unlock()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		h.logger.ErrorContext(ctx, "stream hub: reading the head of the log", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// readDropped reads the streams of the offers that have an event in evs
// but that the hub no longer holds. Only run writes the hub's offers, so
// what it reads here is still missing when it applies evs; and since evs
// were read before, each stream read holds every event of evs of it.
func (h *hub) readDropped(ctx context.Context, evs []domain.Envelope) (map[string][]domain.Envelope, error) {
	var streams []string
	h.mu.Lock()
	seen := map[string]bool{}
	for _, e := range evs {
		if !strings.HasPrefix(e.Type, "offer.") || seen[e.Stream] || h.offers[e.Stream] != nil {
			continue
		}
		seen[e.Stream] = true
		if e.Type != domain.TypeOfferCreated {
			streams = append(streams, e.Stream)
		}
	}
	h.mu.Unlock()
	var out map[string][]domain.Envelope
	for _, stream := range streams {
		evs, err := h.log.ReadStream(ctx, stream)
		if err != nil {
			return nil, fmt.Errorf("stream hub: read %s again: %w", stream, err)
		}
		if out == nil {
			out = map[string][]domain.Envelope{}
		}
		out[stream] = evs
	}
	return out, nil
}

// apply folds events into the map and wakes whoever waits for them.
// dropped holds the streams of the offers among them the hub no longer
// holds (readDropped): what the hub knew of them is folded again first.
func (h *hub) apply(evs []domain.Envelope, dropped map[string][]domain.Envelope) {
	h.mu.Lock()
	defer h.mu.Unlock()
	before := h.pos
	for _, e := range evs {
		h.pos = max(h.pos, e.Position)
		el := h.offers[e.Stream]
		var info *offerInfo
		if el != nil {
			info = el.Value.(*offerInfo)
		} else if old, ok := dropped[e.Stream]; ok {
			delete(dropped, e.Stream)
			if info = h.foldStream(e.Stream, old, before); info != nil {
				el = h.keep(info)
			}
		}
		if info == nil && e.Type != domain.TypeOfferCreated {
			continue
		}
		de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			h.logger.Error("stream hub: decoding an event", "err", err, "position", e.Position)
			h.unreadable[e.Position] = true
			continue
		}
		if info = info.fold(e.Stream, e.Position, de); info == nil {
			continue
		}
		if el == nil || el.Value != info {
			if el != nil {
				// A second offer.created on the stream starts it over,
				// as the map's entry did before the hub had a bound.
				h.recent.Remove(el)
			}
			el = h.keep(info)
		}
		h.recent.MoveToFront(el)
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// keep holds info, dropping the offer whose last event is the oldest when
// the hub holds max.
func (h *hub) keep(info *offerInfo) *dlist.Element {
	for h.recent.Len() >= max(h.max, 1) {
		oldest := h.recent.Back()
		h.recent.Remove(oldest)
		delete(h.offers, oldest.Value.(*offerInfo).stream)
	}
	el := h.recent.PushFront(info)
	h.offers[info.stream] = el
	return el
}

// foldStream folds the events of one offer's stream at positions up to
// upTo; nil when they hold no offer.created this build can read. An event
// it cannot decode is skipped, as apply skips it.
func (h *hub) foldStream(stream string, evs []domain.Envelope, upTo uint64) *offerInfo {
	var info *offerInfo
	for _, e := range evs {
		if e.Position > upTo {
			break
		}
		de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			continue
		}
		info = info.fold(stream, e.Position, de)
	}
	return info
}

// reached reports whether the hub has read the log up to pos, so that
// lookup of an event at pos returns without waiting.
func (h *hub) reached(pos uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pos >= pos
}

// lookup returns what the hub knows of the offer whose stream is stream,
// and the status its event at position pos left it in ("" when that event
// changed no status), once the hub has read the log up to pos. An offer the
// hub no longer holds is read from its stream.
func (h *hub) lookup(ctx context.Context, stream string, pos uint64) (info offerInfo, status domain.OfferStatus, ok bool, err error) {
	for {
		h.mu.Lock()
		if h.pos >= pos {
			break
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return offerInfo{}, "", false, ctx.Err()
		case <-ch:
		}
	}
	if h.unreadable[pos] {
		h.mu.Unlock()
		return offerInfo{}, "", false, nil
	}
	if el := h.offers[stream]; el != nil {
		p := el.Value.(*offerInfo)
		info, status = *p, p.statusAt(pos)
		h.mu.Unlock()
		info.changes = nil // the hub's, which it goes on appending to
		return info, status, true, nil
	}
	h.mu.Unlock()
	evs, err := h.log.ReadStream(ctx, stream)
	if err != nil {
		return offerInfo{}, "", false, fmt.Errorf("stream hub: read %s: %w", stream, err)
	}
	p := h.foldStream(stream, evs, pos)
	if p == nil || p.lastPos != pos {
		// Not an offer this build can read, or its event at pos is not
		// one (apply would have marked it unreadable).
		return offerInfo{}, "", false, nil
	}
	info, status = *p, p.statusAt(pos)
	info.changes = nil
	return info, status, true, nil
}
