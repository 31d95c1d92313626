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
// position.
type heldQueries struct {
	ofhttp.Queries
	pos      atomic.Uint64
	entered  chan struct{} // closed when a WaitFor of pos begins
	release  chan struct{}
	returned atomic.Bool // a held WaitFor returned
}

func (q *heldQueries) WaitFor(ctx context.Context, pos uint64) error {
	if p := q.pos.Load(); p == 0 || pos != p {
		return q.Queries.WaitFor(ctx, pos)
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
// deliveries in one batch sends the first one's offer event and badge, and
// the second one's offer event, while the read models are held back before
// the second: nothing written waits for a later event's badge.
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
	badge, _ := s.next(t, "the first badge", func(ev sseEvent, _ map[string]any) bool { return ev.Event == "badge" })
	if got := mustEventID(t, badge); got != p1 {
		t.Fatalf("the first badge has id %d, want %d", got, p1)
	}
	s.next(t, "the second offer", offerEvent(second, "waiting_for_confirmation"))
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
