package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCampaign sends a campaign through the router: every customer gets one
// offer, delivered; the campaign's counts follow the offers' statuses; the
// list is newest first; an Idempotency-Key replays the first answer and
// starts nothing twice.
func TestCampaign(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r := w.ResellerC
	third, thirdC := r.CreateCustomer(t, "Third")
	ids := []string{w.Customer, w.SiblingCustomer, third}

	res := r.Must(t, 202, "POST", "/v1/campaigns", map[string]any{"template_id": w.Template, "customer_ids": ids, "message": "Für alle"})
	var c struct {
		ID     string
		Offers []struct {
			CustomerID string `json:"customer_id"`
			OfferID    string `json:"offer_id"`
		}
		Version int
	}
	res.Decode(t, &c)
	if len(c.Offers) != 3 || c.Version != 1 || res.Header.Get("Location") != "/v1/campaigns/"+c.ID {
		t.Fatalf("campaign %s, Location %q; want 3 offers at version 1", res.Body, res.Header.Get("Location"))
	}
	for i, o := range c.Offers {
		if o.CustomerID != ids[i] || o.OfferID == "" {
			t.Errorf("offer %d: %+v, want one to %s", i, o, ids[i])
		}
	}
	// Each customer's offer is its own, delivered, with the message.
	for _, o := range c.Offers {
		got := r.WaitStatus(t, o.OfferID, "waiting_for_confirmation")
		if got["customer_id"] != o.CustomerID || got["message"] != "Für alle" || got["template_id"] != w.Template {
			t.Errorf("offer %s: %v", o.OfferID, got)
		}
	}
	// The counts follow the decisions.
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+c.Offers[0].OfferID+"/accept", nil)
	thirdC.Must(t, 200, "POST", "/v1/inbox/"+c.Offers[2].OfferID+"/reject", map[string]string{"reason": "zu teuer"})
	want := map[string]float64{"accepted": 1, "rejected": 1, "waiting_for_confirmation": 1, "waiting": 0}
	Eventually(t, 10*time.Second, "the campaign's counts", func() bool {
		got := r.Must(t, 200, "GET", "/v1/campaigns/"+c.ID, nil).Map(t)
		counts, _ := got["counts"].(map[string]any)
		for st, n := range want {
			if counts[st] != n {
				return false
			}
		}
		return len(got["offers"].([]any)) == 3
	})

	// An Idempotency-Key: the same answer again, nothing written.
	key := []string{"Idempotency-Key", "campaign-1"}
	body := map[string]any{"template_id": w.Template, "customer_ids": []string{w.Customer}}
	first := r.Must(t, 202, "POST", "/v1/campaigns", body, key...)
	before := ts.Head(t)
	again := r.Must(t, 202, "POST", "/v1/campaigns", body, key...)
	// The first campaign's process goes on writing its offer meanwhile, so
	// the head may move: what counts is that the replay itself wrote nothing.
	if string(again.Body) != string(first.Body) {
		t.Errorf("replay %s, first %s", again.Body, first.Body)
	}
	if wrote := ts.Wrote(t, before, again); len(wrote) != 0 {
		t.Errorf("the replay wrote %v", wrote)
	}
	r.Must(t, 422, "POST", "/v1/campaigns", map[string]any{"template_id": w.Template, "customer_ids": []string{third}}, key...)

	// Newest first; another reseller sees none of them.
	ts.Settle(t)
	var list struct{ Items []struct{ ID string } }
	r.Must(t, 200, "GET", "/v1/campaigns", nil).Decode(t, &list)
	if len(list.Items) != 2 || list.Items[1].ID != c.ID {
		t.Errorf("campaigns %+v, want 2, the first campaign last", list.Items)
	}
	w.OtherResellerC.Must(t, 200, "GET", "/v1/campaigns", nil).Decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("another reseller lists %+v", list.Items)
	}
	w.OtherResellerC.Must(t, 404, "GET", "/v1/campaigns/"+c.ID, nil)
}

