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
	ReadAll(ctx context.Context, after uint64, limit int) ([]domain.AuditEvent, error)
	// Wait blocks until the log holds an event with position > after, or ctx
	// is done (returning ctx's error).
	Wait(ctx context.Context, after uint64) error
	// Head returns the position of the last event in the log, 0 when empty.
	Head(ctx context.Context) (uint64, error)
}

// offerInfo is what the stream needs to know of an offer to ask
// domain.Scope.Sees who may see its events: whose it is, and from which
// position on it is in the customer's inbox (0 while it is not).
type offerInfo struct {
	reseller    domain.ResellerID
	customer    domain.CustomerID
	deliveredAt uint64
}

// hub follows the log from its start and keeps, for every offer, whose it
// is and when it was delivered. Those facts never change once recorded (an
// offer is delivered at most once), so one shared map serves every stream
// connection, whatever position the connection is reading.
type hub struct {
	log    Log
	logger *slog.Logger
	once   sync.Once

	mu      sync.Mutex
	pos     uint64
	offers  map[domain.OfferID]offerInfo
	changed chan struct{} // closed and replaced whenever pos advances
}

func newHub(log Log, logger *slog.Logger) *hub {
	return &hub{log: log, logger: logger, offers: map[domain.OfferID]offerInfo{}, changed: make(chan struct{})}
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
func (h *hub) apply(evs []domain.AuditEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		switch e.Type {
		case domain.TypeOfferCreated, domain.TypeOfferDelivered:
			de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
			if err != nil {
				h.logger.Error("stream hub: decoding an event", "err", err, "position", e.Position)
				break
			}
			switch ev := de.(type) {
			case *domain.OfferCreated:
				h.offers[ev.OfferID] = offerInfo{reseller: ev.ResellerID, customer: ev.CustomerID}
			case *domain.OfferDelivered:
				info := h.offers[ev.OfferID]
				if info.deliveredAt == 0 {
					info.deliveredAt = e.Position
				}
				h.offers[ev.OfferID] = info
			}
		}
		h.pos = max(h.pos, e.Position)
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// lookup returns what the hub knows of offer id once it has read the log up
// to position pos.
func (h *hub) lookup(ctx context.Context, id domain.OfferID, pos uint64) (offerInfo, bool, error) {
	for {
		h.mu.Lock()
		if h.pos >= pos {
			info, ok := h.offers[id]
			h.mu.Unlock()
			return info, ok, nil
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return offerInfo{}, false, ctx.Err()
		case <-ch:
		}
	}
}
