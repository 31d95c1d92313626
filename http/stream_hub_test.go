package http

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// hubLog is a real event store in a temporary directory, read as the hub
// reads it.
type hubLog struct {
	t     *testing.T
	store *sqlite.Store
	log   *eventlog.Log
	// want is what the domain says of each offer event: the status it
	// left its offer in when that changed, and whether the offer was
	// delivered by then.
	want      map[uint64]hubWant
	offers    map[domain.OfferID]*domain.Offer
	delivered map[domain.OfferID]bool
	versions  map[domain.OfferID]uint64
}

type hubWant struct {
	offer     domain.OfferID
	status    domain.OfferStatus
	delivered bool
}

func newHubLog(t *testing.T) *hubLog {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &hubLog{t: t, store: store, log: eventlog.New(store), want: map[uint64]hubWant{},
		offers: map[domain.OfferID]*domain.Offer{}, delivered: map[domain.OfferID]bool{}, versions: map[domain.OfferID]uint64{}}
}

// append writes one event of offer id and records what the domain says of it.
func (l *hubLog) append(id domain.OfferID, ev domain.Event) {
	l.t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		l.t.Fatal(err)
	}
	o := l.offers[id]
	if o == nil {
		o = &domain.Offer{}
		l.offers[id] = o
	}
	res, err := l.store.Append(context.Background(), domain.OfferStream(id), l.versions[id],
		eventstore.NewEvent{ID: uuid.NewString(), Type: ev.EventType(), SchemaVersion: domain.SchemaVersion(ev.EventType()), Data: data})
	if err != nil {
		l.t.Fatal(err)
	}
	l.versions[id] = res.Version
	before := o.Status()
	o.Apply(ev)
	if ev.EventType() == domain.TypeOfferDelivered {
		l.delivered[id] = true
	}
	w := hubWant{offer: id, delivered: l.delivered[id]}
	if o.Status() != before {
		w.status = o.Status()
	}
	l.want[res.Position] = w
}