// TestCampaign_BadInput sends campaigns and reports that the contract
// refuses: each gets its status, code and field, the detail names the
// refused customer id, and nothing is written.
func TestCampaign_BadInput(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r := w.ResellerC
	archived := r.CreateTemplate(t, "Archived")
	r.AddItem(t, archived, w.Product, 12)
	r.Must(t, 204, "DELETE", "/v1/templates/"+archived, nil)
	ts.Settle(t)

	const unknown = "01a00000-0000-7000-8000-000000000000"
	tpl, mine, sibling, foreign := w.Template, w.Customer, w.SiblingCustomer, w.ForeignCustomer
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("c-%d", i)
	}
	campaign := func(ids ...string) map[string]any { return map[string]any{"template_id": tpl, "customer_ids": ids} }
	cases := []struct {
		name         string
		method, path string
		body         any
		status       int
		code, field  string
		names        string // the detail names this
	}{
		{"unknown customer", "POST", "/v1/campaigns", campaign(mine, unknown), 422, "validation_failed", "customer_ids", unknown},
		{"foreign customer", "POST", "/v1/campaigns", campaign(mine, foreign, sibling), 422, "validation_failed", "customer_ids", foreign},
		{"repeated customer", "POST", "/v1/campaigns", campaign(mine, sibling, mine), 422, "validation_failed", "customer_ids", mine},
		{"impossible id", "POST", "/v1/campaigns", campaign(mine, "../x"), 422, "validation_failed", "customer_ids", "../x"},
		{"no customers", "POST", "/v1/campaigns", campaign(), 422, "validation_failed", "customer_ids", "1 to 1000"},
		{"customers missing", "POST", "/v1/campaigns", map[string]any{"template_id": tpl}, 422, "validation_failed", "customer_ids", ""},
		{"1001 customers", "POST", "/v1/campaigns", campaign(many...), 422, "validation_failed", "customer_ids", "1 to 1000"},
		{"customers not a list", "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": mine}, 422, "validation_failed", "customer_ids", ""},
		{"unknown template", "POST", "/v1/campaigns", map[string]any{"template_id": unknown, "customer_ids": []string{mine}}, 422, "validation_failed", "template_id", ""},
		{"archived template", "POST", "/v1/campaigns", map[string]any{"template_id": archived, "customer_ids": []string{mine}}, 422, "validation_failed", "template_id", ""},
		{"message too long", "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": []string{mine}, "message": strings.Repeat("ü", 2001)}, 422, "validation_failed", "message", ""},
		{"expiry in the past", "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": []string{mine}, "expires_at": "2001-01-01T00:00:00Z"}, 422, "validation_failed", "expires_at", ""},
		{"expiry not a time", "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": []string{mine}, "expires_at": "soon"}, 422, "validation_failed", "expires_at", ""},
		{"unknown field", "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": []string{mine}, "discount": 5}, 400, "malformed", "discount", ""},
		{"not JSON", "POST", "/v1/campaigns", `{"template_id":`, 400, "malformed", "", ""},
		{"campaign unknown", "GET", "/v1/campaigns/" + unknown, nil, 404, "not_found", "", ""},
		{"campaigns bad limit", "GET", "/v1/campaigns?limit=0", nil, 422, "validation_failed", "limit", ""},
		{"campaigns bad cursor", "GET", "/v1/campaigns?cursor=nope", nil, 400, "malformed", "cursor", ""},
		{"report from after to", "GET", "/v1/reports/offers?from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z", nil, 422, "validation_failed", "from", ""},
		{"report bad from", "GET", "/v1/reports/offers?from=March", nil, 422, "validation_failed", "from", ""},
		{"report bad to", "GET", "/v1/reports/offers?to=2026-13-01", nil, 422, "validation_failed", "to", ""},
		{"report bad group_by", "GET", "/v1/reports/offers?group_by=product", nil, 422, "validation_failed", "group_by", ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Head(t)
			got := r.Do(t, tt.method, tt.path, tt.body)
			if got.Status != tt.status || got.Code() != tt.code {
				t.Fatalf("got %.300s, want %d %s", got, tt.status, tt.code)
			}
			var p struct{ Field, Detail string }
			got.Decode(t, &p)
			if p.Field != tt.field || !strings.Contains(p.Detail, tt.names) {
				t.Errorf("field %q, detail %q; want field %q naming %q", p.Field, p.Detail, tt.field, tt.names)
			}
			if wrote := ts.Wrote(t, before, got); len(wrote) > 0 {
				t.Errorf("wrote %v", wrote)
			}
			if after := ts.Head(t); after != before {
				t.Errorf("the log moved from %d to %d", before, after)
			}
		})
	}
	// Another reseller's template, with this reseller's customer.
	before := ts.Head(t)
	w.OtherResellerC.Must(t, 422, "POST", "/v1/campaigns", map[string]any{"template_id": tpl, "customer_ids": []string{mine}})
	if after := ts.Head(t); after != before {
		t.Errorf("the log moved from %d to %d", before, after)
	}
}

