package http_test

import (
	"strconv"
	"testing"
)

// TestCustomerErase checks the statuses of POST /v1/customers/{id}/erase
// and what the API shows afterwards.
func TestCustomerErase(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	second := w.ResellerC.SendOffer(t, w.Customer, w.Template, "second offer")
	w.ResellerC.WaitStatus(t, second, "waiting_for_confirmation")
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+second+"/reject", map[string]string{"reason": "not now"})

	before := ts.Head(t)
	for _, tc := range []struct {
		name   string
		c      Client
		id     string
		status int
		code   string
	}{
		{"ForeignReseller", w.OtherResellerC, w.Customer, 404, "not_found"},
		{"UnknownCustomer", w.ResellerC, "0195f3a0-0000-7000-8000-000000000000", 404, "not_found"},
		{"Customer", w.CustomerC, w.Customer, 403, "forbidden"},
		{"Auditor", w.AuditorAll, w.Customer, 403, "forbidden"},
		{"NoToken", w.NoToken, w.Customer, 401, "unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.Do(t, "POST", "/v1/customers/"+tc.id+"/erase", nil)
			if r.Status != tc.status || r.Code() != tc.code {
				t.Errorf("got %s, want %d %s", r, tc.status, tc.code)
			}
		})
	}
	if wrote := ts.Head(t); wrote != before {
		t.Fatalf("refused erasures wrote: head %d, was %d", wrote, before)
	}

	r := w.ResellerC.Must(t, 200, "POST", "/v1/customers/"+w.Customer+"/erase", nil)
	var first struct {
		ID       string `json:"id"`
		ErasedAt string `json:"erased_at"`
	}
	r.Decode(t, &first)
	if first.ID != w.Customer || first.ErasedAt == "" {
		t.Fatalf("erase answered %s", r)
	}
	pos := r.Position(t)
	for _, c := range []Client{w.ResellerC, w.Operator} {
		again := c.Must(t, 200, "POST", "/v1/customers/"+w.Customer+"/erase", nil)
		var got struct {
			ErasedAt string `json:"erased_at"`
		}
		again.Decode(t, &got)
		if got.ErasedAt != first.ErasedAt {
			t.Errorf("repeated erasure answered %s, want erased_at %s", again, first.ErasedAt)
		}
	}
	if ts.Head(t) != pos {
		t.Errorf("a repeated erasure wrote: head %d, the erasure was at %d", ts.Head(t), pos)
	}

	// Nothing more can be written to or about the customer.
	if r := w.ResellerC.Do(t, "POST", "/v1/customers/"+w.Customer+"/offers", map[string]string{"template_id": w.Template}); r.Status != 422 || r.Code() != "validation_failed" {
		t.Errorf("offer to an erased customer: %s, want 422", r)
	}
	if r := w.CustomerC.Do(t, "POST", "/v1/inbox/"+w.Offer+"/reject", map[string]string{"reason": "a text"}); r.Status != 422 {
		t.Errorf("rejection with a reason by an erased customer: %s, want 422", r)
	}
	// The sibling is untouched.
	w.ResellerC.SendOffer(t, w.SiblingCustomer, w.Template, "still fine")

	at := "?min_position=" + strconv.FormatUint(pos, 10)
	c := w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer+at, nil).Map(t)
	if c["name"] != nil || c["external_ref"] != nil || c["erased"] != true {
		t.Errorf("customer: %v", c)
	}
	list := w.ResellerC.Must(t, 200, "GET", "/v1/customers"+at, nil).Map(t)
	for _, it := range list["items"].([]any) {
		it := it.(map[string]any)
		if erased := it["id"] == w.Customer; (it["name"] == nil) != erased || (it["erased"] == true) != erased {
			t.Errorf("customer list entry: %v", it)
		}
	}
	for _, id := range []string{w.Offer, second} {
		o := w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+id, nil).Map(t)
		if o["message"] != nil || o["erased"] != true {
			t.Errorf("offer %s: %v", id, o)
		}
	}
	o := w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+second, nil).Map(t)
	if o["status"] != "rejected" || o["rejection_reason"] != nil {
		t.Errorf("rejected offer: %v", o)
	}
	offers := w.ResellerC.Must(t, 200, "GET", "/v1/offers"+at, nil).Map(t)
	for _, it := range offers["items"].([]any) {
		it := it.(map[string]any)
		if erased := it["customer_id"] == w.Customer; (it["message"] == nil) != erased || (it["erased"] == true) != erased {
			t.Errorf("offer list entry: %v", it)
		}
	}
	inbox := w.CustomerC.Must(t, 200, "GET", "/v1/inbox"+at, nil).Map(t)
	for _, it := range inbox["items"].([]any) {
		if it := it.(map[string]any); it["message"] != nil || it["erased"] != true {
			t.Errorf("inbox entry: %v", it)
		}
	}
	hist := w.Auditor.Must(t, 200, "GET", "/v1/offers/"+second+"/history", nil).Map(t)
	for _, ev := range hist["items"].([]any) {
		ev := ev.(map[string]any)
		data := ev["data"].(map[string]any)
		switch ev["type"] {
		case "offer.created":
			if data["message"] != nil || ev["erased"] != true || ev["sealed"] == nil {
				t.Errorf("offer.created in the history: %v", ev)
			}
		case "offer.rejected":
			if data["reason"].(map[string]any)["text"] != nil || ev["erased"] != true || ev["sealed"] == nil {
				t.Errorf("offer.rejected in the history: %v", ev)
			}
		}
	}
}
