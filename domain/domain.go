// Package domain holds the business of offerflow: resellers, their product
// catalog, offer templates, customer instances and offers, the rules of every
// transition and the events that record them.
//
// The package is pure: it imports only the standard library, never reads the
// clock or a random source (time and new ids arrive as arguments), and knows
// nothing of storage or transport. Aggregates keep their state unexported;
// each has command methods that check the rules and return the events that
// record the change (they do not change the aggregate), and one Apply method
// that folds an event into state and never fails.
package domain

import (
	"time"
)

// ID types keep one kind of identifier from being passed for another.
type (
	ResellerID string
	CustomerID string
	ProductID  string
	TemplateID string
	ItemID     string
	OfferID    string
)

// Role is who acts: one of the roles of the API, or the system itself.
type Role string

// Roles. RoleSystem is recorded for work the background processes do
// (delivery, expiry, license grant).
const (
	RoleOperator Role = "operator"
	RoleReseller Role = "reseller"
	RoleCustomer Role = "customer"
	RoleAuditor  Role = "auditor"
	RoleSystem   Role = "system"
)

// ParseRole parses a role given at the edge (token creation). The system role
// cannot be given to a token.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOperator, RoleReseller, RoleCustomer, RoleAuditor:
		return r, nil
	}
	return "", Invalid("role", "role must be one of operator, reseller, customer, auditor")
}

// Actor is who caused an event: every event records one.
type Actor struct {
	Role    Role   `json:"role"`
	Tenant  string `json:"tenant"`
	Subject string `json:"subject"`
	// Name is the display name of the token that acted, where one was
	// given (see TokenIssued.Name).
	Name string `json:"name,omitempty"`
}

// SystemActor is the actor recorded by background processes.
func SystemActor(process string) Actor {
	return Actor{Role: RoleSystem, Tenant: "*", Subject: process}
}

// Limits of the contract. Text limits count Unicode code points.
const (
	MaxMessageLen   = 2000
	MaxReasonLen    = 2000
	MaxNameLen      = 200
	MaxExternalRef  = 200
	MaxExpiryAhead  = 365 * 24 * time.Hour
	MaxTermMonths   = 120
	MaxTermsPerItem = 12
	MaxSeats        = 1_000_000
	// MaxItemsPerTemplate caps a template (and so an offer): every change
	// of a template re-reads its stream, and an offer snapshots its items.
	MaxItemsPerTemplate = 100
)
