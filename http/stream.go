package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// streamBatch is how many events a stream connection reads at a time.
const streamBatch = 200

// offerEventJSON is the data of an `offer` event on /v1/stream.
type offerEventJSON struct {
	OfferID    domain.OfferID     `json:"offer_id"`
	CustomerID domain.CustomerID  `json:"customer_id"`
	Event      string             `json:"event"`
	Status     domain.OfferStatus `json:"status,omitempty"`
	Read       bool               `json:"read,omitempty"`
	Version    uint64             `json:"version"`
	Position   uint64             `json:"position"`
}

// handleStream serves live updates as Server-Sent Events. Every event's id
// is a log position; a client that reconnects with Last-Event-ID gets every
// event after it. A reseller receives `offer` events when one of its offers
// changes status or is reminded of its expiry; a customer receives `offer`
// events when its inbox changes,
// each followed by a `badge` event with the new unread counts.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	if r.ContentLength != 0 {
		// Nothing would read it: the stream answers as long as it lives.
		s.Error(w, r, errorf(domain.EMALFORMED, "the stream takes no body"))
		return
	}
	release, ok := s.acquireStream(w, r)
	if !ok {
		return
	}
	defer release()
	from, resumed, err := lastEventID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	head, err := s.cfg.Log.Head(r.Context())
	if err != nil {
		s.Error(w, r, fmt.Errorf("stream: log head: %w", err))
		return
	}
	// A position past the head was never served by this log: resume from
	// the head, which loses nothing, rather than hand the store a position
	// it never assigned (EventStoreDB refuses those).
	after := head
	if resumed && from < head {
		after = from
	}

	// The stream ends with the request or with the server.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	go s.recheckCredential(ctx, r, cancel)
	s.hub.start(s.ctx)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	s.metrics.StreamConnections.Inc()
	defer s.metrics.StreamConnections.Dec()

	sw := &sseWriter{w: w, rc: rc}
	sw.retry(3000)
	if !resumed && id.Role == domain.RoleCustomer {
		s.sendBadge(ctx, sw, id, after)
	}
	sw.comment("connected")
	if sw.flush() != nil {
		return
	}
	s.followLog(ctx, sw, id, after)
}

// recheckCredential ends a stream (end) once the credential it was opened
// with no longer authenticates: a request is authenticated once, at its
// start, and a stream lives for hours. A failing look-up keeps the stream;
// the next check decides.
func (s *Server) recheckCredential(ctx context.Context, r *http.Request, end context.CancelFunc) {
	t := time.NewTicker(s.cfg.StreamRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := s.StillAuthenticated(ctx, r)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.logger.WarnContext(ctx, "stream: re-checking the token", "err", err)
			}
		case !ok:
			s.logger.InfoContext(ctx, "stream: the token no longer authenticates; ending the stream", "request_id", requestID(r.Context()))
			end()
			return
		}
	}
}

// followLog sends the events id may see after position after until ctx ends
// or the client goes away.
func (s *Server) followLog(ctx context.Context, sw *sseWriter, id Identity, after uint64) {
	// A batch short of streamBatch reached the head as it was: the next
	// turn waits (Wait returns at once when the log holds more) instead of
	// reading an empty batch first, a read per commit per connection.
	short := false
	for ctx.Err() == nil {
		var evs []domain.Envelope
		if !short {
			var err error
			if evs, err = s.cfg.Log.ReadAll(ctx, after, streamBatch); err != nil {
				if ctx.Err() == nil {
					s.logger.ErrorContext(ctx, "stream: reading the log", "err", err, "after", after)
				}
				return
			}
		}
		short = false
		if len(evs) == 0 {
			wctx, cancel := context.WithTimeout(ctx, s.cfg.Heartbeat)
			err := s.cfg.Log.Wait(wctx, after)
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, context.DeadlineExceeded):
				sw.comment("heartbeat")
				if sw.flush() != nil {
					return
				}
			case err != nil:
				s.logger.ErrorContext(ctx, "stream: waiting for the log", "err", err, "after", after)
				return
			}
			continue
		}
		for _, e := range evs {
			if err := s.sendEvent(ctx, sw, id, e); err != nil {
				return
			}
			after = e.Position
		}
		s.sendBadges(ctx, sw, id, true)
		if sw.flushPending() != nil {
			return
		}
		short = len(evs) < streamBatch
	}
}

