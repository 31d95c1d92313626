package domain

import "time"

// OfferAction is something a person may do to an offer now, as the API
// names it in an offer's allowed_actions.
type OfferAction string

// Offer actions.
const (
	ActionWithdraw  OfferAction = "withdraw"
	ActionRedeliver OfferAction = "redeliver"
	ActionAccept    OfferAction = "accept"
	ActionReject    OfferAction = "reject"
	ActionRevise    OfferAction = "revise"
)

// offerAction is one action: the role that takes it and a dry run of the
// command that carries it out.
type offerAction struct {
	name OfferAction
	role Role
	try  func(o *Offer, now time.Time) ([]Event, error)
}

// offerActions lists every action a person can take on an offer, one line
// each, in the order a page shows their buttons. The rule of each is its
// command's own: an action is allowed exactly when its command would
// succeed, so the list cannot drift from what the commands accept.
func offerActions() []offerAction {
	return []offerAction{
		{ActionAccept, RoleCustomer, func(o *Offer, now time.Time) ([]Event, error) { return o.Accept(now, "") }},
		{ActionReject, RoleCustomer, func(o *Offer, now time.Time) ([]Event, error) { return o.Reject("", now, "") }},
		{ActionWithdraw, RoleReseller, func(o *Offer, now time.Time) ([]Event, error) { return o.Withdraw(now) }},
		{ActionRedeliver, RoleReseller, func(o *Offer, now time.Time) ([]Event, error) { return o.Redeliver(now) }},
		{ActionRevise, RoleReseller, func(o *Offer, now time.Time) ([]Event, error) { return o.Revise("", Revision{}, now) }},
	}
}

// OfferActions lists every action, in the order of offerActions (for the
// API's schema).
func OfferActions() []OfferAction {
	var out []OfferAction
	for _, a := range offerActions() {
		out = append(out, a.name)
	}
	return out
}

// AllowedActions returns what actor may do to the offer at now: the actions
// of actor's role whose commands would succeed. It is empty for an offer
// actor may not see, and for roles that only read (auditor, operator). The
// commands decide all the same; this tells a client which buttons to show.
func (o *Offer) AllowedActions(actor Actor, now time.Time) []OfferAction {
	out := []OfferAction{}
	if !o.VisibleTo(actor) {
		return out
	}
	for _, a := range offerActions() {
		if a.role != actor.Role {
			continue
		}
		// The dry run leaves the offer as it is: a command only returns
		// the events it would record.
		if _, err := a.try(o, now); err == nil {
			out = append(out, a.name)
		}
	}
	return out
}

// AllowedActions is Offer.AllowedActions for an offer's view (a read
// model's row).
func (v OfferView) AllowedActions(actor Actor, now time.Time) []OfferAction {
	return RestoreOffer(v).AllowedActions(actor, now)
}
