package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
)

// TestOffer_Revise revises a delivered offer through the API: the old one
// is superseded and names its successor, which is delivered with
// supersedes, keeps what the revision did not change, counts once on the
// badge, and is the only one the customer can still accept.
func TestOffer_Revise(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r, c := w.ResellerC, w.CustomerC
	expires := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	old := str(t, r.Must(t, 202, "POST", "/v1/customers/"+w.Customer+"/offers", map[string]any{
		"template_id": w.Template, "message": "first", "expires_at": expires.Format(time.RFC3339)}).Map(t), "id")
	r.WaitStatus(t, old, "waiting_for_confirmation")
	c.Must(t, 204, "POST", "/v1/inbox/"+w.Offer+"/read", nil)
	if b := c.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+fmt.Sprint(ts.Head(t)), nil).Map(t); b["updates"] != 1.0 {
		t.Fatalf("badge before the revision: %v, want 1", b)
	}

	res := r.Must(t, 202, "POST", "/v1/offers/"+old+"/revise", map[string]string{"message": "second"})
	next := res.Map(t)
	id := str(t, next, "id")
	if next["supersedes"] != old || next["message"] != "second" || next["template_id"] != w.Template || next["status"] != "waiting" {
		t.Fatalf("revision: %v", next)
	}
	if got, _ := time.Parse(time.RFC3339, next["expires_at"].(string)); !got.Equal(expires) {
		t.Errorf("revision expires_at %v, want the old offer's %v", next["expires_at"], expires)
	}
	if loc := res.Header.Get("Location"); loc != "/v1/offers/"+id {
		t.Errorf("Location %q", loc)
	}
	if items := next["items"].([]any); len(items) != 1 || items[0].(map[string]any)["product_id"] != w.Product {
		t.Errorf("revision items %v, want the old offer's", items)
	}
	pos := res.Position(t)
	was := r.Must(t, 200, "GET", fmt.Sprintf("/v1/offers/%s?min_position=%d", old, pos), nil).Map(t)
	if was["status"] != "superseded" || was["superseded_by"] != id {
		t.Fatalf("old offer after the revision: %v", was)
	}
	var report struct {
		Items []struct {
			Counts map[string]int `json:"counts"`
		} `json:"items"`
	}
	r.Must(t, 200, "GET", fmt.Sprintf("/v1/reports/offers?min_position=%d", pos), nil).Decode(t, &report)
	superseded := 0
	for _, it := range report.Items {
		superseded += it.Counts["superseded"]
	}
	if superseded != 1 {
		t.Errorf("the report counts %d superseded offers, want 1: %+v", superseded, report.Items)
	}
	r.WaitStatus(t, id, "waiting_for_confirmation")

	// The customer sees the successor replace the earlier offer, and one
	// unread offer, not two.
	head := fmt.Sprint(ts.Head(t))
	var inbox struct{ Items []map[string]any }
	c.Must(t, 200, "GET", "/v1/inbox?min_position="+head, nil).Decode(t, &inbox)
	seen := map[string]map[string]any{}
	for _, e := range inbox.Items {
		seen[e["id"].(string)] = e
	}
	if e := seen[id]; e == nil || e["supersedes"] != old || e["status"] != "waiting_for_confirmation" {
		t.Errorf("inbox entry of the revision: %v", e)
	}
	if e := seen[old]; e == nil || e["status"] != "superseded" || e["superseded_by"] != id {
		t.Errorf("inbox entry of the old offer: %v", e)
	}
	if b := c.Must(t, 200, "GET", "/v1/inbox/badge?min_position="+head, nil).Map(t); b["updates"] != 1.0 || b["admin"] != 1.0 {
		t.Errorf("badge after the revision: %v, want 1", b)
	}

	// The old offer is closed to every decision; the new one is open.
	for _, path := range []string{"/v1/inbox/" + old + "/accept", "/v1/inbox/" + old + "/reject"} {
		if got := c.Do(t, "POST", path, nil); got.Status != 409 || got.Code() != "invalid_transition" {
			t.Errorf("%s: %s, want 409", path, got)
		}
	}
	for _, path := range []string{"/v1/offers/" + old + "/withdraw", "/v1/offers/" + old + "/revise"} {
		if got := r.Do(t, "POST", path, nil); got.Status != 409 {
			t.Errorf("%s: %s, want 409", path, got)
		}
	}
	c.Must(t, 200, "POST", "/v1/inbox/"+id+"/accept", nil)

	// The history shows both sides of the revision.
	var hist struct{ Items []struct{ Type string } }
	r.Must(t, 200, "GET", "/v1/offers/"+old+"/history", nil).Decode(t, &hist)
	if last := hist.Items[len(hist.Items)-1].Type; last != "offer.superseded" {
		t.Errorf("old offer's last event %s, want offer.superseded", last)
	}
	r.Must(t, 200, "GET", "/v1/offers/"+id+"/history", nil).Decode(t, &hist)
	if first := hist.Items[0].Type; first != "offer.created" {
		t.Errorf("revision's first event %s", first)
	}

	// A new template replaces the items; a new expiry the deadline.
	p2 := r.CreateProduct(t, "Module R", 6)
	t2 := r.CreateTemplate(t, "Revised")
	r.AddItem(t, t2, p2, 6)
	failedOld := r.SendOffer(t, w.SiblingCustomer, w.Template, "")
	later := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	next = r.Must(t, 202, "POST", "/v1/offers/"+failedOld+"/revise", map[string]string{
		"template_id": t2, "expires_at": later.Format(time.RFC3339)}).Map(t)
	if next["template_id"] != t2 || next["items"].([]any)[0].(map[string]any)["product_id"] != p2 || next["message"] != "" {
		t.Errorf("revision with a template: %v", next)
	}
	if got, _ := time.Parse(time.RFC3339, next["expires_at"].(string)); !got.Equal(later) {
		t.Errorf("revision expires_at %v, want %v", next["expires_at"], later)
	}
}

