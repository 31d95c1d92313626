package domain

// Scope is what an actor may see of offers (and of what hangs on them: their
// histories, their events on the live stream, their grants). ScopeOf is the
// one place that decides it; Offer.VisibleTo, the audit read model's SQL
// filter and the live stream all apply a Scope rather than restating the
// rule. The zero Scope sees nothing.
type Scope struct {
	// All sees every offer (the system, an auditor of every reseller).
	All bool
	// Reseller, when set, limits the scope to that reseller's offers.
	Reseller ResellerID
	// Customer, when set, limits the scope to offers sent to that customer.
	Customer CustomerID
	// DeliveredOnly limits the scope to offers already delivered into the
	// customer's inbox: a customer does not learn of an offer before then.
	DeliveredOnly bool
}

// ScopeOf returns what actor may see: a reseller its own offers, an auditor
// its reseller's (every reseller's with tenant "*"), a customer the offers
// delivered to it, the system everything. Any other role, or a role without
// a tenant, sees nothing.
func ScopeOf(a Actor) Scope {
	switch {
	case a.Role == RoleSystem, a.Role == RoleAuditor && a.Tenant == "*":
		return Scope{All: true}
	case a.Tenant == "":
		return Scope{}
	case a.Role == RoleReseller, a.Role == RoleAuditor:
		return Scope{Reseller: ResellerID(a.Tenant)}
	case a.Role == RoleCustomer:
		return Scope{Customer: CustomerID(a.Tenant), DeliveredOnly: true}
	}
	return Scope{}
}

// None reports whether the scope sees nothing at all.
func (s Scope) None() bool { return !s.All && s.Reseller == "" && s.Customer == "" }

// Sees reports whether the scope covers an offer of reseller to customer,
// delivered or not yet.
func (s Scope) Sees(reseller ResellerID, customer CustomerID, delivered bool) bool {
	switch {
	case s.None():
		return false
	case s.Reseller != "" && s.Reseller != reseller:
		return false
	case s.Customer != "" && s.Customer != customer:
		return false
	case s.DeliveredOnly && !delivered:
		return false
	}
	return true
}
