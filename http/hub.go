package http

import (
	"context"
	"log/slog"
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
	// status is the offer's status as of the hub's position, folded with
	// domain.OfferStatusAfter.
	status domain.OfferStatus
}

// hub follows the log from its start and keeps, for every offer (by its
// stream), whose it is and when it was delivered, and for every event that
// changed an offer's status the status it left. Those facts never change
// once recorded (an offer is delivered at most once, an event's outcome is
// fixed), so one shared hub serves every stream connection, whatever
// position the connection is reading.
type hub struct {
	log    Log
	logger *slog.Logger
	once   sync.Once

	mu     sync.Mutex
	pos    uint64
	offers map[string]*offerInfo // by stream name
	// changes holds the status each status-changing offer event left its
	// offer in, by the event's position: a few entries per offer.
	changes map[uint64]domain.OfferStatus
	// unreadable are the positions of offer events this build cannot
	// decode: they concern nobody it can tell.
	unreadable map[uint64]bool
	changed    chan struct{} // closed and replaced whenever pos advances
}

func newHub(log Log, logger *slog.Logger) *hub {
	return &hub{log: log, logger: logger, offers: map[string]*offerInfo{}, changes: map[uint64]domain.OfferStatus{},
		unreadable: map[uint64]bool{}, changed: make(chan struct{})}
}

// start begins following the log, once, until ctx ends.
func (h *hub) start(ctx context.Context) {
	h.once.Do(func() { go h.run(ctx) })
}

func (h *hub) run(ctx context.Context) {
	const batch = 500
	for ctx.Err() == nil {
		h.mu.Lock()
		after := h.pos
		h.mu.Unlock()
		evs, err := h.log.ReadAll(ctx, after, batch)
		if err == nil && len(evs) == 0 {
			err = h.log.Wait(ctx, after)
			if err == nil {
				continue
			}
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
		h.apply(evs)
	}
}

// apply folds events into the map and wakes whoever waits for them.
func (h *hub) apply(evs []domain.Envelope) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		h.pos = max(h.pos, e.Position)
		info := h.offers[e.Stream]
		if info == nil && e.Type != domain.TypeOfferCreated {
			continue
		}
		de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			h.logger.Error("stream hub: decoding an event", "err", err, "position", e.Position)
			h.unreadable[e.Position] = true
			continue
		}
		switch ev := de.(type) {
		case *domain.OfferCreated:
			info = &offerInfo{id: ev.OfferID, reseller: ev.ResellerID, customer: ev.CustomerID}
			h.offers[e.Stream] = info
		case *domain.OfferDelivered:
			if info.deliveredAt == 0 {
				info.deliveredAt = e.Position
			}
		}
		if after := domain.OfferStatusAfter(info.status, de); after != info.status {
			info.status = after
			h.changes[e.Position] = after
		}
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// lookup returns what the hub knows of the offer whose stream is stream,
// and the status its event at position pos left it in ("" when that event
// changed no status), once the hub has read the log up to pos.
func (h *hub) lookup(ctx context.Context, stream string, pos uint64) (info offerInfo, status domain.OfferStatus, ok bool, err error) {
	for {
		h.mu.Lock()
		if h.pos >= pos {
			defer h.mu.Unlock()
			p := h.offers[stream]
			if p == nil || h.unreadable[pos] {
				return offerInfo{}, "", false, nil
			}
			return *p, h.changes[pos], true, nil
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return offerInfo{}, "", false, ctx.Err()
		case <-ch:
		}
	}
}
