package domain

import "time"

// OfferCreated records an offer built from a template: a snapshot of its
// items at that moment, so later template edits do not change it.
type OfferCreated struct {
	OfferID    OfferID    `json:"offer_id"`
	ResellerID ResellerID `json:"reseller_id"`
	CustomerID CustomerID `json:"customer_id"`
	TemplateID TemplateID `json:"template_id"`
	Items      []Item     `json:"items"`
	Message    string     `json:"message"`
	ExpiresAt  *time.Time `json:"expires_at"`
	// CampaignID is the campaign the offer was sent in; absent for an
	// offer sent on its own.
	CampaignID CampaignID `json:"campaign_id,omitempty"`
	At         time.Time  `json:"at"`
	// Supersedes is the offer this one revises (see OfferSuperseded); absent
	// for an offer sent afresh.
	Supersedes OfferID `json:"supersedes,omitempty"`
}

func (OfferCreated) EventType() string { return TypeOfferCreated }

// OfferDispatched records an offer handed to the delivery process. Dispatch
// counts from 1 and grows with every redelivery, so that each round of
// delivery has its own identity.
type OfferDispatched struct {
	OfferID  OfferID   `json:"offer_id"`
	Dispatch int       `json:"dispatch"`
	At       time.Time `json:"at"`
}

func (OfferDispatched) EventType() string { return TypeOfferDispatched }

// OfferDelivered records the offer placed in the customer's Updates inbox
// (and, where the customer has a webhook, acknowledged by it).
type OfferDelivered struct {
	OfferID  OfferID   `json:"offer_id"`
	Dispatch int       `json:"dispatch"`
	At       time.Time `json:"at"`
}

func (OfferDelivered) EventType() string { return TypeOfferDelivered }

// OfferDeliveryFailed records that every delivery attempt failed.
type OfferDeliveryFailed struct {
	OfferID  OfferID   `json:"offer_id"`
	Dispatch int       `json:"dispatch"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

func (OfferDeliveryFailed) EventType() string { return TypeOfferDeliveryFailed }

// OfferRead records the customer opening the offer for the first time.
type OfferRead struct {
	OfferID OfferID   `json:"offer_id"`
	At      time.Time `json:"at"`
	// By is the display name of the token that opened it, where it has one.
	By string `json:"by,omitempty"`
}

func (OfferRead) EventType() string { return TypeOfferRead }

// OfferAccepted records the customer accepting the offer.
type OfferAccepted struct {
	OfferID OfferID   `json:"offer_id"`
	At      time.Time `json:"at"`
	// By is the display name of the token that decided, where it has one.
	By string `json:"by,omitempty"`
}

func (OfferAccepted) EventType() string { return TypeOfferAccepted }

// OfferRejected records the customer rejecting the offer.
type OfferRejected struct {
	OfferID OfferID         `json:"offer_id"`
	Reason  RejectionReason `json:"reason"`
	At      time.Time       `json:"at"`
	// By is the display name of the token that decided, where it has one.
	By string `json:"by,omitempty"`
}

func (OfferRejected) EventType() string { return TypeOfferRejected }

// RejectionReason is why a customer rejected an offer: the text they wrote
// and a code from a fixed list, for reports that count reasons. No command
// sets a code yet: "" means none was given. (Schema version 2 of
// offer.rejected; version 1 held the text alone, see Upcast.)
type RejectionReason struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// OfferWithdrawn records the reseller taking the offer back.
type OfferWithdrawn struct {
	OfferID OfferID   `json:"offer_id"`
	At      time.Time `json:"at"`
}

func (OfferWithdrawn) EventType() string { return TypeOfferWithdrawn }

// OfferExpired records that the offer's expiry time passed before a decision.
type OfferExpired struct {
	OfferID OfferID   `json:"offer_id"`
	At      time.Time `json:"at"`
}

func (OfferExpired) EventType() string { return TypeOfferExpired }

// OfferSuperseded records the reseller revising a pending offer: this offer
// is replaced by SupersededBy and can no longer be decided. It carries the
// whole content of the successor (what the reseller changed and what was
// kept), because the successor's creation is a second append, to a stream
// of its own: whoever finishes the revision (the command, or the revision
// process after a crash between the two) creates it from this event alone.
type OfferSuperseded struct {
	OfferID      OfferID    `json:"offer_id"`
	SupersededBy OfferID    `json:"superseded_by"`
	TemplateID   TemplateID `json:"template_id"`
	Items        []Item     `json:"items"`
	Message      string     `json:"message"`
	ExpiresAt    *time.Time `json:"expires_at"`
	At           time.Time  `json:"at"`
}

func (OfferSuperseded) EventType() string { return TypeOfferSuperseded }

// OfferReminded records that an undecided offer was reminded of its
// approaching expiry (once per offer): the customer's webhook is told with
// an offer.expiring notification and the offer is unread again in the
// customer's inbox.
type OfferReminded struct {
	OfferID   OfferID   `json:"offer_id"`
	ExpiresAt time.Time `json:"expires_at"`
	At        time.Time `json:"at"`
}

func (OfferReminded) EventType() string { return TypeOfferReminded }
