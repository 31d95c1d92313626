package http_test

import (
	"strings"
	"testing"
)

// TestNames_Duplicate: a second product, or a second template, of a name
// the reseller already uses (in any case and spacing) is 422 on name, the
// detail names it, and nothing is written; another reseller may use it.
func TestNames_Duplicate(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "Namen")
	_, other := ts.NewReseller(t, "Andere")
	r.CreateProduct(t, "Erste Hilfe", 12)
	r.CreateTemplate(t, "Grundpaket")

	for _, tc := range []struct {
		path string
		body map[string]any
		name string
	}{
		{"/v1/products", map[string]any{"name": "erste  HILFE", "kind": "course", "license_terms_months": []int{24}}, "Erste Hilfe"},
		{"/v1/templates", map[string]any{"name": " Grundpaket "}, "Grundpaket"},
	} {
		before := ts.Head(t)
		got := r.Do(t, "POST", tc.path, tc.body)
		if got.Status != 422 || got.Code() != "validation_failed" {
			t.Fatalf("%s: got %s, want 422 validation_failed", tc.path, got)
		}
		var p struct{ Field, Detail string }
		got.Decode(t, &p)
		if p.Field != "name" || !strings.Contains(p.Detail, `"`+tc.name+`"`) {
			t.Fatalf("%s: field %q detail %q, want name and %q", tc.path, p.Field, p.Detail, tc.name)
		}
		if after := ts.Head(t); after != before {
			t.Fatalf("%s: the log moved from %d to %d", tc.path, before, after)
		}
	}
	other.CreateProduct(t, "Erste Hilfe", 12)
	other.CreateTemplate(t, "Grundpaket")
}
