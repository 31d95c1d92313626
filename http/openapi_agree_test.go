package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	ofhttp "github.com/offerflow/offerflow/http"
)

// validRequest reports whether the OpenAPI document allows the request:
// its parameters, headers and body.
func (s *spec) validRequest(tb testing.TB, method, url string, body []byte, header http.Header) error {
	tb.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = header.Clone()
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		tb.Fatalf("OpenAPI: no operation for %s %s: %v", method, url, err)
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// TestOpenAPI_AgreesWithServer sends requests at the edges of what the
// server accepts, and checks that the document allows exactly those the
// server serves: a generated client or validator then refuses what the
// server would refuse, and nothing the server takes.
func TestOpenAPI_AgreesWithServer(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	doc := mustSpec(t)
	reseller, rc := ts.NewReseller(t, "Agreeing")
	product := rc.CreateProduct(t, "Module", 12)
	template := rc.CreateTemplate(t, "Template")
	rc.AddItem(t, template, product, 12)
	customer, cc := rc.CreateCustomer(t, "Customer")
	offer := rc.SendOffer(t, customer, template, "")
	op := ts.Operator()
	auditor := ts.NewToken(t, "auditor", reseller)
	rc.CreateProduct(t, "Second module", 12) // two products: a list of one has a next page
	productsCursor := str(t, rc.Must(t, 200, "GET", "/v1/products?limit=1&min_position="+strconv.FormatUint(ts.Head(t), 10), nil).Map(t), "next_cursor")
	historyCursor := str(t, rc.Must(t, 200, "GET", "/v1/offers/"+offer+"/history?limit=1", nil).Map(t), "next_cursor")
	revokable := func() string { return ts.NewToken(t, "reseller", reseller).Token }
	hash := func(tok string) string { return ofhttp.HashToken(tok) }

	type call struct {
		name   string
		c      Client
		method string
		path   string
		body   any
		header []string
		valid  bool // what both must agree on
	}
	calls := []call{
		{"ResellerNameEmpty", op, "POST", "/v1/resellers", map[string]any{"name": ""}, nil, false},
		{"ResellerNameBlank", op, "POST", "/v1/resellers", map[string]any{"name": "  "}, nil, false},
		{"ResellerName", op, "POST", "/v1/resellers", map[string]any{"name": "R"}, nil, true},
		{"ResellerNameNoBreakSpaces", op, "POST", "/v1/resellers", map[string]any{"name": "\u00a0\u3000"}, nil, false},
		{"ResellerNameWithNUL", op, "POST", "/v1/resellers", map[string]any{"name": "a\x00b"}, nil, false},
		{"ResellerNameWithOverride", op, "POST", "/v1/resellers", map[string]any{"name": "invoice\u202Efdp.exe"}, nil, false},
		{"ResellerNameWithTab", op, "POST", "/v1/resellers", map[string]any{"name": "a\tb"}, nil, false},
		{"ResellerNameNotLatin", op, "POST", "/v1/resellers", map[string]any{"name": " Grüße 株式会社 "}, nil, true},
		{"ExternalRefWithLineFeed", rc, "POST", "/v1/customers", map[string]any{"name": "C", "external_ref": "a\nb"}, nil, false},
		{"MessageWithOverride", rc, "POST", "/v1/customers/" + customer + "/offers", map[string]any{"template_id": template, "message": "\u202Eevil"}, nil, false},
		{"MessageWithLines", rc, "POST", "/v1/customers/" + customer + "/offers", map[string]any{"template_id": template, "message": "Hello,\r\n\tthis is for you."}, nil, true},
		{"ProductNameEmpty", rc, "POST", "/v1/products", map[string]any{"name": "", "kind": "module", "license_terms_months": []int{12}}, nil, false},
		{"TemplateNameEmpty", rc, "POST", "/v1/templates", map[string]any{"name": ""}, nil, false},
		{"CustomerNameEmpty", rc, "POST", "/v1/customers", map[string]any{"name": ""}, nil, false},
		{"WebhookURLEmpty", cc, "PUT", "/v1/webhook", map[string]any{"url": ""}, nil, false},
		{"TermMonthsZero", rc, "POST", "/v1/templates/" + template + "/items", map[string]any{"product_id": product, "term_months": 0}, nil, false},
		{"TermMonthsAboveMax", rc, "POST", "/v1/templates/" + template + "/items", map[string]any{"product_id": product, "term_months": 121}, nil, false},

		{"TokenWithoutTenant", op, "POST", "/v1/tokens", map[string]any{"role": "reseller"}, nil, false},
		{"TokenEmptyTenant", op, "POST", "/v1/tokens", map[string]any{"role": "customer", "tenant": ""}, nil, false},
		{"TokenAllTenantsNotAuditor", op, "POST", "/v1/tokens", map[string]any{"role": "reseller", "tenant": "*"}, nil, false},
		{"OperatorTokenWithTenant", op, "POST", "/v1/tokens", map[string]any{"role": "operator", "tenant": reseller}, nil, false},
		{"OperatorToken", op, "POST", "/v1/tokens", map[string]any{"role": "operator"}, nil, true},
		{"AuditorOfAll", op, "POST", "/v1/tokens", map[string]any{"role": "auditor", "tenant": "*"}, nil, true},
		{"CustomerToken", op, "POST", "/v1/tokens", map[string]any{"role": "customer", "tenant": customer}, nil, true},
		{"TokenNameWithOverride", op, "POST", "/v1/tokens", map[string]any{"role": "customer", "tenant": customer, "name": "\u202Eevil"}, nil, false},
		{"TokenName", op, "POST", "/v1/tokens", map[string]any{"role": "customer", "tenant": customer, "name": "Anna Weber"}, nil, true},

		{"RevokeNothing", op, "POST", "/v1/tokens/revoke", map[string]any{}, nil, false},
		{"RevokeBoth", op, "POST", "/v1/tokens/revoke", map[string]any{"token": revokable(), "token_hash": hash(revokable())}, nil, false},
		{"RevokeEmptyToken", op, "POST", "/v1/tokens/revoke", map[string]any{"token": ""}, nil, false},
		{"RevokeByToken", op, "POST", "/v1/tokens/revoke", map[string]any{"token": revokable()}, nil, true},
		{"RevokeByHash", op, "POST", "/v1/tokens/revoke", map[string]any{"token": "", "token_hash": hash(revokable())}, nil, true},

		{"AsOfVersionZero", rc, "GET", "/v1/offers/" + offer + "?as_of_version=0", nil, nil, false},
		{"AsOfVersionOver64Bits", rc, "GET", "/v1/offers/" + offer + "?as_of_version=18446744073709551616", nil, nil, false},
		{"AsOfVersion", rc, "GET", "/v1/offers/" + offer + "?as_of_version=1", nil, nil, true},
		{"OfferIDTooLong", rc, "GET", "/v1/offers/" + strings.Repeat("a", 129), nil, nil, false},
		{"OfferIDWithDot", rc, "GET", "/v1/offers/a.b", nil, nil, false},
		{"AfterOver64Bits", rc, "GET", "/v1/audit/events?after=18446744073709551616", nil, nil, false},
		{"AfterMaxInt64", rc, "GET", "/v1/audit/events?after=9223372036854775807", nil, nil, true},
		{"MinPositionNegative", rc, "GET", "/v1/products?min_position=-1", nil, nil, false},

		{"ProductsCursor", rc, "GET", "/v1/products?limit=1&cursor=" + productsCursor, nil, nil, true},
		{"HistoryCursor", rc, "GET", "/v1/offers/" + offer + "/history?limit=1&cursor=" + historyCursor, nil, nil, true},
		{"CursorNotBase64URL", rc, "GET", "/v1/products?cursor=a.b", nil, nil, false},
		{"CursorPadded", rc, "GET", "/v1/products?cursor=" + productsCursor + "%3D%3D", nil, nil, false},
		{"CursorTooLong", rc, "GET", "/v1/products?cursor=" + strings.Repeat("A", 5463), nil, nil, false},

		{"Proof", rc, "GET", "/v1/offers/" + offer + "/proof", nil, nil, true},
		{"ProofOfferIDWithDot", rc, "GET", "/v1/offers/a.b/proof", nil, nil, false},
		{"ProofSizeOverInt64", rc, "GET", "/v1/offers/" + offer + "/proof?size=9223372036854775808", nil, nil, false},
		{"Consistency", auditor, "GET", "/v1/audit/consistency?from=1&to=2", nil, nil, true},
		{"ConsistencyToOverInt64", auditor, "GET", "/v1/audit/consistency?from=1&to=9223372036854775808", nil, nil, false},

		// A create makes a new stream: If-Match names no version of it, and
		// the server ignores it (createMeta), whatever it holds.
		{"CreateWithAnyIfMatch", rc, "POST", "/v1/templates", map[string]any{"name": "K4"}, []string{"If-Match", "x"}, true},
		{"OfferWithAnyIfMatch", rc, "POST", "/v1/customers/" + customer + "/offers", map[string]any{"template_id": template}, []string{"If-Match", "x"}, true},
		{"CommandWithIfMatchNoVersion", cc, "PUT", "/v1/webhook", map[string]any{"url": "https://hooks.example.com/x"}, []string{"If-Match", "x"}, false},

		{"IdempotencyKeyNotASCII", rc, "POST", "/v1/templates", map[string]any{"name": "K1"}, []string{"Idempotency-Key", "schlüssel"}, false},
		{"IdempotencyKeyTooLong", rc, "POST", "/v1/templates", map[string]any{"name": "K2"}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, false},
		{"IdempotencyKey", rc, "POST", "/v1/templates", map[string]any{"name": "K3"}, []string{"Idempotency-Key", "order 42/7"}, true},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != nil {
				body, _ = json.Marshal(tc.body)
			}
			header := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tc.c.Token}}
			for i := 0; i+1 < len(tc.header); i += 2 {
				header.Set(tc.header[i], tc.header[i+1])
			}
			docErr := doc.validRequest(t, tc.method, ts.URL()+tc.path, body, header)
			var r Response
			if tc.body != nil {
				r = tc.c.Do(t, tc.method, tc.path, tc.body, tc.header...)
			} else {
				r = tc.c.Do(t, tc.method, tc.path, nil, tc.header...)
			}
			served := r.Status < 300
			if served != tc.valid {
				t.Fatalf("the server answered %s; want it to %s", r, map[bool]string{true: "serve it", false: "refuse it"}[tc.valid])
			}
			if (docErr == nil) != tc.valid {
				t.Fatalf("the server answered %s, but the document says: %v", r, map[bool]any{true: "valid", false: docErr}[docErr == nil])
			}
		})
	}
}

