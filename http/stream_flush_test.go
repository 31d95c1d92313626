package http_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	ofhttp "github.com/offerflow/offerflow/http"
)

// heldQueries are the server's real Queries, except that WaitFor of one
// position blocks until the test lets it go: read models held back at that
// position. A WaitFor whose context is already done is told they do not
// hold it yet.
type heldQueries struct {
	ofhttp.Queries
	pos      atomic.Uint64
	entered  chan struct{} // closed when a WaitFor of pos begins
	release  chan struct{}
	returned atomic.Bool // a held WaitFor returned
	badges   atomic.Int32
}

func (q *heldQueries) Badge(ctx context.Context, customer domain.CustomerID) (domain.Badge, error) {
	q.badges.Add(1)
	return q.Queries.Badge(ctx, customer)
}

func (q *heldQueries) WaitFor(ctx context.Context, pos uint64) error {
	if p := q.pos.Load(); p == 0 || pos != p {
		return q.Queries.WaitFor(ctx, pos)
	}
	select {
	case <-q.release:
		return q.Queries.WaitFor(ctx, pos)
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-q.entered:
	default:
		close(q.entered)
	}
	defer q.returned.Store(true)
	select {
	case <-q.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.Queries.WaitFor(ctx, pos)
}

// deliveredAt returns the log position of offer's offer.delivered.
func deliveredAt(tb testing.TB, ts *TestServer, offer string) uint64 {
	tb.Helper()
	evs, err := ts.Log.ReadStream(context.Background(), domain.OfferStream(domain.OfferID(offer)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == domain.TypeOfferDelivered {
			return e.Position
		}
	}
	tb.Fatalf("offer %s has no offer.delivered", offer)
	return 0
}

// TestStream_EventNotHeldBehindALaterWait: a stream that reads two
// deliveries in one batch sends both offer events and the first one's
// badge while the read models are held back before the second: nothing
// written waits for a later event's badge.
func TestStream_EventNotHeldBehindALaterWait(t *testing.T) {
	q := &heldQueries{entered: make(chan struct{}), release: make(chan struct{})}
	ts := MustOpenServer(t, func(o *Options) {
		// Longer than sse.next waits: a badge wait that ends by its
		// timeout cannot let the events out in time.
		o.WaitTimeout = time.Minute
		o.Configure = func(c *ofhttp.Config) { q.Queries = c.Queries; c.Queries = q }
	})
	w := NewWorld(t, ts)
	first := w.ResellerC.SendOffer(t, w.Customer, w.Template, "first")
	w.ResellerC.WaitStatus(t, first, "waiting_for_confirmation")
	second := w.ResellerC.SendOffer(t, w.Customer, w.Template, "second")
	w.ResellerC.WaitStatus(t, second, "waiting_for_confirmation")
	p1, p2 := deliveredAt(t, ts, first), deliveredAt(t, ts, second)
	q.pos.Store(p2)
	defer func() {
		select {
		case <-q.release:
		default:
			close(q.release)
		}
	}()

	// Resumed before the first delivery: both are in the stream's first
	// read of the log.
	s := openStream(t, w.CustomerC, strconv.FormatUint(p1-1, 10), false)
	s.next(t, "the first offer", offerEvent(first, "waiting_for_confirmation"))
	s.next(t, "the second offer", offerEvent(second, "waiting_for_confirmation"))
	badge, _ := s.next(t, "the first badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	if got := mustEventID(t, badge); got != p1 {
		t.Fatalf("the first badge has id %d, want %d", got, p1)
	}
	select {
	case <-q.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never waited for the read models at the second delivery")
	}
	if q.returned.Load() {
		t.Fatal("the events came only after the held wait ended")
	}
	close(q.release)
	badge, _ = s.next(t, "the second badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	if got := mustEventID(t, badge); got != p2 {
		t.Fatalf("the second badge has id %d, want %d", got, p2)
	}
}

// TestStream_OneBadgeForWhatTheReadModelsHold: a customer's offer events
// read in one batch, all of them held by the read models already, are
// followed by one badge whose id is the last one's, not a badge each: each
// badge waited for the read models and a query before the next offer
// event went out, and the last one of twenty came twenty queries after the
// read models held it (issue 7).
func TestStream_OneBadgeForWhatTheReadModelsHold(t *testing.T) {
	q := &heldQueries{entered: make(chan struct{}), release: make(chan struct{})}
	ts := MustOpenServer(t, func(o *Options) {
		o.Configure = func(c *ofhttp.Config) { q.Queries = c.Queries; c.Queries = q }
	})
	w := NewWorld(t, ts)
	const offers = 4
	var ids []string
	for i := range offers {
		id := w.ResellerC.SendOffer(t, w.Customer, w.Template, strconv.Itoa(i))
		w.ResellerC.WaitStatus(t, id, "waiting_for_confirmation")
		ids = append(ids, id)
	}
	first, last := deliveredAt(t, ts, ids[0]), deliveredAt(t, ts, ids[offers-1])
	if err := q.WaitFor(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	before := q.badges.Load()
	// Resumed before the first delivery: all of them are in the stream's
	// first read of the log, and the read models hold them.
	s := openStream(t, w.CustomerC, strconv.FormatUint(first-1, 10), false)
	for i, id := range ids {
		s.next(t, "offer "+strconv.Itoa(i), func(ev sseEvent, d map[string]any) bool {
			if ev.Event == "badge" {
				t.Fatalf("a badge (id %s) before offer %d of %d", ev.ID, i, offers)
			}
			return ev.Event == "offer" && d["offer_id"] == id
		})
	}
	badge, _ := s.next(t, "the badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	if got := mustEventID(t, badge); got != last {
		t.Errorf("the badge has id %d, want the last delivery's %d", got, last)
	}
	if n := q.badges.Load() - before; n != 1 {
		t.Errorf("%d badge queries for %d offer events the read models held, want 1", n, offers)
	}
}

// emptyReads is the server's real log, counting the reads of it that
// found nothing.
type emptyReads struct {
	ofhttp.Log
	n atomic.Int64
}

func (l *emptyReads) ReadAll(ctx context.Context, after uint64, limit int) ([]domain.Envelope, error) {
	evs, err := l.Log.ReadAll(ctx, after, limit)
	if err == nil && len(evs) == 0 {
		l.n.Add(1)
	}
	return evs, err
}

// TestStream_WaitsAfterAShortBatch: a stream connection and the hub that
// reached the head wait for the log before they read it again, instead of
// reading an empty batch after each commit: five offers, each delivered to
// an open stream before the next is sent, take no empty read but the first
// of each follower.
func TestStream_WaitsAfterAShortBatch(t *testing.T) {
	reads := &emptyReads{}
	ts := MustOpenServer(t, func(o *Options) {
		o.Configure = func(c *ofhttp.Config) { reads.Log = c.Log; c.Log = reads }
	})
	w := NewWorld(t, ts)
	s := openStream(t, w.CustomerC, "", false)
	s.next(t, "the initial badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	for i := range 5 {
		offer := w.ResellerC.SendOffer(t, w.Customer, w.Template, "n"+strconv.Itoa(i))
		s.next(t, "the offer in the inbox", offerEvent(offer, "waiting_for_confirmation"))
		s.next(t, "its badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	}
	// The stream's first read at the head and the hub's first at its own.
	if n := reads.n.Load(); n > 2 {
		t.Errorf("%d reads of the log found nothing, want at most 2", n)
	}
}
