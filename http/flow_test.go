package http_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFlow drives the whole story of the product through the real router
// and real SQLite files.
func TestFlow(t *testing.T) {
	ts := MustOpenServer(t)

	// The operator creates a reseller and its token.
	_, reseller := ts.NewReseller(t, "Lernwerk GmbH")

	// The reseller builds its catalog, a template with a toggled item, and a
	// customer.
	module := reseller.CreateProduct(t, "Datenschutz Basics", 12, 24)
	course := reseller.Must(t, 201, "POST", "/v1/products", map[string]any{"name": "Führung kompakt", "kind": "course", "license_terms_months": []int{24, 12, 12}}).Map(t)
	if got := course["license_terms_months"]; !jsonEqual(got, []any{12.0, 24.0}) {
		t.Fatalf("terms = %v, want sorted without repeats", got)
	}
	tpl := reseller.CreateTemplate(t, "Onboarding")
	reseller.AddItem(t, tpl, module, 12)
	courseItem := reseller.AddItem(t, tpl, course["id"].(string), 24)
	toggled := reseller.Must(t, 200, "PATCH", "/v1/templates/"+tpl+"/items/"+courseItem, map[string]string{"license_mode": "relative"})
	items := toggled.Map(t)["items"].([]any)
	if items[1].(map[string]any)["license_mode"] != "relative" || items[0].(map[string]any)["license_mode"] != "absolute" {
		t.Fatalf("items after the toggle: %v", items)
	}
	if toggled.Header.Get("ETag") != `"4"` {
		t.Fatalf("ETag after create, two adds and a toggle = %q, want \"4\"", toggled.Header.Get("ETag"))
	}
	customerID, customer := reseller.CreateCustomer(t, "Musterschule")

	// The reseller sends an offer with a message: waiting, then delivered.
	sent := reseller.Must(t, 202, "POST", "/v1/customers/"+customerID+"/offers", map[string]string{"template_id": tpl, "message": "Ihr Angebot"})
	offer := sent.Map(t)
	if offer["status"] != "waiting" || offer["message"] != "Ihr Angebot" || len(offer["items"].([]any)) != 2 {
		t.Fatalf("sent offer: %v", offer)
	}
	offerID := offer["id"].(string)
	delivered := reseller.WaitStatus(t, offerID, "waiting_for_confirmation")
	if delivered["delivered_at"] == nil {
		t.Fatalf("delivered offer lacks delivered_at: %v", delivered)
	}

	// The customer's badge reads 1 on admin and updates; opening clears it.
	badge := customer.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+strconv.FormatUint(ts.Head(t), 10), nil).Map(t)
	if badge["admin"] != 1.0 || badge["updates"] != 1.0 {
		t.Fatalf("badge = %v, want 1 and 1", badge)
	}
	inbox := customer.Must(t, 200, "GET", "/v1/inbox", nil).Map(t)["items"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["reseller_name"] != "Lernwerk GmbH" || inbox[0].(map[string]any)["read"] != false {
		t.Fatalf("inbox = %v", inbox)
	}
	read := customer.Must(t, 204, "POST", "/v1/inbox/"+offerID+"/read", nil)
	again := customer.Must(t, 204, "POST", "/v1/inbox/"+offerID+"/read", "{}")
	if again.Position(t) != read.Position(t) {
		t.Fatalf("a repeated read moved the log: %d then %d", read.Position(t), again.Position(t))
	}
	badge = customer.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+strconv.FormatUint(read.Position(t), 10), nil).Map(t)
	if badge["admin"] != 0.0 || badge["updates"] != 0.0 {
		t.Fatalf("badge after opening = %v, want 0 and 0", badge)
	}
	if opened := reseller.Must(t, 200, "GET", "/v1/offers/"+offerID, nil).Map(t); opened["opened_at"] == nil {
		t.Fatalf("the reseller does not see opened_at: %v", opened)
	}

	// Accepting grants the licenses.
	accepted := customer.Must(t, 200, "POST", "/v1/inbox/"+offerID+"/accept", nil).Map(t)
	if accepted["status"] != "accepted" || accepted["decided_at"] == nil {
		t.Fatalf("accepted offer: %v", accepted)
	}
	var licenses []any
	Eventually(t, 10*time.Second, "the licenses", func() bool {
		licenses = customer.Must(t, 200, "GET", "/v1/licenses", nil).Map(t)["items"].([]any)
		return len(licenses) == 2
	})
	for _, l := range licenses {
		l := l.(map[string]any)
		if l["offer_id"] != offerID {
			t.Fatalf("license of another offer: %v", l)
		}
		switch l["license_mode"] {
		case "absolute":
			if l["valid_until"] == nil || l["term_months"] != 12.0 {
				t.Fatalf("absolute license: %v", l)
			}
		case "relative":
			if l["valid_until"] != nil || l["term_months"] != 24.0 {
				t.Fatalf("relative license: %v", l)
			}
		default:
			t.Fatalf("license: %v", l)
		}
	}

	// A second offer is withdrawn and leaves the unread count.
	second := reseller.SendOffer(t, customerID, tpl, "")
	reseller.WaitStatus(t, second, "waiting_for_confirmation")
	badge = customer.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+strconv.FormatUint(ts.Head(t), 10), nil).Map(t)
	if badge["updates"] != 1.0 {
		t.Fatalf("badge with a second offer = %v", badge)
	}
	wd := reseller.Must(t, 200, "POST", "/v1/offers/"+second+"/withdraw", nil)
	if wd.Map(t)["status"] != "withdrawn" {
		t.Fatalf("withdrawn: %s", wd)
	}
	badge = customer.Must(t, 200, "GET", "/v1/inbox/badge", nil, "X-Min-Position", wd.Header.Get("X-Log-Position")).Map(t)
	if badge["admin"] != 0.0 || badge["updates"] != 0.0 {
		t.Fatalf("badge after the withdrawal = %v", badge)
	}
	if r := customer.Do(t, "POST", "/v1/inbox/"+second+"/accept", nil); r.Status != 409 || r.Code() != "invalid_transition" {
		t.Fatalf("accepting a withdrawn offer: %s", r)
	}

	// A third is rejected with a reason.
	third := reseller.SendOffer(t, customerID, tpl, "")
	reseller.WaitStatus(t, third, "waiting_for_confirmation")
	rejected := customer.Must(t, 200, "POST", "/v1/inbox/"+third+"/reject", map[string]string{"reason": "zu teuer"}).Map(t)
	if rejected["status"] != "rejected" || rejected["rejection_reason"] != "zu teuer" {
		t.Fatalf("rejected: %v", rejected)
	}
	if got := reseller.Must(t, 200, "GET", "/v1/offers/"+third, nil).Map(t); got["rejection_reason"] != "zu teuer" {
		t.Fatalf("the reseller's view of the rejection: %v", got)
	}

	// A fourth goes to a customer whose webhook refuses twice, then accepts;
	// the test holds the accepting answer back to look at the offer first.
	hook := newWebhook(2)
	defer hook.Close()
	hookedID, hooked := reseller.CreateCustomer(t, "Webhook-Schule")
	set := hooked.Must(t, 200, "PUT", "/v1/webhook", map[string]string{"url": hook.URL})
	secret := str(t, set.Map(t), "secret")
	if got := hooked.Must(t, 200, "GET", "/v1/webhook", nil).Map(t); got["url"] != hook.URL || got["secret"] != nil {
		t.Fatalf("GET webhook = %v", got)
	}
	fourth := reseller.SendOffer(t, hookedID, tpl, "per Webhook")
	Eventually(t, 10*time.Second, "the third webhook call", func() bool { return hook.Calls() == 3 })
	// Not yet acknowledged: still waiting and invisible to the customer.
	if got := reseller.Must(t, 200, "GET", "/v1/offers/"+fourth, nil).Map(t); got["status"] != "waiting" {
		t.Fatalf("before the webhook's 2xx the offer is %v", got["status"])
	}
	if r := hooked.Do(t, "POST", "/v1/inbox/"+fourth+"/read", nil); r.Status != 404 {
		t.Fatalf("reading an undelivered offer: %s", r)
	}
	if got := hooked.Must(t, 200, "GET", "/v1/inbox?min_position="+strconv.FormatUint(ts.Head(t), 10), nil).Map(t)["items"].([]any); len(got) != 0 {
		t.Fatalf("an undelivered offer in the inbox: %v", got)
	}
	hook.Release()
	reseller.WaitStatus(t, fourth, "waiting_for_confirmation")
	if hook.Calls() != 3 {
		t.Fatalf("webhook called %d times, want 3", hook.Calls())
	}
	hook.Verify(t, secret, fourth)
	inbox = hooked.Must(t, 200, "GET", "/v1/inbox?min_position="+strconv.FormatUint(ts.Head(t), 10), nil).Map(t)["items"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["id"] != fourth {
		t.Fatalf("hooked inbox = %v", inbox)
	}

	// The history of the first offer is complete, its grant included, and
	// each stream's chain holds.
	hist := reseller.Must(t, 200, "GET", "/v1/offers/"+offerID+"/history", nil).Map(t)["items"].([]any)
	types := []string{}
	prev := map[any]any{}
	for i, e := range hist {
		e := e.(map[string]any)
		types = append(types, e["type"].(string))
		last, seen := prev[e["stream"]]
		if !seen && e["prev_hash"] != nil || seen && e["prev_hash"] != last {
			t.Fatalf("hash chain broken at %d: %v", i, e)
		}
		prev[e["stream"]] = e["hash"]
	}
	want := "offer.created offer.dispatched offer.delivered offer.read offer.accepted licenses.granted"
	if strings.Join(types, " ") != want {
		t.Fatalf("history = %v, want %s", types, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// webhook is a customer's system that refuses the first calls and holds
// its first 2xx answer until Release.
type webhook struct {
	*httptest.Server
	mu      sync.Mutex
	refuse  int
	calls   []*http.Request
	bodies  [][]byte
	release chan struct{}
	once    sync.Once
}

func newWebhook(refuse int) *webhook {
	h := &webhook{refuse: refuse, release: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.calls = append(h.calls, r)
		h.bodies = append(h.bodies, b)
		n := len(h.calls)
		h.mu.Unlock()
		if n <= h.refuse {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return h
}

// Release lets the held answer go.
func (h *webhook) Release() { h.once.Do(func() { close(h.release) }) }

// Close releases any held answer and stops the server.
func (h *webhook) Close() {
	h.Release()
	h.Server.Close()
}

func (h *webhook) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.calls)
}

// Verify checks the signature of the accepted call and that it names offer.
func (h *webhook) Verify(t *testing.T, secret, offer string) {
	t.Helper()
	h.VerifyCall(t, secret, h.Calls()-1, offer)
}

// VerifyCall checks the signature of the i-th call (from 0) and that it
// names offer.
func (h *webhook) VerifyCall(t *testing.T, secret string, i int, offer string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	r, body := h.calls[i], h.bodies[i]
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q is not a Standard Webhooks secret", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !strings.Contains(" "+sig+" ", " "+want+" ") {
		t.Fatalf("webhook-signature %q, want %q (id %q, timestamp %q)", sig, want, id, ts)
	}
	if !strings.Contains(string(body), offer) {
		t.Fatalf("notification does not name offer %s: %s", offer, body)
	}
}
