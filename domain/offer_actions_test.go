package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestOffer_AllowedActions: for every history of the lifecycle matrix, the
// actions offered to each role are exactly the matrix's allowed commands of
// that role, in the order a page shows them; nobody else is offered any.
func TestOffer_AllowedActions(t *testing.T) {
	reseller := domain.Actor{Role: domain.RoleReseller, Tenant: string(reseller1), Subject: "tok"}
	customer := domain.Actor{Role: domain.RoleCustomer, Tenant: "c1", Subject: "tok"}
	byRole := []struct {
		actor domain.Actor
		cols  []int
		names []domain.OfferAction
	}{
		{reseller, []int{colWithdraw, colRedeliver, colRevise}, []domain.OfferAction{domain.ActionWithdraw, domain.ActionRedeliver, domain.ActionRevise}},
		{customer, []int{colAccept, colReject}, []domain.OfferAction{domain.ActionAccept, domain.ActionReject}},
	}
	nobody := []domain.Actor{
		{Role: domain.RoleAuditor, Tenant: "*", Subject: "a"},
		{Role: domain.RoleAuditor, Tenant: string(reseller1), Subject: "a"},
		{Role: domain.RoleOperator, Subject: "operator"},
		{Role: domain.RoleReseller, Tenant: string(reseller2), Subject: "tok"},
		{Role: domain.RoleCustomer, Tenant: "c2", Subject: "tok"},
	}
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			o := fold(&domain.Offer{}, sc.history(ptr(expiresAt))...)
			before := o.View()
			for _, r := range byRole {
				want := []domain.OfferAction{}
				for i, col := range r.cols {
					if c := sc.expect[col]; c.err == nil && !c.nothing {
						want = append(want, r.names[i])
					}
				}
				if diff := cmp.Diff(want, o.AllowedActions(r.actor, when)); diff != "" {
					t.Errorf("%s: allowed actions (-want +got):\n%s", r.actor.Role, diff)
				}
				if diff := cmp.Diff(want, o.View().AllowedActions(r.actor, when)); diff != "" {
					t.Errorf("%s: allowed actions of the view (-want +got):\n%s", r.actor.Role, diff)
				}
			}
			for _, a := range nobody {
				if got := o.AllowedActions(a, when); len(got) != 0 {
					t.Errorf("%s of %q is offered %v, want none", a.Role, a.Tenant, got)
				}
			}
			if diff := cmp.Diff(before, o.View()); diff != "" {
				t.Fatalf("asking for the actions changed the offer (-before +after):\n%s", diff)
			}
		})
	}
}

// TestOffer_AllowedActions_PastExpiry: once the expiry time has come the
// customer is offered no decision, though the expiry process has not yet
// recorded the offer expired; the reseller may still withdraw it, but not
// revise it.
func TestOffer_AllowedActions_PastExpiry(t *testing.T) {
	o := fold(&domain.Offer{}, after(delivered(1))(ptr(expiresAt))...)
	customer := domain.Actor{Role: domain.RoleCustomer, Tenant: "c1", Subject: "tok"}
	reseller := domain.Actor{Role: domain.RoleReseller, Tenant: string(reseller1), Subject: "tok"}
	for _, tc := range []struct {
		at       time.Time
		customer []domain.OfferAction
		reseller []domain.OfferAction
	}{
		{expiresAt.Add(-time.Nanosecond), []domain.OfferAction{domain.ActionAccept, domain.ActionReject},
			[]domain.OfferAction{domain.ActionWithdraw, domain.ActionRevise}},
		{expiresAt, []domain.OfferAction{}, []domain.OfferAction{domain.ActionWithdraw}},
		{expiresAt.Add(time.Hour), []domain.OfferAction{}, []domain.OfferAction{domain.ActionWithdraw}},
	} {
		if got := o.AllowedActions(customer, tc.at); !slices.Equal(got, tc.customer) {
			t.Errorf("customer at %s: %v, want %v", tc.at, got, tc.customer)
		}
		if got := o.AllowedActions(reseller, tc.at); !slices.Equal(got, tc.reseller) {
			t.Errorf("reseller at %s: %v, want %v", tc.at, got, tc.reseller)
		}
	}
}