// TestOpenAPI_ParametersBounded: every parameter of the API that the server
// reads as a number has the upper bound the server keeps, and every text
// parameter says its form (a pattern, an enumeration or a format), so a
// generated client or a property-based tester draws no value the server
// refuses as malformed. The parameters listed are free text by design: the
// server serves any value of them.
func TestOpenAPI_ParametersBounded(t *testing.T) {
	doc := mustSpec(t).doc
	free := map[string]string{
		"query q":           "a substring of names: any text",
		"query customer_id": "any id: one no customer has lists nothing (200)",
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue // the web UI's pages and assets
		}
		for method, op := range item.Operations() {
			for _, ref := range append(item.Parameters, op.Parameters...) {
				p := ref.Value
				s := p.Schema.Value
				name := p.In + " " + p.Name
				switch {
				case s.Type.Is("integer"):
					if s.Max == nil || s.Min == nil {
						t.Errorf("%s %s: integer %s has no bounds", method, path, name)
					} else if *s.Max > math.MaxInt32 && s.Format != "int64" {
						t.Errorf("%s %s: integer %s goes to %.0f without format int64", method, path, name, *s.Max)
					}
				case s.Type.Is("string"):
					if s.Pattern == "" && len(s.Enum) == 0 && s.Format == "" && free[name] == "" {
						t.Errorf("%s %s: text %s has no pattern, enumeration or format", method, path, name)
					}
				}
			}
		}
	}
}