// TestOffer_ReviseBadInput: each refusal has its documented status and
// code, and nothing is written.
func TestOffer_ReviseBadInput(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r, c := w.ResellerC, w.CustomerC
	accepted := r.SendOffer(t, w.Customer, w.Template, "")
	r.WaitStatus(t, accepted, "waiting_for_confirmation")
	c.Must(t, 200, "POST", "/v1/inbox/"+accepted+"/accept", nil)
	empty := r.CreateTemplate(t, "Empty")
	ts.Settle(t)
	const unknown = "01a00000-0000-7000-8000-000000000000"
	offer := w.Offer
	revise := func(id string) string { return "/v1/offers/" + id + "/revise" }

	cases := []struct {
		name        string
		c           Client
		path        string
		body        any
		status      int
		code, field string
	}{
		{"foreign offer", w.OtherResellerC, revise(offer), map[string]string{"message": "x"}, 404, "not_found", ""},
		{"foreign offer before a bad body", w.OtherResellerC, revise(offer), `{"message":5}`, 404, "not_found", ""},
		{"unknown offer", r, revise(unknown), nil, 404, "not_found", ""},
		{"not an id", r, revise("nope"), nil, 404, "not_found", ""},
		{"customer", c, revise(offer), nil, 403, "forbidden", ""},
		{"decided", r, revise(accepted), nil, 409, "invalid_transition", ""},
		{"decided, bad body first", r, revise(accepted), map[string]string{"message": strings.Repeat("ü", 2001)}, 422, "validation_failed", "message"},
		{"message too long", r, revise(offer), map[string]string{"message": strings.Repeat("ü", 2001)}, 422, "validation_failed", "message"},
		{"message wrong type", r, revise(offer), `{"message":5}`, 422, "validation_failed", "message"},
		{"template empty string", r, revise(offer), map[string]string{"template_id": ""}, 422, "validation_failed", "template_id"},
		{"template unknown", r, revise(offer), map[string]string{"template_id": unknown}, 422, "validation_failed", "template_id"},
		{"template without items", r, revise(offer), map[string]string{"template_id": empty}, 422, "validation_failed", "template_id"},
		{"expiry past", r, revise(offer), map[string]string{"expires_at": "2001-01-01T00:00:00Z"}, 422, "validation_failed", "expires_at"},
		{"expiry not a time", r, revise(offer), map[string]string{"expires_at": "soon"}, 422, "validation_failed", "expires_at"},
		{"unknown field", r, revise(offer), `{"discount":10}`, 400, "malformed", "discount"},
		{"not an object", r, revise(offer), `[]`, 400, "malformed", ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Head(t)
			got := tt.c.Do(t, "POST", tt.path, tt.body)
			if got.Status != tt.status || got.Code() != tt.code {
				t.Fatalf("got %.300s, want %d %s", got, tt.status, tt.code)
			}
			if tt.field != "" {
				var p struct{ Field string }
				got.Decode(t, &p)
				if p.Field != tt.field {
					t.Errorf("field %q, want %q", p.Field, tt.field)
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

// TestOffer_ReviseRacesDecision has the customer accept and the reseller
// revise one delivered offer at the same moment, over and over, several of
// each: exactly one request wins, every other one is 409, and the offer's
// stream holds either its acceptance or its supersession, never both (and
// a successor exactly when it was superseded).
func TestOffer_ReviseRacesDecision(t *testing.T) {
	const k, rounds = 6, 8
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	for round := range rounds {
		offer := w.ResellerC.SendOffer(t, w.Customer, w.Template, fmt.Sprintf("round %d", round))
		w.ResellerC.WaitStatus(t, offer, "waiting_for_confirmation")

		calls := make([]raceCall, k)
		for i := range k {
			calls[i] = raceCall{w.CustomerC, "/v1/inbox/" + offer + "/accept"}
			if i%2 == 1 {
				calls[i] = raceCall{w.ResellerC, "/v1/offers/" + offer + "/revise"}
			}
		}
		raceOne(t, round, calls)
		evs, err := eventstore.ReadStreamAll(context.Background(), ts.Store, "offer-"+offer, 0)
		if err != nil {
			t.Fatal(err)
		}
		ends := map[string]int{}
		for _, e := range evs {
			if e.Type == "offer.accepted" || e.Type == "offer.superseded" {
				ends[e.Type]++
			}
		}
		if ends["offer.accepted"]+ends["offer.superseded"] != 1 {
			t.Errorf("round %d: the offer's stream ends as %v, want exactly one acceptance or supersession", round, ends)
		}
		successors := 0
		all, err := ts.Store.ReadAll(context.Background(), 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if e.Type == "offer.created" && strings.Contains(string(e.Data), `"supersedes":"`+offer+`"`) {
				successors++
			}
		}
		if successors != ends["offer.superseded"] {
			t.Errorf("round %d: %d successors for %d supersessions", round, successors, ends["offer.superseded"])
		}
	}
}
