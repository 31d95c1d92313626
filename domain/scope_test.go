package domain_test

import (
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// TestScopeOf_Sees checks, for every role, which offers its scope covers:
// an offer of reseller r1 to customer c1, before and after delivery, and
// offers of another reseller and to another customer.
func TestScopeOf_Sees(t *testing.T) {
	type offer struct {
		reseller  domain.ResellerID
		customer  domain.CustomerID
		delivered bool
	}
	var (
		own          = offer{"r1", "c1", false}
		ownDelivered = offer{"r1", "c1", true}
		otherRes     = offer{"r2", "c2", true}
		otherCust    = offer{"r1", "c2", true}
	)
	tests := []struct {
		name  string
		actor domain.Actor
		sees  map[offer]bool
	}{
		{"reseller", domain.Actor{Role: domain.RoleReseller, Tenant: "r1"},
			map[offer]bool{own: true, ownDelivered: true, otherRes: false, otherCust: true}},
		{"auditor of one reseller", domain.Actor{Role: domain.RoleAuditor, Tenant: "r1"},
			map[offer]bool{own: true, ownDelivered: true, otherRes: false, otherCust: true}},
		{"auditor of all", domain.Actor{Role: domain.RoleAuditor, Tenant: "*"},
			map[offer]bool{own: true, ownDelivered: true, otherRes: true, otherCust: true}},
		{"customer", domain.Actor{Role: domain.RoleCustomer, Tenant: "c1"},
			map[offer]bool{own: false, ownDelivered: true, otherRes: false, otherCust: false}},
		{"system", domain.SystemActor("delivery"),
			map[offer]bool{own: true, ownDelivered: true, otherRes: true, otherCust: true}},
		{"operator", domain.Actor{Role: domain.RoleOperator, Tenant: "*"},
			map[offer]bool{own: false, ownDelivered: false, otherRes: false, otherCust: false}},
		{"reseller without tenant", domain.Actor{Role: domain.RoleReseller},
			map[offer]bool{own: false, ownDelivered: false, otherRes: false, otherCust: false}},
		{"customer without tenant", domain.Actor{Role: domain.RoleCustomer},
			map[offer]bool{own: false, ownDelivered: false, otherRes: false, otherCust: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := domain.ScopeOf(tt.actor)
			for o, want := range tt.sees {
				if got := sc.Sees(o.reseller, o.customer, o.delivered); got != want {
					t.Errorf("ScopeOf(%+v) = %+v: Sees(%+v) = %v, want %v", tt.actor, sc, o, got, want)
				}
			}
			if none := !tt.sees[ownDelivered] && !tt.sees[otherRes]; sc.None() != none {
				t.Errorf("ScopeOf(%+v).None() = %v, want %v", tt.actor, sc.None(), none)
			}
		})
	}
}
