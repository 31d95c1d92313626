package http_test

import (
	"testing"
)

// TestText_ControlAndBidiRefused sends names and free texts holding NUL or
// a right-to-left override: 422 naming the field, and nothing written.
// Ordinary newlines in a message are fine.
func TestText_ControlAndBidiRefused(t *testing.T) {
	ts := MustOpenServer(t)
	_, r := ts.NewReseller(t, "R")
	cust, c := r.CreateCustomer(t, "C")
	tmpl := r.CreateTemplate(t, "T")
	r.AddItem(t, tmpl, r.CreateProduct(t, "P", 12), 12)
	offer := r.SendOffer(t, cust, tmpl, "Dear admin,\n\nhere is your offer.\r\nRegards")
	r.WaitStatus(t, offer, "waiting_for_confirmation")

	cases := []struct {
		name         string
		client       Client
		method, path string
		body         map[string]any
		field        string
	}{
		{"ResellerNUL", ts.Operator(), "POST", "/v1/resellers", map[string]any{"name": "Mal\x00lory"}, "name"},
		{"ProductRLO", r, "POST", "/v1/products", map[string]any{"name": "Invoice\u202Efdp.exe", "kind": "module", "license_terms_months": []int{12}}, "name"},
		{"TemplateLRI", r, "POST", "/v1/templates", map[string]any{"name": "a\u2066b"}, "name"},
		{"CustomerNewline", r, "POST", "/v1/customers", map[string]any{"name": "Evil\nCorp"}, "name"},
		{"CustomerRefRLM", r, "POST", "/v1/customers", map[string]any{"name": "Fine", "external_ref": "x\u200F"}, "external_ref"},
		{"MessageEscape", r, "POST", "/v1/customers/" + cust + "/offers", map[string]any{"template_id": tmpl, "message": "\x1b[2Jhi"}, "message"},
		{"ReasonRLO", c, "POST", "/v1/inbox/" + offer + "/reject", map[string]any{"reason": "too \u202Edear"}, "reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := ts.Head(t)
			got := tc.client.Do(t, tc.method, tc.path, tc.body)
			var p struct{ Code, Field string }
			got.Decode(t, &p)
			if got.Status != 422 || p.Code != "validation_failed" || p.Field != tc.field {
				t.Fatalf("got %s, want 422 validation_failed on %s", got, tc.field)
			}
			if ts.Head(t) != head {
				t.Fatal("a refused text was written")
			}
		})
	}
}
