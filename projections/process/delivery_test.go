package process_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/projections/process"
)

func TestDelivery_NoWebhook(t *testing.T) {
	e := newProcessEnv(t, nil)
	var outcomes atomic.Value
	cfg := fastRetries(8)
	cfg.OnDelivery = func(o string) { outcomes.Store(o) }
	e.start(t, cfg)

	// Offer after offer, from the create command's return to the offer
	// read back as delivered (polled every 5ms).
	const n = 20
	var (
		id        domain.OfferID
		v         domain.OfferView
		latencies []time.Duration
	)
	for range n {
		start := time.Now()
		id = e.createOffer(t, nil)
		v = e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	t.Logf("delivery latency without webhook over %d offers: median %v, max %v", n, latencies[n/2], latencies[n-1])
	if latencies[n-1] > time.Second {
		t.Errorf("an offer was delivered after %v, want within a second", latencies[n-1])
	}
	if v.DeliveredAt == nil || v.Dispatch != 1 {
		t.Errorf("offer = %+v, want delivered in dispatch 1", v)
	}
	stream := domain.OfferStream(id)
	dispatched := e.ofType(t, stream, domain.TypeOfferDispatched)
	delivered := e.ofType(t, stream, domain.TypeOfferDelivered)
	if len(delivered) != 1 {
		t.Fatalf("%d offer.delivered events, want 1", len(delivered))
	}
	md := delivered[0].Metadata
	if md.Actor.Role != domain.RoleSystem || md.Actor.Subject != "delivery" {
		t.Errorf("delivered by %+v, want the system's delivery process", md.Actor)
	}
	wantCorr := dispatched[0].Metadata.CorrelationID
	if wantCorr == "" {
		wantCorr = dispatched[0].ID // the dispatch starts the correlation
	}
	if md.CausationID != dispatched[0].ID || md.CorrelationID != wantCorr {
		t.Errorf("causation %q correlation %q, want caused by the dispatch %q", md.CausationID, md.CorrelationID, dispatched[0].ID)
	}
	processWait(t, time.Second, func() bool { return outcomes.Load() == "delivered" }, "the delivered outcome hook")
}

func TestDelivery_WebhookRetriedUntil2xx(t *testing.T) {
	e := newProcessEnv(t, nil)
	var id domain.OfferID
	var statusAtThirdCall atomic.Value
	hook := newHookServer(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	hook.setSecret(e.setWebhook(t, hook.URL+"/hooks/offers?token=abc"))
	hook.onCall = func(n int) {
		if n == 3 {
			statusAtThirdCall.Store(e.offer(t, id).Status)
		}
	}
	var attempts atomic.Int32
	cfg := fastRetries(8)
	cfg.WebhookBackoff = 50 * time.Millisecond
	cfg.OnWebhookAttempt = func(string) { attempts.Add(1) }
	p := e.start(t, cfg)

	start := time.Now()
	id = e.createOffer(t, nil)
	v := e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)
	elapsed := time.Since(start)
	if got := statusAtThirdCall.Load(); got != domain.StatusWaiting {
		t.Errorf("status while the third try was under way = %v, want waiting until the 2xx", got)
	}
	// Two waits: 50ms, then 100ms. A try's due time is stored to the
	// millisecond, so each wait may end up to a millisecond early.
	if elapsed < 150*time.Millisecond*9/10 {
		t.Errorf("delivered after %v, before the backoff of 50ms+100ms", elapsed)
	}
	calls := hook.Calls()
	if len(calls) != 3 {
		t.Fatalf("webhook called %d times, want 3", len(calls))
	}
	dispatched := e.ofType(t, domain.OfferStream(id), domain.TypeOfferDispatched)[0]
	for i, c := range calls {
		if !c.verified {
			t.Errorf("call %d: signature %q does not verify with the customer's secret", i+1, c.signature)
		}
		if c.id != dispatched.ID {
			t.Errorf("call %d: webhook-id %q, want the dispatch event id %q", i+1, c.id, dispatched.ID)
		}
		ts, err := strconv.ParseInt(c.timestamp, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("call %d: webhook-timestamp %q is not the current unix time", i+1, c.timestamp)
		}
	}
	var body struct {
		Type string `json:"type"`
		Data struct {
			OfferID    domain.OfferID    `json:"offer_id"`
			CustomerID domain.CustomerID `json:"customer_id"`
			Dispatch   int               `json:"dispatch"`
			Items      []domain.Item     `json:"items"`
			Message    string            `json:"message"`
		} `json:"data"`
	}
	if err := json.Unmarshal(calls[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != process.WebhookEventType || body.Data.OfferID != id || body.Data.Dispatch != 1 ||
		string(body.Data.CustomerID) != e.customer.Tenant || len(body.Data.Items) != 1 ||
		body.Data.Items[0].TermMonths != 12 || body.Data.Message != "Hello from your reseller" {
		t.Errorf("notification body = %s", calls[0].body)
	}
	if string(calls[0].body) != string(calls[2].body) {
		t.Error("the body changed between tries; it must stay the same message")
	}
	if v.DeliveryError != "" {
		t.Errorf("delivery_error %q after success", v.DeliveryError)
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("attempt hook called %d times, want 3", n)
	}
	e.waitIdle(t, p)
}

func TestDelivery_WebhookAlwaysFailsThenRedeliver(t *testing.T) {
	e := newProcessEnv(t, nil)
	hook := newHookServer(t, func(int) int { return http.StatusInternalServerError })
	hook.setSecret(e.setWebhook(t, hook.URL))
	e.start(t, fastRetries(3))

	id := e.createOffer(t, nil)
	v := e.waitStatus(t, id, domain.StatusDeliveryFailed, 5*time.Second)
	if !strings.Contains(v.DeliveryError, "HTTP 500") {
		t.Errorf("delivery_error = %q, want the last status", v.DeliveryError)
	}
	failed := e.ofType(t, domain.OfferStream(id), domain.TypeOfferDeliveryFailed)
	if len(failed) != 1 {
		t.Fatalf("%d delivery_failed events, want 1", len(failed))
	}
	if f := decode[domain.OfferDeliveryFailed](t, failed[0]); f.Attempts != 3 || f.Dispatch != 1 {
		t.Errorf("failure = %+v, want 3 attempts in dispatch 1", f)
	}
	if n := len(hook.Calls()); n != 3 {
		t.Errorf("webhook called %d times, want 3", n)
	}
	if len(e.ofType(t, domain.OfferStream(id), domain.TypeOfferDelivered)) != 0 {
		t.Error("offer.delivered recorded for a failed delivery")
	}

	// The customer's system is fixed; the reseller redelivers.
	hook.setStatus(func(int) int { return http.StatusOK })
	if _, _, err := e.svc.RedeliverOffer(context.Background(), command.Meta{Actor: e.reseller}, id); err != nil {
		t.Fatal(err)
	}
	v = e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)
	if v.Dispatch != 2 {
		t.Errorf("delivered in dispatch %d, want 2", v.Dispatch)
	}
	calls := hook.Calls()
	if len(calls) != 4 {
		t.Fatalf("webhook called %d times, want 3 + 1", len(calls))
	}
	dispatched := e.ofType(t, domain.OfferStream(id), domain.TypeOfferDispatched)
	if calls[3].id != dispatched[1].ID || calls[3].id == calls[0].id {
		t.Errorf("redelivery webhook-id %q, want the second dispatch's %q", calls[3].id, dispatched[1].ID)
	}
}

func TestDelivery_WithdrawnWhileRetrying(t *testing.T) {
	e := newProcessEnv(t, nil)
	hook := newHookServer(t, func(int) int { return http.StatusBadGateway })
	hook.setSecret(e.setWebhook(t, hook.URL))
	cfg := fastRetries(8)
	cfg.WebhookBackoff = 100 * time.Millisecond
	p := e.start(t, cfg)

	id := e.createOffer(t, nil)
	processWait(t, 5*time.Second, func() bool { return len(hook.Calls()) >= 1 }, "the first webhook call")
	if _, _, err := e.svc.WithdrawOffer(context.Background(), command.Meta{Actor: e.reseller}, id); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(t, p)
	calls := len(hook.Calls())
	time.Sleep(300 * time.Millisecond)
	if n := len(hook.Calls()); n != calls || n > 2 {
		t.Errorf("webhook called %d times (%d when the job ended), want no more after the withdrawal", n, calls)
	}
	stream := domain.OfferStream(id)
	if n := len(e.ofType(t, stream, domain.TypeOfferDelivered)) + len(e.ofType(t, stream, domain.TypeOfferDeliveryFailed)); n != 0 {
		t.Errorf("%d delivery outcomes recorded for a withdrawn offer, want none", n)
	}
	if s := e.offer(t, id).Status; s != domain.StatusWithdrawn {
		t.Errorf("status %s, want withdrawn", s)
	}
}

func TestDelivery_RedirectNotFollowed(t *testing.T) {
	e := newProcessEnv(t, nil)
	target := newHookServer(t, func(int) int { return http.StatusOK })
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	t.Cleanup(hook.Close)
	e.setWebhook(t, hook.URL)
	e.start(t, fastRetries(2))

	id := e.createOffer(t, nil)
	v := e.waitStatus(t, id, domain.StatusDeliveryFailed, 5*time.Second)
	if !strings.Contains(v.DeliveryError, "302") {
		t.Errorf("delivery_error = %q, want the 302 named", v.DeliveryError)
	}
	if n := len(target.Calls()); n != 0 {
		t.Errorf("redirect target called %d times, want never", n)
	}
}

func TestDelivery_LoopbackRefused(t *testing.T) {
	e := newProcessEnv(t, nil)
	hook := newHookServer(t, func(int) int { return http.StatusOK })
	e.setWebhook(t, hook.URL) // 127.0.0.1: accepted when set, refused when called
	var refused atomic.Int32
	cfg := fastRetries(2)
	cfg.AllowInsecure = false
	cfg.OnWebhookAttempt = func(o string) {
		if o == "refused" {
			refused.Add(1)
		}
	}
	e.start(t, cfg)

	id := e.createOffer(t, nil)
	v := e.waitStatus(t, id, domain.StatusDeliveryFailed, 5*time.Second)
	if v.DeliveryError != "webhook request failed: address not allowed" {
		t.Errorf("delivery_error = %q, want the address policy named, not the address", v.DeliveryError)
	}
	if strings.Contains(v.DeliveryError, hook.URL) {
		t.Errorf("delivery_error %q shows the webhook URL", v.DeliveryError)
	}
	if n := len(hook.Calls()); n != 0 {
		t.Errorf("loopback webhook reached %d times", n)
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("%d refused attempts counted, want 2", n)
	}
}

func TestDelivery_RedeliveredDispatchHasNoSecondEffect(t *testing.T) {
	e := newProcessEnv(t, nil)
	hook := newHookServer(t, func(int) int { return http.StatusOK })
	hook.setSecret(e.setWebhook(t, hook.URL))
	p, stop := e.startStoppable(t, fastRetries(3))

	id := e.createOffer(t, nil)
	e.waitStatus(t, id, domain.StatusWaitingForConfirmation, eventually)
	stream := domain.OfferStream(id)
	dispatched := e.ofType(t, stream, domain.TypeOfferDispatched)[0]

	// The same event handled twice more, directly.
	for range 2 {
		if err := p.Delivery().Handle(context.Background(), dispatched); err != nil {
			t.Fatalf("handling the dispatch again: %v", err)
		}
	}
	e.waitIdle(t, p)

	// And from the start of the log with the queue lost too, as after a
	// lost read-model database.
	processWait(t, eventually, func() bool {
		return e.checkpoint(t, process.DeliveryConsumerGroup) >= dispatched.Position
	}, "the dispatch to be checkpointed")
	stop()
	e.resetCheckpoint(t, process.DeliveryConsumerGroup)
	if _, err := e.db.Exec(`DELETE FROM delivery_jobs`); err != nil {
		t.Fatal(err)
	}
	var skipped atomic.Int32
	cfg := fastRetries(3)
	cfg.OnDelivery = func(o string) {
		if o == "skipped" {
			skipped.Add(1)
		}
	}
	p = e.start(t, cfg)
	processWait(t, eventually, func() bool { return skipped.Load() == 1 }, "the replayed dispatch to be worked and skipped")
	e.waitIdle(t, p)

	if n := len(e.ofType(t, stream, domain.TypeOfferDelivered)); n != 1 {
		t.Errorf("%d offer.delivered events, want 1", n)
	}
	if n := len(hook.Calls()); n != 1 {
		t.Errorf("webhook called %d times, want once", n)
	}
}

func TestDelivery_PoisonMessageSetAsideDurably(t *testing.T) {
	e := newProcessEnv(t, nil)
	var poisoned atomic.Value
	cfg := fastRetries(3)
	cfg.OnPoisoned = func(h string) { poisoned.Store(h) }
	p, stop := e.startStoppable(t, cfg)

	// An offer.dispatched that cannot be decoded (offer_id is a number).
	bad := eventstore.NewEvent{ID: uuid.NewString(), Type: domain.TypeOfferDispatched, SchemaVersion: 1,
		Data:     json.RawMessage(`{"offer_id": 42, "dispatch": 1}`),
		Metadata: eventstore.Metadata{Actor: domain.Actor{Role: "system", Tenant: "*", Subject: "test"}, OccurredAt: time.Now().UTC()}}
	res, err := e.store.Append(context.Background(), "offer-broken", eventstore.NoStream, bad)
	if err != nil {
		t.Fatal(err)
	}
	// The handler moves on past it: the next offer is delivered.
	id := e.createOffer(t, nil)
	e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)

	list, err := p.Poisoned(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d poisoned messages, want 1: %+v", len(list), list)
	}
	m := list[0]
	if m.Handler != "process.delivery" || m.EventID != bad.ID || m.Stream != "offer-broken" ||
		m.Position != res.Position || m.EventType != domain.TypeOfferDispatched ||
		!strings.Contains(m.Reason, "decode") || string(m.Payload) != string(bad.Data) || m.Count != 1 {
		t.Errorf("poisoned message = %+v", m)
	}
	if got := poisoned.Load(); got != "process.delivery" {
		t.Errorf("poison hook got %v", got)
	}

	// Durable: still listed by the next run.
	stop()
	p = e.start(t, cfg)
	if list, err := p.Poisoned(context.Background(), 10); err != nil || len(list) != 1 {
		t.Errorf("after a restart: %d poisoned messages, %v; want 1", len(list), err)
	}
}

func TestDelivery_JobThatCannotFinishIsPoisoned(t *testing.T) {
	e := newProcessEnv(t, nil)
	var outcome atomic.Value
	cfg := fastRetries(3)
	cfg.HandlerRetries = 1
	cfg.OnDelivery = func(o string) { outcome.Store(o) }
	p, stop := e.startStoppable(t, cfg)

	// A dispatch of an offer whose stream cannot be loaded: it holds an
	// event of a type this version does not know.
	offerID := uuid.NewString()
	md := eventstore.Metadata{Actor: domain.Actor{Role: "system", Tenant: "*", Subject: "test"}, OccurredAt: time.Now().UTC()}
	dispatch := eventstore.NewEvent{ID: uuid.NewString(), Type: domain.TypeOfferDispatched, SchemaVersion: 1,
		Data: json.RawMessage(`{"offer_id":"` + offerID + `","dispatch":1}`), Metadata: md}
	mystery := eventstore.NewEvent{ID: uuid.NewString(), Type: "offer.from_the_future", SchemaVersion: 1,
		Data: json.RawMessage(`{}`), Metadata: md}
	if _, err := e.store.Append(context.Background(), "offer-"+offerID, eventstore.NoStream, dispatch, mystery); err != nil {
		t.Fatal(err)
	}
	processWait(t, 5*time.Second, func() bool { return outcome.Load() == "poisoned" }, "the job to be poisoned")
	list, err := p.Poisoned(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Handler != process.DeliveryWorkerName || list[0].EventID != dispatch.ID ||
		!strings.Contains(list[0].Reason, "offer.from_the_future") {
		t.Fatalf("poisoned = %+v, want the delivery job of %s", list, dispatch.ID)
	}
	if jobs, err := p.Delivery().Jobs(context.Background()); err != nil || jobs["poisoned"] != 1 {
		t.Errorf("jobs = %v, %v; want one poisoned", jobs, err)
	}

	// The next start tries it once more (the cause is usually transient).
	stop()
	outcome.Store("")
	p = e.start(t, cfg)
	processWait(t, 5*time.Second, func() bool { return outcome.Load() == "poisoned" }, "the job to be poisoned again")
	if list, err := p.Poisoned(context.Background(), 10); err != nil || len(list) != 1 || list[0].Count != 2 {
		t.Errorf("after a restart: %+v, %v; want the same record counted twice", list, err)
	}
}
