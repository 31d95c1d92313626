package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// caller names, in the order each row runs them: the owner of the row's
// resources goes last, so that a command that succeeds for it has not yet
// changed what the others are refused.
var callers = []string{"none", "bad", "operator", "resellerB", "auditorB", "auditor", "auditorAll", "foreign", "sibling", "customer", "resellerA"}

// TestAuthorization runs every route against tokens of the own tenant,
// another tenant of the same reseller, a customer of another reseller, each
// other role, a bad token and no token, and asserts the exact status of
// each. A refused call writes nothing, and no caller sees another tenant's
// resources.
func TestAuthorization(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r := w.ResellerC

	// Resources the successful calls use up, one per row.
	product2 := r.CreateProduct(t, "Module Z", 12)
	item2 := r.AddItem(t, w.Template, product2, 12)
	archivable := r.CreateTemplate(t, "Archivable")
	withdrawable := r.SendOffer(t, w.Customer, w.Template, "withdraw me")
	acceptable := r.SendOffer(t, w.Customer, w.Template, "accept me")
	rejectable := r.SendOffer(t, w.Customer, w.Template, "reject me")
	campaign := str(t, r.Must(t, 202, "POST", "/v1/campaigns", map[string]any{"template_id": w.Template, "customer_ids": []string{w.SiblingCustomer}}).Map(t), "id")
	revisable := r.SendOffer(t, w.Customer, w.Template, "revise me")
	for _, o := range []string{withdrawable, acceptable, rejectable} {
		r.WaitStatus(t, o, "waiting_for_confirmation")
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer failing.Close()
	erasable, _ := r.CreateCustomer(t, "Erasable")
	failingID, failingCustomer := r.CreateCustomer(t, "Failing")
	failingCustomer.Must(t, 200, "PUT", "/v1/webhook", map[string]string{"url": failing.URL})
	failedOffer := r.SendOffer(t, failingID, w.Template, "will fail")
	r.WaitStatus(t, failedOffer, "delivery_failed")
	accepting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer accepting.Close()

	clients := map[string]Client{
		"none": w.NoToken, "bad": w.BadToken, "operator": w.Operator,
		"resellerA": w.ResellerC, "resellerB": w.OtherResellerC,
		"customer": w.CustomerC, "sibling": w.SiblingCustomerC, "foreign": w.ForeignCustomerC,
		"auditor": w.Auditor, "auditorAll": w.AuditorAll, "auditorB": w.OtherAuditor,
	}
	// What each caller must never see: the ids of tenants that are not its.
	aIDs := []string{w.Product, w.Template, w.Customer, w.Offer, w.SiblingCustomer, w.SiblingOffer}
	secrets := map[string][]string{
		"none": aIDs, "bad": aIDs, "resellerB": aIDs, "auditorB": aIDs,
		"sibling": {w.Customer, w.Offer}, "foreign": append(aIDs, w.Item),
		"customer": {w.SiblingOffer, w.ForeignOffer, w.ForeignCustomer},
	}

	type row struct {
		method, path string
		body         any
		ok           map[string]int // callers whose role may call the route
	}
	reseller := func(own, other int) map[string]int { return map[string]int{"resellerA": own, "resellerB": other} }
	customers := func(own, sibling, foreign int) map[string]int {
		return map[string]int{"customer": own, "sibling": sibling, "foreign": foreign}
	}
	// Tokens of their own for the callers of DELETE /v1/tokens/self, which
	// revokes the token it is called with; the operator's is the one of the
	// command line, which cannot be revoked (409).
	revocable := ts.NewToken(t, "customer", w.SiblingCustomer)
	self := map[string]Client{
		"resellerA": ts.NewToken(t, "reseller", w.Reseller), "resellerB": ts.NewToken(t, "reseller", w.OtherReseller),
		"customer": ts.NewToken(t, "customer", w.Customer), "sibling": ts.NewToken(t, "customer", w.SiblingCustomer),
		"foreign": ts.NewToken(t, "customer", w.ForeignCustomer), "auditor": ts.NewToken(t, "auditor", w.Reseller),
		"auditorAll": ts.NewToken(t, "auditor", "*"), "auditorB": ts.NewToken(t, "auditor", w.OtherReseller),
	}
	// own replaces the callers' clients on the routes that use up the
	// caller's own token.
	own := map[string]map[string]Client{"/v1/tokens/self": self}
	selfOK := map[string]int{"operator": 409}
	for name := range self {
		selfOK[name] = 204
	}

	rows := []row{
		{"POST", "/v1/resellers", map[string]string{"name": "New reseller"}, map[string]int{"operator": 201}},
		{"POST", "/v1/tokens", map[string]string{"role": "reseller", "tenant": w.Reseller}, map[string]int{"operator": 201}},
		{"POST", "/v1/tokens/revoke", map[string]string{"token": revocable.Token}, map[string]int{"operator": 204}},
		{"DELETE", "/v1/tokens/self", nil, selfOK},

		{"POST", "/v1/products", map[string]any{"name": "P", "kind": "course", "license_terms_months": []int{6}}, reseller(201, 201)},
		{"GET", "/v1/products", nil, reseller(200, 200)},
		{"GET", "/v1/products/" + w.Product, nil, reseller(200, 404)},
		{"POST", "/v1/templates", map[string]string{"name": "T"}, reseller(201, 201)},
		{"GET", "/v1/templates", nil, reseller(200, 200)},
		{"GET", "/v1/templates/" + w.Template, nil, reseller(200, 404)},
		{"POST", "/v1/templates/" + w.Template + "/items", map[string]any{"product_id": w.Product, "term_months": 24}, reseller(201, 404)},
		{"PATCH", "/v1/templates/" + w.Template + "/items/" + w.Item, map[string]string{"license_mode": "relative"}, reseller(200, 404)},
		{"DELETE", "/v1/templates/" + w.Template + "/items/" + item2, nil, reseller(200, 404)},
		{"DELETE", "/v1/templates/" + archivable, nil, reseller(204, 404)},
		{"POST", "/v1/customers", map[string]string{"name": "C"}, reseller(201, 201)},
		{"GET", "/v1/customers", nil, reseller(200, 200)},
		{"GET", "/v1/customers/" + w.Customer, nil, reseller(200, 404)},
		{"POST", "/v1/customers/" + w.Customer + "/offers", map[string]string{"template_id": w.Template}, reseller(202, 404)},
		{"POST", "/v1/customers/" + erasable + "/erase", nil, map[string]int{"resellerA": 200, "resellerB": 404, "operator": 200}},

		{"POST", "/v1/campaigns", map[string]any{"template_id": w.Template, "customer_ids": []string{w.Customer}}, reseller(202, 422)},
		{"GET", "/v1/campaigns", nil, reseller(200, 200)},
		{"GET", "/v1/campaigns/" + campaign, nil, reseller(200, 404)},
		{"GET", "/v1/reports/offers", nil, reseller(200, 200)},
		{"GET", "/v1/reports/offers/charts/statuses", nil, reseller(200, 200)},

		{"GET", "/v1/offers", nil, map[string]int{"resellerA": 200, "resellerB": 200, "auditor": 200, "auditorAll": 200, "auditorB": 200}},
		{"GET", "/v1/offers/" + w.Offer, nil, map[string]int{"resellerA": 200, "resellerB": 404, "auditor": 200, "auditorAll": 200, "auditorB": 404}},
		{"POST", "/v1/offers/" + withdrawable + "/withdraw", nil, reseller(200, 404)},
		{"POST", "/v1/offers/" + failedOffer + "/redeliver", nil, reseller(200, 404)},
		{"POST", "/v1/offers/" + revisable + "/revise", map[string]string{"message": "revised"}, reseller(202, 404)},
		{"GET", "/v1/offers/" + w.Offer + "/history", nil, map[string]int{"resellerA": 200, "resellerB": 404,
			"customer": 200, "sibling": 404, "foreign": 404, "auditor": 200, "auditorAll": 200, "auditorB": 404}},
		{"GET", "/v1/audit/events", nil, map[string]int{"resellerA": 200, "resellerB": 200,
			"customer": 200, "sibling": 200, "foreign": 200, "auditor": 200, "auditorAll": 200, "auditorB": 200}},
		{"GET", "/v1/offers/" + w.Offer + "/proof", nil, map[string]int{"resellerA": 200, "resellerB": 404,
			"customer": 200, "sibling": 404, "foreign": 404, "auditor": 200, "auditorAll": 200, "auditorB": 404}},
		{"GET", "/v1/audit/head", nil, map[string]int{"auditor": 200, "auditorAll": 200, "auditorB": 200}},
		{"GET", "/v1/audit/consistency?from=1&to=2", nil, map[string]int{"auditor": 200, "auditorAll": 200, "auditorB": 200}},
		{"GET", "/v1/audit/key", nil, map[string]int{"operator": 200, "resellerA": 200, "resellerB": 200,
			"customer": 200, "sibling": 200, "foreign": 200, "auditor": 200, "auditorAll": 200, "auditorB": 200}},

		{"GET", "/v1/inbox", nil, customers(200, 200, 200)},
		{"GET", "/v1/inbox/badge", nil, customers(200, 200, 200)},
		{"POST", "/v1/inbox/" + w.Offer + "/read", nil, customers(204, 404, 404)},
		{"POST", "/v1/inbox/" + acceptable + "/accept", nil, customers(200, 404, 404)},
		{"POST", "/v1/inbox/" + rejectable + "/reject", map[string]string{"reason": "no"}, customers(200, 404, 404)},
		{"GET", "/v1/licenses", nil, customers(200, 200, 200)},
		{"PUT", "/v1/webhook", map[string]string{"url": accepting.URL}, customers(200, 200, 200)},
		{"GET", "/v1/webhook", nil, customers(200, 200, 200)},
		{"DELETE", "/v1/webhook", nil, customers(204, 204, 204)},

		{"GET", "/v1/stream", nil, map[string]int{"resellerA": 200, "resellerB": 200, "customer": 200, "sibling": 200, "foreign": 200}},
	}

	covered := map[string]bool{}
	for _, rw := range rows {
		covered[rw.method+" "+routeOf(rw.path)] = true
		t.Run(rw.method+" "+routeOf(rw.path), func(t *testing.T) {
			for _, name := range callers {
				want, allowed := rw.ok[name]
				switch {
				case name == "none" || name == "bad":
					want = 401
				case !allowed:
					want = 403
				}
				before := ts.Head(t)
				client := clients[name]
				if c, ok := own[rw.path][name]; ok {
					client = c
				}
				var got Response
				if rw.path == "/v1/stream" {
					got = streamStatus(t, client)
				} else {
					got = client.Do(t, rw.method, rw.path, rw.body)
				}
				if got.Status != want {
					t.Errorf("%s: got %s, want %d", name, got, want)
					continue
				}
				if _, ownToken := own[rw.path][name]; ownToken && want < 300 {
					if again := client.Do(t, rw.method, rw.path, rw.body); again.Status != 401 {
						t.Errorf("%s: its token still works after %s %s: %s", name, rw.method, rw.path, again)
					}
				}
				if want < 300 && rw.method != "GET" {
					if got.Header.Get("X-Log-Position") == "" || (!strings.HasPrefix(rw.path, "/v1/tokens") && got.Header.Get("ETag") == "") {
						t.Errorf("%s: a command answered without X-Log-Position or ETag: %v", name, got.Header)
					}
				}
				if want >= 400 {
					wantCode := map[int]string{401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "invalid_transition", 422: "validation_failed"}[want]
					if got.Code() != wantCode {
						t.Errorf("%s: code %q, want %q", name, got.Code(), wantCode)
					}
					if wrote := ts.Wrote(t, before, got); len(wrote) > 0 {
						t.Errorf("%s: a refused call wrote %v", name, wrote)
					}
				}
				if !strings.HasPrefix(rw.path, "/v1/tokens") && !strings.HasPrefix(rw.path, "/v1/resellers") {
					for _, id := range secrets[name] {
						if strings.Contains(string(got.Body), id) {
							t.Errorf("%s sees %s in %s", name, id, got)
						}
					}
				}
			}
		})
	}
	// Every authenticated route of the API is in the table.
	for _, rt := range apiRoutes(t, ts) {
		if !covered[rt] {
			t.Errorf("route %s is not in the authorization table", rt)
		}
	}
}

// routeOf turns a concrete path back into its route pattern.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i >= 1 && parts[i-1] == "charts" {
			parts[i] = "{chart}"
			continue
		}
		if i >= 3 && len(p) >= 32 { // ids are UUIDs
			switch parts[i-1] {
			case "items":
				parts[i] = "{item_id}"
			case "inbox":
				parts[i] = "{offer_id}"
			default:
				parts[i] = "{id}"
			}
		}
	}
	return strings.Join(parts, "/")
}

// streamStatus opens /v1/stream, reads the status and closes it.
func streamStatus(tb testing.TB, c Client) Response {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.ts.URL()+"/v1/stream", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("X-Request-ID", newRequestID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := Response{Status: resp.StatusCode, Header: resp.Header, RequestID: req.Header.Get("X-Request-ID")}
	if resp.StatusCode != 200 {
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		out.Body = b[:n]
	}
	c.ts.spec.check(tb, req, out)
	return out
}