// TestCampaign_Revise revises an offer of a campaign: its successor is
// created in the same campaign (its offer.created names it), takes its
// place in the campaign's offers, and the counts count the successor, not
// both.
func TestCampaign_Revise(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r := w.ResellerC
	var c struct {
		ID     string
		Offers []struct {
			CustomerID string `json:"customer_id"`
			OfferID    string `json:"offer_id"`
		}
	}
	r.Must(t, 202, "POST", "/v1/campaigns", map[string]any{"template_id": w.Template,
		"customer_ids": []string{w.Customer, w.SiblingCustomer}, "message": "Für beide"}).Decode(t, &c)
	for _, o := range c.Offers {
		r.WaitStatus(t, o.OfferID, "waiting_for_confirmation")
	}
	old := c.Offers[0].OfferID
	next := str(t, r.Must(t, 202, "POST", "/v1/offers/"+old+"/revise", map[string]string{"message": "Nur für Sie"}).Map(t), "id")
	r.WaitStatus(t, next, "waiting_for_confirmation")

	var hist struct {
		Items []struct {
			Type string
			Data map[string]any
		}
	}
	r.Must(t, 200, "GET", "/v1/offers/"+next+"/history", nil).Decode(t, &hist)
	if len(hist.Items) == 0 || hist.Items[0].Type != "offer.created" || hist.Items[0].Data["campaign_id"] != c.ID ||
		hist.Items[0].Data["supersedes"] != old {
		t.Fatalf("the successor's offer.created: %+v, want campaign_id %s and supersedes %s", hist.Items, c.ID, old)
	}

	// counts waits until the campaign shows want, with the successor in
	// the old offer's place, and returns it. The counts alone do not say
	// the revision was projected: before it, the old offer and its sibling
	// already count two waiting and none superseded.
	counts := func(want map[string]float64) map[string]any {
		t.Helper()
		var got map[string]any
		Eventually(t, 10*time.Second, fmt.Sprintf("the campaign's counts %v with %s first", want, next), func() bool {
			got = r.Must(t, 200, "GET", "/v1/campaigns/"+c.ID, nil).Map(t)
			if o, _ := got["offers"].([]any); len(o) == 0 || o[0].(map[string]any)["offer_id"] != next {
				return false
			}
			n, _ := got["counts"].(map[string]any)
			for st, v := range want {
				if n[st] != v {
					return false
				}
			}
			return true
		})
		return got
	}
	got := counts(map[string]float64{"waiting_for_confirmation": 2, "superseded": 0})
	offers := got["offers"].([]any)
	if len(offers) != 2 {
		t.Fatalf("campaign offers %v, want 2", offers)
	}
	for i, want := range []string{next, c.Offers[1].OfferID} {
		if o := offers[i].(map[string]any); o["offer_id"] != want || o["customer_id"] != c.Offers[i].CustomerID {
			t.Errorf("campaign offer %d: %v, want %s to %s", i, o, want, c.Offers[i].CustomerID)
		}
	}
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+next+"/accept", nil)
	counts(map[string]float64{"accepted": 1, "waiting_for_confirmation": 1, "superseded": 0})
	var list struct {
		Items []struct {
			ID     string
			Counts map[string]int
		}
	}
	r.Must(t, 200, "GET", "/v1/campaigns", nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Counts["accepted"] != 1 || list.Items[0].Counts["superseded"] != 0 {
		t.Errorf("campaign list %+v, want the accepted successor counted", list.Items)
	}
}
