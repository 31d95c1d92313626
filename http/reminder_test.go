package http_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// callsOfType returns the indexes of the webhook's calls whose body has
// "type" typ and names offer.
func (h *webhook) callsOfType(t *testing.T, typ, offer string) []int {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for i, b := range h.bodies {
		var n struct {
			Type string
			Data struct {
				OfferID string `json:"offer_id"`
			}
		}
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("webhook call %d: %v: %s", i, err, b)
		}
		if n.Type == typ && n.Data.OfferID == offer {
			out = append(out, i)
		}
	}
	return out
}

// reminders returns the offer.reminded events of offer's history.
func reminders(t *testing.T, c Client, offer string) []map[string]any {
	t.Helper()
	var hist struct{ Items []map[string]any }
	c.Must(t, 200, "GET", "/v1/offers/"+offer+"/history", nil).Decode(t, &hist)
	var out []map[string]any
	for _, e := range hist.Items {
		if e["type"] == "offer.reminded" {
			out = append(out, e)
		}
	}
	return out
}

// TestReminder runs the reminder before expiry through the whole server
// with the test's clock: an undecided offer whose time left falls below the
// window gets reminded_at, one signed offer.expiring notification on its
// customer's webhook (webhook-id: the offer.reminded event), an SSE event
// for its reseller and its customer, and comes back unread in the
// customer's inbox and on the badge; and never a second reminder. Offers
// without a deadline, outside the window, or decided are not reminded.
func TestReminder(t *testing.T) {
	clk := newClock()
	ts := MustOpenServer(t, func(o *Options) {
		o.Now, o.ProcessNow = clk.Now, clk.Now
		o.ReminderBefore, o.ExpiryInterval = 72*time.Hour, 20*time.Millisecond
	})
	w := NewWorld(t, ts) // its offers have no deadline
	r := w.ResellerC
	hook := newWebhook(0)
	defer hook.Close()
	hook.Release()
	hookedID, hooked := r.CreateCustomer(t, "Webhook-Schule")
	secret := str(t, hooked.Must(t, 200, "PUT", "/v1/webhook", map[string]string{"url": hook.URL}).Map(t), "secret")

	send := func(customer string, expires time.Time) string {
		t.Helper()
		return str(t, r.Must(t, 202, "POST", "/v1/customers/"+customer+"/offers", map[string]any{
			"template_id": w.Template, "message": "bald fällig", "expires_at": expires.Format(time.RFC3339Nano)}).Map(t), "id")
	}
	due := send(hookedID, clk.Now().Add(100*time.Hour))
	far := send(w.Customer, clk.Now().Add(30*24*time.Hour))
	decided := send(w.SiblingCustomer, clk.Now().Add(100*time.Hour))
	for _, id := range []string{due, far, decided} {
		r.WaitStatus(t, id, "waiting_for_confirmation")
	}
	w.SiblingCustomerC.Must(t, 200, "POST", "/v1/inbox/"+decided+"/accept", nil)
	hooked.Must(t, 204, "POST", "/v1/inbox/"+due+"/read", nil)
	ts.Settle(t)
	if b := hooked.Must(t, 200, "GET", "/v1/inbox/badge", nil).Map(t); b["admin"] != 0.0 || b["updates"] != 0.0 {
		t.Fatalf("badge once read: %v, want 0 and 0", b)
	}
	resellerStream := openStream(t, r, "", false)
	customerStream := openStream(t, hooked, "", false)
	customerStream.next(t, "the initial badge", badgeEvent(0))

	// 29 hours on, 71 of the 100 are left: inside the 72-hour window.
	clk.Advance(29 * time.Hour)
	remindedAt := clk.Now()
	var got map[string]any
	Eventually(t, 10*time.Second, "the reminder", func() bool {
		got = r.Must(t, 200, "GET", "/v1/offers/"+due, nil).Map(t)
		return got["reminded_at"] != nil
	})
	if at, err := time.Parse(time.RFC3339Nano, got["reminded_at"].(string)); err != nil || !at.Equal(remindedAt) {
		t.Errorf("reminded_at %v, want the clock's %v", got["reminded_at"], remindedAt)
	}
	if got["status"] != "waiting_for_confirmation" {
		t.Errorf("a reminded offer is %v, want still waiting_for_confirmation", got["status"])
	}
	events := reminders(t, r, due)
	if len(events) != 1 {
		t.Fatalf("%d offer.reminded events, want 1", len(events))
	}

	// The customer's webhook: one offer.expiring, signed, with the
	// reminder's id as webhook-id.
	Eventually(t, 10*time.Second, "the offer.expiring notification", func() bool {
		return len(hook.callsOfType(t, "offer.expiring", due)) == 1
	})
	call := hook.callsOfType(t, "offer.expiring", due)[0]
	hook.VerifyCall(t, secret, call, due)
	hook.mu.Lock()
	id, body := hook.calls[call].Header.Get("webhook-id"), hook.bodies[call]
	hook.mu.Unlock()
	if id != events[0]["id"] {
		t.Errorf("webhook-id %q, want the offer.reminded event's id %v", id, events[0]["id"])
	}
	var note struct {
		Data struct {
			ExpiresAt  *time.Time `json:"expires_at"`
			RemindedAt *time.Time `json:"reminded_at"`
			Message    string
		}
	}
	if err := json.Unmarshal(body, &note); err != nil || note.Data.RemindedAt == nil || !note.Data.RemindedAt.Equal(remindedAt) ||
		note.Data.ExpiresAt == nil || note.Data.Message != "bald fällig" {
		t.Errorf("offer.expiring body %s (%v)", body, err)
	}

	// Both sides hear of it live; the customer's badge counts it again.
	matchReminded := func(ev sseEvent, d map[string]any) bool {
		return offerEvent(due, "")(ev, d) && d["event"] == "offer.reminded"
	}
	resellerStream.next(t, "the reminder on the reseller's stream", matchReminded)
	customerStream.next(t, "the reminder on the customer's stream", matchReminded)
	customerStream.next(t, "the badge at 1", badgeEvent(1))
	head := fmt.Sprint(ts.Head(t))
	var inbox struct{ Items []map[string]any }
	hooked.Must(t, 200, "GET", "/v1/inbox?min_position="+head, nil).Decode(t, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0]["id"] != due || inbox.Items[0]["read"] != false || inbox.Items[0]["reminded_at"] == nil {
		t.Errorf("inbox after the reminder: %v, want the offer unread again, reminded", inbox.Items)
	}
	if b := hooked.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+head, nil).Map(t); b["admin"] != 1.0 || b["updates"] != 1.0 {
		t.Errorf("badge after the reminder: %v, want 1 and 1", b)
	}
	hooked.Must(t, 204, "POST", "/v1/inbox/"+due+"/read", nil)
	customerStream.next(t, "the badge at 0 once read again", badgeEvent(0))

	// Never a second: another offer made due later is reminded, so the
	// process has passed over the first one again meanwhile.
	marker := send(w.SiblingCustomer, clk.Now().Add(100*time.Hour))
	r.WaitStatus(t, marker, "waiting_for_confirmation")
	clk.Advance(30 * time.Hour)
	Eventually(t, 10*time.Second, "the later offer's reminder", func() bool {
		return r.Must(t, 200, "GET", "/v1/offers/"+marker, nil).Map(t)["reminded_at"] != nil
	})
	ts.Settle(t)
	if n := len(reminders(t, r, due)); n != 1 {
		t.Errorf("%d offer.reminded events of the first offer after another pass, want 1", n)
	}
	if n := len(hook.callsOfType(t, "offer.expiring", due)); n != 1 {
		t.Errorf("%d offer.expiring notifications, want 1", n)
	}
	if b := hooked.Must(t, 200, "GET", "/v1/inbox/badge", nil).Map(t); b["admin"] != 0.0 || b["updates"] != 0.0 {
		t.Errorf("badge after another pass: %v, want 0 and 0", b)
	}
	// No deadline, 30 days off (still 29.5 left), decided: never reminded.
	for what, id := range map[string]string{"no deadline": w.Offer, "outside the window": far, "decided": decided} {
		if o := r.Must(t, 200, "GET", "/v1/offers/"+id, nil).Map(t); o["reminded_at"] != nil || len(reminders(t, r, id)) != 0 {
			t.Errorf("offer %s (%s) was reminded: %v", id, what, o)
		}
	}
}