// sendEvent writes what e means to id, if anything.
func (s *Server) sendEvent(ctx context.Context, sw *sseWriter, id Identity, e domain.Envelope) error {
	if !strings.HasPrefix(e.Type, "offer.") {
		return nil
	}
	// What is written goes out before any wait: an event written early in
	// a batch waited for every later event's wait for the hub and the read
	// models, the p99 of send-to-inbox at 1,000 offers/s (issue 7). The hub
	// is most often there already, and then no flush is needed.
	if !s.hub.reached(e.Position) {
		s.sendBadges(ctx, sw, id, false)
		if err := sw.flushPending(); err != nil {
			return err
		}
	}
	// The status comes from folding the offer (the hub), never from a
	// table of event types here: domain.Offer.Apply is the one place
	// that says which status an event leaves an offer in.
	info, status, ok, err := s.hub.lookup(ctx, e.Stream, e.Position)
	if err != nil || !ok {
		return err
	}
	// Whether id may see the offer as it stood at e: a customer only from
	// its delivery on.
	delivered := info.deliveredAt != 0 && e.Position >= info.deliveredAt
	if !domain.ScopeOf(id).Sees(info.reseller, info.customer, delivered) {
		return nil
	}
	read := e.Type == domain.TypeOfferRead
	data := offerEventJSON{OfferID: info.id, CustomerID: info.customer, Event: e.Type, Status: status, Read: read, Version: e.Version, Position: e.Position}
	// What each role hears of an offer it may see: a reseller its status
	// changes and the reminder of its expiry (no status change, but news
	// to both sides); a customer every change of its inbox and then its
	// badge.
	switch id.Role {
	case domain.RoleReseller:
		if status == "" && e.Type != domain.TypeOfferReminded {
			return nil
		}
		return sw.event(e.Position, "offer", data)
	case domain.RoleCustomer:
		// The offer event carries no id: the badge that follows does, so a
		// client cut off between the two resumes before the offer event and
		// misses neither. The badge comes once the read models hold the
		// event (sendBadges).
		if err := sw.event(0, "offer", data); err != nil {
			return err
		}
		sw.badges = append(sw.badges, e.Position)
		return nil
	}
	return nil
}

// sendBadges writes one badge for the offer events written since the last
// badge that the read models hold (the latest of them: the badge's id
// covers the events before it), and with wait, waits for the read models to
// hold the rest and writes their badge too. A customer's offer events read
// in one batch each waited for the read models and a badge query before
// the next one was written: after a commit of the read models that held
// twenty of them, the last one's badge came after twenty queries, a 22 ms
// p99 at 1,000 offers/s (issue 7). When the read models cannot be had in
// time, the badges are left out: the next change sends one again.
func (s *Server) sendBadges(ctx context.Context, sw *sseWriter, id Identity, wait bool) {
	for len(sw.badges) > 0 && sw.err == nil {
		i := len(sw.badges) - 1
		for i >= 0 && !s.applied(ctx, sw.badges[i]) {
			i--
		}
		if i < 0 {
			if !wait {
				return
			}
			// The offer events go out while the read models catch up.
			if sw.flushPending() != nil {
				return
			}
			wctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
			err := s.cfg.Queries.WaitFor(wctx, sw.badges[0])
			cancel()
			if err != nil {
				sw.badges = sw.badges[:0]
				return
			}
			continue
		}
		pos := sw.badges[i]
		sw.badges = sw.badges[:copy(sw.badges, sw.badges[i+1:])]
		b, err := s.cfg.Queries.Badge(ctx, domain.CustomerID(id.Tenant))
		if err != nil {
			s.logger.ErrorContext(ctx, "stream: badge", "err", err)
			sw.badges = sw.badges[:0]
			return
		}
		_ = sw.event(pos, "badge", b)
	}
}

// applied reports, without waiting, whether the read models hold the log
// up to pos: WaitFor with a context already done answers at once.
func (s *Server) applied(ctx context.Context, pos uint64) bool {
	done, cancel := context.WithCancel(ctx)
	cancel()
	return s.cfg.Queries.WaitFor(done, pos) == nil
}

// sendBadge writes the customer's unread counts once the read models have
// applied position pos. When they cannot be had in time, the badge is left
// out: the next change sends it again.
func (s *Server) sendBadge(ctx context.Context, sw *sseWriter, id Identity, pos uint64) {
	// The offer event before it is not held back while the read models
	// catch up; the badge goes out with the next flush.
	if sw.flushPending() != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	if err := s.cfg.Queries.WaitFor(wctx, pos); err != nil {
		return
	}
	b, err := s.cfg.Queries.Badge(wctx, domain.CustomerID(id.Tenant))
	if err != nil {
		s.logger.ErrorContext(ctx, "stream: badge", "err", err)
		return
	}
	_ = sw.event(pos, "badge", b)
}

// sseWriter writes the Server-Sent Events wire format and remembers the
// first write error, after which it writes nothing.
type sseWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	err error
	// pending tells that something was written since the last flush.
	pending bool
	// badges are the positions of a customer's offer events written
	// since its last badge, in log order.
	badges []uint64
}

func (sw *sseWriter) printf(format string, args ...any) {
	if sw.err == nil {
		_, sw.err = fmt.Fprintf(sw.w, format, args...)
		sw.pending = true
	}
}

func (sw *sseWriter) retry(ms int)       { sw.printf("retry: %d\n\n", ms) }
func (sw *sseWriter) comment(msg string) { sw.printf(": %s\n\n", msg) }

// event writes one event; id 0 writes none, leaving the client's last id.
func (sw *sseWriter) event(id uint64, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("stream event %s: %w", name, err)
	}
	if id > 0 {
		sw.printf("id: %d\n", id)
	}
	sw.printf("event: %s\ndata: %s\n\n", name, b)
	return sw.err
}

func (sw *sseWriter) flush() error {
	if sw.err == nil {
		sw.err = sw.rc.Flush()
		sw.pending = false
	}
	return sw.err
}

// flushPending flushes what was written since the last flush, if anything:
// a flush is a write to the connection.
func (sw *sseWriter) flushPending() error {
	if !sw.pending {
		return sw.err
	}
	return sw.flush()
}