// catchUp lets h read the log to its head, as run does.
func (l *hubLog) catchUp(h *hub) {
	l.t.Helper()
	ctx := context.Background()
	for {
		evs, err := l.log.ReadAll(ctx, h.pos, 500)
		if err != nil {
			l.t.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		dropped, err := h.readDropped(ctx, evs)
		if err != nil {
			l.t.Fatal(err)
		}
		h.apply(evs, dropped)
	}
}

// check asks h about every offer event so far and compares with the domain.
func (l *hubLog) check(h *hub) {
	l.t.Helper()
	evs, err := l.log.ReadAll(context.Background(), 0, 10_000)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range evs {
		w := l.want[e.Position]
		info, status, ok, err := h.lookup(context.Background(), e.Stream, e.Position)
		if err != nil || !ok {
			l.t.Fatalf("%s at %d: ok %v, error %v", e.Type, e.Position, ok, err)
		}
		delivered := info.deliveredAt != 0 && e.Position >= info.deliveredAt
		if info.id != w.offer || status != w.status || delivered != w.delivered || info.reseller != "r1" || info.customer != "c1" {
			l.t.Errorf("%s at %d: hub says offer %s, status %q, delivered %v; the domain %s, %q, %v",
				e.Type, e.Position, info.id, status, delivered, w.offer, w.status, w.delivered)
		}
	}
}

func (h *hub) holds(id domain.OfferID) (domain.OfferStatus, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	el := h.offers[domain.OfferStream(id)]
	if el == nil {
		return "", false
	}
	return el.Value.(*offerInfo).status, true
}

// TestHub_DroppedOfferStatus: a hub that holds one offer drops the older
// one when another is created, and still tells the right status and
// delivery of the dropped offer's events: of its next event (read again
// from its stream, then held again) and of its older ones (which a stream
// connection behind the hub reads).
func TestHub_DroppedOfferStatus(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := at.Add(72 * time.Hour)
	l := newHubLog(t)
	h := newHub(l.log, slog.New(slog.DiscardHandler))
	h.max = 1
	created := func(id domain.OfferID) domain.Event {
		return &domain.OfferCreated{OfferID: id, ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", ExpiresAt: &exp, At: at}
	}

	l.append("o1", created("o1"))
	l.append("o1", &domain.OfferDispatched{OfferID: "o1", Dispatch: 1, At: at})
	l.append("o1", &domain.OfferDelivered{OfferID: "o1", Dispatch: 1, At: at})
	l.append("o2", created("o2"))
	l.catchUp(h)
	if _, ok := h.holds("o1"); ok {
		t.Fatal("the hub of one offer still holds o1 after o2 was created")
	}
	l.check(h) // o1's events, read from its stream

	// o1's next events: read again, held again, o2 dropped.
	l.append("o1", &domain.OfferRead{OfferID: "o1", At: at})
	l.append("o1", &domain.OfferAccepted{OfferID: "o1", At: at})
	l.catchUp(h)
	if s, ok := h.holds("o1"); !ok || s != domain.StatusAccepted {
		t.Fatalf("after o1's acceptance the hub holds o1: %v, status %q; want accepted", ok, s)
	}
	if _, ok := h.holds("o2"); ok {
		t.Fatal("the hub of one offer holds o2 besides o1")
	}
	l.check(h) // o1's events from what the hub holds again, o2's from its stream
	// o2 dropped while its delivery failed in one batch with o3's life.
	l.append("o2", &domain.OfferDispatched{OfferID: "o2", Dispatch: 1, At: at})
	l.append("o3", created("o3"))
	l.append("o2", &domain.OfferDeliveryFailed{OfferID: "o2", Dispatch: 1, Error: "down", Attempts: 3, At: at})
	l.append("o3", &domain.OfferWithdrawn{OfferID: "o3", At: at})
	l.append("o2", &domain.OfferDispatched{OfferID: "o2", Dispatch: 2, At: at})
	l.catchUp(h)
	l.check(h)
	if h.recent.Len() != 1 || len(h.offers) != 1 {
		t.Fatalf("the hub of one offer holds %d (%d in its list)", len(h.offers), h.recent.Len())
	}
}

// BenchmarkHub_Apply measures what the hub holds per offer: offers with
// three events each (created, dispatched, delivered), applied in batches as
// run does. "unbounded" holds every offer (as the hub did before it had a
// bound); "bounded" the default number.
func BenchmarkHub_Apply(b *testing.B) {
	const offers = 50_000
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var evs []domain.Envelope
	add := func(id domain.OfferID, ev domain.Event) {
		data, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, domain.Envelope{Position: uint64(len(evs) + 1), Stream: domain.OfferStream(id), Type: ev.EventType(),
			SchemaVersion: domain.SchemaVersion(ev.EventType()), Data: data})
	}
	for i := range offers {
		id := domain.OfferID(uuid.NewString())
		add(id, &domain.OfferCreated{OfferID: id, ResellerID: "r1", CustomerID: domain.CustomerID(fmt.Sprintf("c%d", i%100)), TemplateID: "t1", ExpiresAt: &exp, At: exp})
		add(id, &domain.OfferDispatched{OfferID: id, Dispatch: 1, At: exp})
		add(id, &domain.OfferDelivered{OfferID: id, Dispatch: 1, At: exp})
	}
	for _, tc := range []struct {
		name string
		max  int
	}{{"unbounded", offers}, {"bounded", defaultHubOffers}} {
		b.Run(tc.name, func(b *testing.B) {
			var held uint64
			for range b.N {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				h := newHub(nil, slog.New(slog.DiscardHandler))
				h.max = tc.max
				for i := 0; i < len(evs); i += 500 {
					h.apply(evs[i:min(i+500, len(evs))], nil)
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				held = m1.HeapAlloc - m0.HeapAlloc
				runtime.KeepAlive(h)
			}
			b.ReportMetric(float64(held), "heap-B")
			b.ReportMetric(float64(held)/offers, "heap-B/offer")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// countingLog is a Log that counts the events its ReadAll returned.
type countingLog struct {
	Log
	mu   sync.Mutex
	read int
}

func (c *countingLog) ReadAll(ctx context.Context, after uint64, limit int) ([]domain.Envelope, error) {
	evs, err := c.Log.ReadAll(ctx, after, limit)
	c.mu.Lock()
	c.read += len(evs)
	c.mu.Unlock()
	return evs, err
}

func (c *countingLog) events() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

// TestHub_StartsAtTheHead: a hub started on a log that already holds
// offers reads none of their events, and still tells the status and the
// delivery of each of them, older and newer, as the domain does.
func TestHub_StartsAtTheHead(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := at.Add(72 * time.Hour)
	l := newHubLog(t)
	created := func(id domain.OfferID) domain.Event {
		return &domain.OfferCreated{OfferID: id, ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", ExpiresAt: &exp, At: at}
	}
	for _, id := range []domain.OfferID{"o1", "o2", "o3"} {
		l.append(id, created(id))
		l.append(id, &domain.OfferDispatched{OfferID: id, Dispatch: 1, At: at})
	}
	l.append("o1", &domain.OfferDelivered{OfferID: "o1", Dispatch: 1, At: at})
	head, err := l.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	counted := &countingLog{Log: l.log}
	h := newHub(counted, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	h.once.Do(func() {
		go func() {
			defer close(done)
			h.run(ctx)
		}()
	})
	// The offers' older events are known once the hub has begun, read from
	// their streams.
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, _, ok, err := h.lookup(wctx, domain.OfferStream("o1"), head); err != nil || !ok {
		t.Fatalf("lookup at the head: ok %v, %v", ok, err)
	}
	l.check(h)
	if n := counted.events(); n != 0 {
		t.Errorf("the hub read %d events of the log that were there before it started, want none", n)
	}

	// What comes after: an older offer's next events, and a new offer.
	l.append("o2", &domain.OfferDelivered{OfferID: "o2", Dispatch: 1, At: at})
	l.append("o1", &domain.OfferRead{OfferID: "o1", At: at})
	l.append("o1", &domain.OfferAccepted{OfferID: "o1", At: at})
	l.append("o4", created("o4"))
	last, err := l.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h.lookup(wctx, domain.OfferStream("o4"), last); err != nil {
		t.Fatal(err)
	}
	l.check(h)
	if s, ok := h.holds("o1"); !ok || s != domain.StatusAccepted {
		t.Errorf("after o1's acceptance the hub holds o1: %v, status %q; want accepted", ok, s)
	}
	if n := counted.events(); n != 4 {
		t.Errorf("the hub read %d events of the log, want the 4 appended after it started", n)
	}
}
