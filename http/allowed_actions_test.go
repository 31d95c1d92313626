package http_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// actionsOf returns an offer's allowed_actions as a client sees it; the key
// must be there, as a list, even when empty.
func actionsOf(tb testing.TB, m map[string]any) []string {
	tb.Helper()
	raw, ok := m["allowed_actions"].([]any)
	if !ok {
		tb.Fatalf("allowed_actions missing or not a list in %v", m)
	}
	out := []string{}
	for _, a := range raw {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// TestAllowedActions: every shape of an offer carries allowed_actions, what
// the caller may do to it now: the reseller withdraw while it is pending,
// the customer accept and reject while it waits for confirmation, the
// auditor nothing; a past state (as_of_version) offers nothing. After the
// decision no one is offered anything but what the contract allows, and
// each action offered works.
func TestAllowedActions(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	offer := "/v1/offers/" + w.Offer
	want := func(who string, got []string, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: allowed_actions %q, want %q", who, got, want)
		}
	}
	inboxEntry := func(c Client, id string, pos uint64) map[string]any {
		t.Helper()
		var l struct{ Items []map[string]any }
		c.Must(t, 200, "GET", "/v1/inbox?min_position="+strconv.FormatUint(pos, 10), nil).Decode(t, &l)
		for _, e := range l.Items {
			if e["id"] == id {
				return e
			}
		}
		t.Fatalf("offer %s not in the inbox", id)
		return nil
	}

	want("reseller, offer", actionsOf(t, w.ResellerC.Must(t, 200, "GET", offer, nil).Map(t)), "withdraw", "revise")
	var list struct{ Items []map[string]any }
	w.ResellerC.Must(t, 200, "GET", "/v1/offers?customer_id="+w.Customer, nil).Decode(t, &list)
	want("reseller, list", actionsOf(t, list.Items[0]), "withdraw", "revise")
	var detail struct{ Offers []map[string]any }
	w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer, nil).Decode(t, &detail)
	want("reseller, customer detail", actionsOf(t, detail.Offers[0]), "withdraw", "revise")
	want("customer, inbox", actionsOf(t, inboxEntry(w.CustomerC, w.Offer, 0)), "accept", "reject")
	want("auditor", actionsOf(t, w.Auditor.Must(t, 200, "GET", offer, nil).Map(t)))
	want("auditor of all", actionsOf(t, w.AuditorAll.Must(t, 200, "GET", offer, nil).Map(t)))
	want("reseller, as it stood at version 1", actionsOf(t, w.ResellerC.Must(t, 200, "GET", offer+"?as_of_version=1", nil).Map(t)))

	// The customer accepts: the answer and every later view offer nothing
	// to anyone (an accepted offer cannot be withdrawn or decided again).
	r := w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+w.Offer+"/accept", nil)
	want("customer, accept answer", actionsOf(t, r.Map(t)))
	pos := r.Position(t)
	want("customer, inbox after accepting", actionsOf(t, inboxEntry(w.CustomerC, w.Offer, pos)))
	want("reseller after the acceptance", actionsOf(t, w.ResellerC.Must(t, 200, "GET", offer+"?min_position="+strconv.FormatUint(pos, 10), nil).Map(t)))
	w.ResellerC.Must(t, 409, "POST", offer+"/withdraw", nil)

	// The sibling offer: withdrawn by the reseller, offered to nobody since.
	r = w.ResellerC.Must(t, 200, "POST", "/v1/offers/"+w.SiblingOffer+"/withdraw", nil)
	want("reseller, withdraw answer", actionsOf(t, r.Map(t)))
	want("sibling customer after the withdrawal", actionsOf(t, inboxEntry(w.SiblingCustomerC, w.SiblingOffer, r.Position(t))))
}

// TestAllowedActions_ServerClock: allowed_actions are judged at the
// server's clock, the one the commands decide with, not the wall clock: once
// that clock passes an offer's deadline, the customer is offered nothing,
// though no process has expired the offer yet (the process managers keep
// the wall clock here, hours behind).
func TestAllowedActions_ServerClock(t *testing.T) {
	clk := newClock()
	ts := MustOpenServer(t, func(o *Options) { o.Now = clk.Now })
	w := NewWorld(t, ts)
	id := str(t, w.ResellerC.Must(t, 202, "POST", "/v1/customers/"+w.Customer+"/offers", map[string]any{
		"template_id": w.Template, "message": "bis morgen", "expires_at": clk.Now().Add(time.Hour).Format(time.RFC3339Nano)}).Map(t), "id")
	w.ResellerC.WaitStatus(t, id, "waiting_for_confirmation")
	w.CustomerC.WaitInbox(t, id)
	inboxActions := func() []string {
		t.Helper()
		var l struct{ Items []map[string]any }
		w.CustomerC.Must(t, 200, "GET", "/v1/inbox", nil).Decode(t, &l)
		for _, e := range l.Items {
			if e["id"] == id {
				return actionsOf(t, e)
			}
		}
		t.Fatalf("offer %s not in the inbox", id)
		return nil
	}
	if got := inboxActions(); !slices.Equal(got, []string{"accept", "reject"}) {
		t.Fatalf("before the deadline: allowed_actions %q, want accept and reject", got)
	}
	clk.Advance(2 * time.Hour)
	if got := inboxActions(); len(got) != 0 {
		t.Errorf("past the deadline by the server's clock: allowed_actions %q, want none", got)
	}
	// And the command agrees: the same clock refuses the acceptance.
	w.CustomerC.Must(t, 409, "POST", "/v1/inbox/"+id+"/accept", nil)
}
