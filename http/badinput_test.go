package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
)

// TestBadInput tries bad input on every route: malformed JSON, unknown
// fields, wrong types, huge bodies, overlong text, invalid ids and illegal
// transitions. Each gets its documented status and code, and nothing is
// written to the log.
func TestBadInput(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r, c := w.ResellerC, w.CustomerC

	archived := r.CreateTemplate(t, "Archived")
	r.AddItem(t, archived, w.Product, 12)
	r.Must(t, 204, "DELETE", "/v1/templates/"+archived, nil)
	empty := r.CreateTemplate(t, "Empty")
	accepted := r.SendOffer(t, w.Customer, w.Template, "")
	rejected := r.SendOffer(t, w.Customer, w.Template, "")
	r.WaitStatus(t, accepted, "waiting_for_confirmation")
	r.WaitStatus(t, rejected, "waiting_for_confirmation")
	c.Must(t, 200, "POST", "/v1/inbox/"+accepted+"/accept", nil)
	c.Must(t, 200, "POST", "/v1/inbox/"+rejected+"/reject", nil)
	revoked := ts.NewToken(t, "customer", w.Customer)
	w.Operator.Must(t, 204, "POST", "/v1/tokens/revoke", map[string]string{"token": revoked.Token})
	ts.Settle(t)

	const unknown = "01a00000-0000-7000-8000-000000000000"
	huge := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	long := strings.Repeat("ü", 2001)
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	tpl, item, offer, cust := w.Template, w.Item, w.Offer, w.Customer

	type tc struct {
		name         string
		c            Client
		method, path string
		body         any
		header       []string
		status       int
		code, field  string
	}
	cases := []tc{
		// The order of checks: 401, 403, 413, 400, 404, 422, 412, 409.
		{"401 before 403", w.BadToken, "POST", "/v1/resellers", huge, nil, 401, "unauthenticated", ""},
		{"403 before 413", c, "POST", "/v1/products", huge, nil, 403, "forbidden", ""},
		{"413 before 400", r, "POST", "/v1/customers/" + unknown + "/offers", strings.Repeat("{", 1<<20+1), nil, 413, "body_too_large", ""},
		{"400 before 404", r, "POST", "/v1/customers/" + unknown + "/offers", `{"template_id":`, nil, 400, "malformed", ""},
		{"404 before 422", r, "POST", "/v1/customers/" + unknown + "/offers", `{"template_id":7}`, nil, 404, "not_found", ""},
		{"404 before 422 (items)", r, "POST", "/v1/templates/" + unknown + "/items", `{"term_months":"x"}`, nil, 404, "not_found", ""},
		{"404 before 422 (item mode)", r, "PATCH", "/v1/templates/" + tpl + "/items/" + unknown, `{"license_mode":5}`, nil, 404, "not_found", ""},
		{"404 before 422 (reject)", c, "POST", "/v1/inbox/" + w.SiblingOffer + "/reject", `{"reason":5}`, nil, 404, "not_found", ""},
		{"404 before 422 (as_of_version)", r, "GET", "/v1/offers/" + unknown + "?as_of_version=0", nil, nil, 404, "not_found", ""},
		{"404 before 422 (another reseller's offer, as_of)", r, "GET", "/v1/offers/" + w.ForeignOffer + "?as_of=yesterday", nil, nil, 404, "not_found", ""},
		{"404 before 422 (offer, min_position)", r, "GET", "/v1/offers/" + unknown + "?min_position=x", nil, nil, 404, "not_found", ""},
		{"404 before 422 (history limit)", c, "GET", "/v1/offers/" + w.SiblingOffer + "/history?limit=0", nil, nil, 404, "not_found", ""},
		{"404 before 422 (customer limit)", r, "GET", "/v1/customers/" + w.ForeignCustomer + "?limit=501", nil, nil, 404, "not_found", ""},
		{"404 before 422 (product min_position)", r, "GET", "/v1/products/" + unknown + "?min_position=-1", nil, nil, 404, "not_found", ""},
		{"404 before 422 (template min_position)", r, "GET", "/v1/templates/" + unknown + "?min_position=-1", nil, nil, 404, "not_found", ""},
		{"404 before 422 (revise expires_at)", r, "POST", "/v1/offers/" + w.ForeignOffer + "/revise", `{"expires_at":"soon"}`, nil, 404, "not_found", ""},
		{"404 before 422 (offer to a foreign customer, expires_at)", r, "POST", "/v1/customers/" + w.ForeignCustomer + "/offers", `{"template_id":"` + tpl + `","expires_at":"soon"}`, nil, 404, "not_found", ""},
		{"404 before 422 (campaign min_position)", r, "GET", "/v1/campaigns/" + unknown + "?min_position=x", nil, nil, 404, "not_found", ""},
		{"404 before 422 (proof size)", r, "GET", "/v1/offers/" + w.ForeignOffer + "/proof?size=0", nil, nil, 404, "not_found", ""},
		{"400 before 404 (erase)", r, "POST", "/v1/customers/" + unknown + "/erase", `{"now":true}`, nil, 400, "malformed", "now"},
		{"400 before 404 (customer cursor)", r, "GET", "/v1/customers/" + unknown + "?cursor=nope", nil, nil, 400, "malformed", ""},
		{"400 before 404 (history cursor)", r, "GET", "/v1/offers/" + unknown + "/history?limit=0&cursor=nope", nil, nil, 400, "malformed", ""},
		{"422 once found (history limit)", c, "GET", "/v1/offers/" + offer + "/history?limit=0", nil, nil, 422, "validation_failed", "limit"},
		{"422 once found (customer limit)", r, "GET", "/v1/customers/" + cust + "?limit=0", nil, nil, 422, "validation_failed", "limit"},
		{"422 once found (template min_position)", r, "GET", "/v1/templates/" + tpl + "?min_position=x", nil, nil, 422, "validation_failed", "min_position"},
		{"422 before 412", r, "PATCH", "/v1/templates/" + tpl + "/items/" + item, `{"license_mode":"sideways"}`, []string{"If-Match", `"1"`}, 422, "validation_failed", "license_mode"},
		{"412 before 409", r, "POST", "/v1/offers/" + accepted + "/withdraw", nil, []string{"If-Match", `"1"`}, 412, "version_conflict", ""},

		// Operator.
		{"reseller malformed", w.Operator, "POST", "/v1/resellers", `{"name":"x"`, nil, 400, "malformed", ""},
		{"reseller trailing data", w.Operator, "POST", "/v1/resellers", `{"name":"x"} {"name":"y"}`, nil, 400, "malformed", ""},
		{"reseller unknown field", w.Operator, "POST", "/v1/resellers", `{"name":"x","id":"mine"}`, nil, 400, "malformed", "id"},
		{"reseller wrong type", w.Operator, "POST", "/v1/resellers", `{"name":["x"]}`, nil, 422, "validation_failed", "name"},
		{"reseller no name", w.Operator, "POST", "/v1/resellers", `{}`, nil, 422, "validation_failed", "name"},
		{"reseller huge", w.Operator, "POST", "/v1/resellers", huge, nil, 413, "body_too_large", ""},
		{"token bad role", w.Operator, "POST", "/v1/tokens", `{"role":"king","tenant":"x"}`, nil, 422, "validation_failed", "role"},
		{"token system role", w.Operator, "POST", "/v1/tokens", `{"role":"system","tenant":"*"}`, nil, 422, "validation_failed", "role"},
		{"token unknown tenant", w.Operator, "POST", "/v1/tokens", `{"role":"reseller","tenant":"` + unknown + `"}`, nil, 422, "validation_failed", "tenant"},
		{"token customer as reseller", w.Operator, "POST", "/v1/tokens", `{"role":"reseller","tenant":"` + cust + `"}`, nil, 422, "validation_failed", "tenant"},
		{"token no tenant", w.Operator, "POST", "/v1/tokens", `{"role":"customer"}`, nil, 422, "validation_failed", "tenant"},
		{"token wrong type", w.Operator, "POST", "/v1/tokens", `{"role":"customer","tenant":1}`, nil, 422, "validation_failed", "tenant"},
		{"revoke malformed", w.Operator, "POST", "/v1/tokens/revoke", `{"token":`, nil, 400, "malformed", ""},
		{"revoke unknown field", w.Operator, "POST", "/v1/tokens/revoke", `{"token":"ofr_x","role":"customer"}`, nil, 400, "malformed", "role"},
		{"revoke huge", w.Operator, "POST", "/v1/tokens/revoke", huge, nil, 413, "body_too_large", ""},
		{"revoke nothing named", w.Operator, "POST", "/v1/tokens/revoke", `{}`, nil, 422, "validation_failed", "token"},
		{"revoke empty token", w.Operator, "POST", "/v1/tokens/revoke", `{"token":""}`, nil, 422, "validation_failed", "token"},
		{"revoke token wrong type", w.Operator, "POST", "/v1/tokens/revoke", `{"token":5}`, nil, 422, "validation_failed", "token"},
		{"revoke token and hash", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token": c.Token, "token_hash": ofhttp.HashToken(c.Token)}, nil, 422, "validation_failed", "token_hash"},
		{"revoke unknown token", w.Operator, "POST", "/v1/tokens/revoke", `{"token":"ofr_never-issued"}`, nil, 422, "validation_failed", "token"},
		{"revoke hash not hex", w.Operator, "POST", "/v1/tokens/revoke", `{"token_hash":"token-` + ofhttp.HashToken(c.Token)[6:] + `"}`, nil, 422, "validation_failed", "token_hash"},
		{"revoke hash upper case", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token_hash": strings.ToUpper(ofhttp.HashToken(c.Token))}, nil, 422, "validation_failed", "token_hash"},
		{"revoke unknown hash", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token_hash": strings.Repeat("0", 64)}, nil, 422, "validation_failed", "token_hash"},
		{"revoke twice", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token": revoked.Token}, nil, 409, "invalid_transition", ""},
		{"revoke twice by hash", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token_hash": ofhttp.HashToken(revoked.Token)}, nil, 409, "invalid_transition", ""},
		{"revoke the operator token", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token": operatorToken}, nil, 409, "invalid_transition", ""},
		{"revoke the operator token by hash", w.Operator, "POST", "/v1/tokens/revoke", map[string]string{"token_hash": ofhttp.HashToken(operatorToken)}, nil, 409, "invalid_transition", ""},
		{"revoke own operator token", w.Operator, "DELETE", "/v1/tokens/self", nil, nil, 409, "invalid_transition", ""},
		{"revoke own with a body field", c, "DELETE", "/v1/tokens/self", `{"all":true}`, nil, 400, "malformed", "all"},
		{"revoke own huge", c, "DELETE", "/v1/tokens/self", huge, nil, 413, "body_too_large", ""},
		{"revoke own revoked", revoked, "DELETE", "/v1/tokens/self", nil, nil, 401, "unauthenticated", ""},

		// Products.
		{"product unknown field", r, "POST", "/v1/products", `{"name":"x","kind":"module","license_terms_months":[12],"price":1}`, nil, 400, "malformed", "price"},
		{"product bad kind", r, "POST", "/v1/products", `{"name":"x","kind":"book","license_terms_months":[12]}`, nil, 422, "validation_failed", "kind"},
		{"product no terms", r, "POST", "/v1/products", `{"name":"x","kind":"module","license_terms_months":[]}`, nil, 422, "validation_failed", "license_terms_months"},
		{"product term out of range", r, "POST", "/v1/products", `{"name":"x","kind":"module","license_terms_months":[0]}`, nil, 422, "validation_failed", "license_terms_months"},
		{"product terms wrong type", r, "POST", "/v1/products", `{"name":"x","kind":"module","license_terms_months":"12"}`, nil, 422, "validation_failed", "license_terms_months"},
		{"product name too long", r, "POST", "/v1/products", map[string]any{"name": strings.Repeat("n", 201), "kind": "module", "license_terms_months": []int{12}}, nil, 422, "validation_failed", "name"},
		{"product blank name", r, "POST", "/v1/products", `{"name":"   ","kind":"module","license_terms_months":[12]}`, nil, 422, "validation_failed", "name"},
		{"product unknown id", r, "GET", "/v1/products/" + unknown, nil, nil, 404, "not_found", ""},
		{"product invalid id", r, "GET", "/v1/products/..%2f..%2fetc", nil, nil, 404, "not_found", ""},
		{"products limit 0", r, "GET", "/v1/products?limit=0", nil, nil, 422, "validation_failed", "limit"},
		{"products limit 501", r, "GET", "/v1/products?limit=501", nil, nil, 422, "validation_failed", "limit"},
		{"products limit text", r, "GET", "/v1/products?limit=ten", nil, nil, 422, "validation_failed", "limit"},
		{"products bad cursor", r, "GET", "/v1/products?cursor=garbage", nil, nil, 400, "malformed", ""},
		{"products bad min_position", r, "GET", "/v1/products?min_position=-1", nil, nil, 422, "validation_failed", "min_position"},

		// Templates.
		{"template wrong type", r, "POST", "/v1/templates", `{"name":true}`, nil, 422, "validation_failed", "name"},
		{"templates bad include_archived", r, "GET", "/v1/templates?include_archived=maybe", nil, nil, 422, "validation_failed", "include_archived"},
		{"templates bad cursor", r, "GET", "/v1/templates?cursor=Zm9v", nil, nil, 400, "malformed", ""},
		{"template unknown", r, "GET", "/v1/templates/" + unknown, nil, nil, 404, "not_found", ""},
		{"item unknown product", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + unknown + `","term_months":12}`, nil, 422, "validation_failed", "product_id"},
		{"item other reseller's product", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.OtherResellerC.CreateProduct(t, "Theirs", 12) + `","term_months":12}`, nil, 422, "validation_failed", "product_id"},
		{"item term not sold", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":36}`, nil, 422, "validation_failed", "term_months"},
		{"item bad mode", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":12,"license_mode":"forever"}`, nil, 422, "validation_failed", "license_mode"},
		{"item zero seats", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":12,"seats":0}`, nil, 422, "validation_failed", "seats"},
		{"item fractional seats", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":12,"seats":1.5}`, nil, 422, "validation_failed", "seats"},
		{"item same product and term", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":12}`, nil, 422, "validation_failed", "product_id"},
		{"item unknown field", r, "POST", "/v1/templates/" + tpl + "/items", `{"product_id":"` + w.Product + `","term_months":12,"price":3}`, nil, 400, "malformed", "price"},
		{"item on archived template", r, "POST", "/v1/templates/" + archived + "/items", `{"product_id":"` + w.Product + `","term_months":24}`, nil, 409, "invalid_transition", ""},
		{"item mode missing", r, "PATCH", "/v1/templates/" + tpl + "/items/" + item, `{}`, nil, 422, "validation_failed", "license_mode"},
		{"item mode unknown item", r, "PATCH", "/v1/templates/" + tpl + "/items/" + unknown, `{"license_mode":"relative"}`, nil, 404, "not_found", ""},
		{"item remove unknown", r, "DELETE", "/v1/templates/" + tpl + "/items/" + unknown, nil, nil, 404, "not_found", ""},
		{"item remove with body field", r, "DELETE", "/v1/templates/" + tpl + "/items/" + item, `{"force":true}`, nil, 400, "malformed", "force"},
		{"archive twice", r, "DELETE", "/v1/templates/" + archived, nil, nil, 409, "invalid_transition", ""},
		{"archive unknown", r, "DELETE", "/v1/templates/" + unknown, nil, nil, 404, "not_found", ""},
		{"archive stale If-Match", r, "DELETE", "/v1/templates/" + tpl, nil, []string{"If-Match", `"1"`}, 412, "version_conflict", ""},

		// Customers and offers.
		{"customer ref too long", r, "POST", "/v1/customers", map[string]string{"name": "x", "external_ref": strings.Repeat("r", 201)}, nil, 422, "validation_failed", "external_ref"},
		{"customer unknown", r, "GET", "/v1/customers/" + unknown, nil, nil, 404, "not_found", ""},
		{"customer other reseller's", r, "GET", "/v1/customers/" + w.ForeignCustomer, nil, nil, 404, "not_found", ""},
		{"offer to other reseller's customer", r, "POST", "/v1/customers/" + w.ForeignCustomer + "/offers", map[string]string{"template_id": tpl}, nil, 404, "not_found", ""},
		{"offer message too long", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": tpl, "message": long}, nil, 422, "validation_failed", "message"},
		{"offer no template", r, "POST", "/v1/customers/" + cust + "/offers", `{}`, nil, 422, "validation_failed", "template_id"},
		{"offer unknown template", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": unknown}, nil, 422, "validation_failed", "template_id"},
		{"offer empty template", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": empty}, nil, 422, "validation_failed", "template_id"},
		{"offer archived template", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": archived}, nil, 422, "validation_failed", "template_id"},
		{"offer expiry past", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": tpl, "expires_at": "2001-01-01T00:00:00Z"}, nil, 422, "validation_failed", "expires_at"},
		{"offer expiry too far", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": tpl, "expires_at": time.Now().Add(400 * 24 * time.Hour).UTC().Format(time.RFC3339)}, nil, 422, "validation_failed", "expires_at"},
		{"offer expiry not a time", r, "POST", "/v1/customers/" + cust + "/offers", map[string]string{"template_id": tpl, "expires_at": "tomorrow"}, nil, 422, "validation_failed", "expires_at"},
		{"offer expiry wrong type", r, "POST", "/v1/customers/" + cust + "/offers", map[string]any{"template_id": tpl, "expires_at": 12}, nil, 422, "validation_failed", "expires_at"},
		{"offer unknown field", r, "POST", "/v1/customers/" + cust + "/offers", map[string]any{"template_id": tpl, "expires_at": future, "discount": 10}, nil, 400, "malformed", "discount"},
		{"offers bad status", r, "GET", "/v1/offers?status=lost", nil, nil, 422, "validation_failed", "status"},
		{"offers bad cursor", r, "GET", "/v1/offers?cursor=%00", nil, nil, 400, "malformed", ""},
		{"offer unknown", r, "GET", "/v1/offers/" + unknown, nil, nil, 404, "not_found", ""},
		{"offer as_of_version 0", r, "GET", "/v1/offers/" + offer + "?as_of_version=0", nil, nil, 422, "validation_failed", "as_of_version"},
		{"offer as_of bad", r, "GET", "/v1/offers/" + offer + "?as_of=yesterday", nil, nil, 422, "validation_failed", "as_of"},
		{"offer as_of before it existed", r, "GET", "/v1/offers/" + offer + "?as_of=2001-01-01T00:00:00Z", nil, nil, 404, "not_found", ""},
		{"withdraw accepted", r, "POST", "/v1/offers/" + accepted + "/withdraw", nil, nil, 409, "invalid_transition", ""},
		{"withdraw with a body", r, "POST", "/v1/offers/" + accepted + "/withdraw", `{"now":true}`, nil, 400, "malformed", "now"},
		{"withdraw unknown", r, "POST", "/v1/offers/" + unknown + "/withdraw", nil, nil, 404, "not_found", ""},
		{"withdraw huge", r, "POST", "/v1/offers/" + offer + "/withdraw", huge, nil, 413, "body_too_large", ""},
		{"redeliver delivered", r, "POST", "/v1/offers/" + offer + "/redeliver", nil, nil, 409, "invalid_transition", ""},
		{"history unknown", r, "GET", "/v1/offers/" + unknown + "/history", nil, nil, 404, "not_found", ""},
		{"history bad cursor", r, "GET", "/v1/offers/" + offer + "/history?cursor=nope", nil, nil, 400, "malformed", ""},
		{"audit bad after", r, "GET", "/v1/audit/events?after=x", nil, nil, 422, "validation_failed", "after"},
		{"audit bad limit", r, "GET", "/v1/audit/events?limit=1000", nil, nil, 422, "validation_failed", "limit"},

		// Customer.
		{"inbox bad limit", c, "GET", "/v1/inbox?limit=-5", nil, nil, 422, "validation_failed", "limit"},
		{"inbox bad cursor", c, "GET", "/v1/inbox?cursor=abc", nil, nil, 400, "malformed", ""},
		{"read unknown", c, "POST", "/v1/inbox/" + unknown + "/read", nil, nil, 404, "not_found", ""},
		{"read malformed", c, "POST", "/v1/inbox/" + offer + "/read", `{`, nil, 400, "malformed", ""},
		{"accept rejected", c, "POST", "/v1/inbox/" + rejected + "/accept", nil, nil, 409, "invalid_transition", ""},
		{"accept array body", c, "POST", "/v1/inbox/" + offer + "/accept", `[]`, nil, 400, "malformed", ""},
		{"reject accepted", c, "POST", "/v1/inbox/" + accepted + "/reject", nil, nil, 409, "invalid_transition", ""},
		{"reject reason too long", c, "POST", "/v1/inbox/" + offer + "/reject", map[string]string{"reason": long}, nil, 422, "validation_failed", "reason"},
		{"reject reason wrong type", c, "POST", "/v1/inbox/" + offer + "/reject", `{"reason":{"text":"x"}}`, nil, 422, "validation_failed", "reason"},
		{"licenses bad limit", c, "GET", "/v1/licenses?limit=0", nil, nil, 422, "validation_failed", "limit"},
		{"webhook bad scheme", c, "PUT", "/v1/webhook", map[string]string{"url": "ftp://example.com/x"}, nil, 422, "validation_failed", "url"},
		{"webhook not a url", c, "PUT", "/v1/webhook", map[string]string{"url": "example"}, nil, 422, "validation_failed", "url"},
		{"webhook missing url", c, "PUT", "/v1/webhook", `{}`, nil, 422, "validation_failed", "url"},
		{"webhook unknown field", c, "PUT", "/v1/webhook", `{"url":"https://example.com","secret":"mine"}`, nil, 400, "malformed", "secret"},
		{"webhook none set", c, "GET", "/v1/webhook", nil, nil, 404, "not_found", ""},
		{"webhook delete none set", c, "DELETE", "/v1/webhook", nil, nil, 404, "not_found", ""},
		{"badge bad min_position", c, "GET", "/v1/inbox/badge?min_position=abc", nil, nil, 422, "validation_failed", "min_position"},
		{"stream bad Last-Event-ID", c, "GET", "/v1/stream", nil, []string{"Last-Event-ID", "yesterday"}, 400, "malformed", ""},

		// Idempotency-Key itself.
		{"idempotency key too long", r, "POST", "/v1/templates", map[string]string{"name": "x"}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 422, "validation_failed", "Idempotency-Key"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Head(t)
			got := tt.c.Do(t, tt.method, tt.path, tt.body, tt.header...)
			if got.Status != tt.status || got.Code() != tt.code {
				t.Fatalf("got %.300s, want %d %s", got, tt.status, tt.code)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.field != "" {
				var p struct{ Field, Detail string }
				got.Decode(t, &p)
				if p.Field != tt.field || p.Detail == "" {
					t.Errorf("field %q (detail %q), want %q", p.Field, p.Detail, tt.field)
				}
			}
			if wrote := ts.Wrote(t, before, got); len(wrote) > 0 {
				t.Errorf("wrote %v", wrote)
			}
			if after := ts.Head(t); after != before {
				t.Errorf("the log moved from %d to %d", before, after)
			}
		})
	}
}

// TestBadInput_ChunkedHugeBody sends a body of unknown length over the cap:
// 413 all the same, and nothing written.
func TestBadInput_ChunkedHugeBody(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	before := ts.Head(t)
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"name":"`))
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 20 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	// A body of unknown length goes out with Transfer-Encoding: chunked.
	req, err := http.NewRequest("POST", ts.URL()+"/v1/templates", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "body_too_large") {
		t.Fatalf("got %d %s, want 413 body_too_large", resp.StatusCode, b)
	}
	if after := ts.Head(t); after != before {
		t.Fatalf("the log moved from %d to %d", before, after)
	}
}
