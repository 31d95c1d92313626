package http_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestTemplate_DuplicateItem: the same product in the same term twice in one
// template was accepted, and an offer from it granted the customer two
// licenses for one purchase. It is 422 on product_id, the detail names the
// product, and nothing is written; the same product in another term, or
// again after its item was removed, is still accepted.
func TestTemplate_DuplicateItem(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "Dupes")
	product := r.CreateProduct(t, "Brandschutz Basis", 12, 24)
	tpl := r.CreateTemplate(t, "Sicherheit")
	item := r.AddItem(t, tpl, product, 12)

	for _, mode := range []string{"absolute", "relative"} {
		before := ts.Head(t)
		got := r.Do(t, "POST", "/v1/templates/"+tpl+"/items", map[string]any{"product_id": product, "term_months": 12, "license_mode": mode})
		if got.Status != 422 || got.Code() != "validation_failed" {
			t.Fatalf("%s: got %s, want 422 validation_failed", mode, got)
		}
		var p struct{ Field, Detail string }
		got.Decode(t, &p)
		if p.Field != "product_id" || !strings.Contains(p.Detail, "Brandschutz Basis") {
			t.Fatalf("%s: field %q detail %q, want product_id and the product's name", mode, p.Field, p.Detail)
		}
		if wrote := ts.Wrote(t, before, got); len(wrote) > 0 {
			t.Fatalf("%s: wrote %v", mode, wrote)
		}
		if after := ts.Head(t); after != before {
			t.Fatalf("%s: the log moved from %d to %d", mode, before, after)
		}
	}
	// The read model follows the log: ask for the template as of the log's
	// head, which holds the one item added above.
	view := fmt.Sprintf("/v1/templates/%s?min_position=%d", tpl, ts.Head(t))
	if items := r.Must(t, 200, "GET", view, nil).Map(t)["items"].([]any); len(items) != 1 {
		t.Fatalf("template holds %d items, want 1", len(items))
	}

	r.AddItem(t, tpl, product, 24)
	r.Must(t, 200, "DELETE", "/v1/templates/"+tpl+"/items/"+item, nil)
	r.AddItem(t, tpl, product, 12)
}
