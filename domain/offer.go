package domain

import (
	"strings"
	"time"
)

// OfferStatus is where an offer stands in its lifecycle, as the API spells it.
type OfferStatus string

// Offer statuses.
const (
	StatusWaiting                OfferStatus = "waiting"
	StatusWaitingForConfirmation OfferStatus = "waiting_for_confirmation"
	StatusAccepted               OfferStatus = "accepted"
	StatusRejected               OfferStatus = "rejected"
	StatusWithdrawn              OfferStatus = "withdrawn"
	StatusExpired                OfferStatus = "expired"
	StatusDeliveryFailed         OfferStatus = "delivery_failed"
	// StatusSuperseded is a pending offer replaced by a revision.
	StatusSuperseded OfferStatus = "superseded"
)

// OfferStatuses lists every status, in lifecycle order.
func OfferStatuses() []OfferStatus {
	return []OfferStatus{StatusWaiting, StatusWaitingForConfirmation, StatusAccepted, StatusRejected,
		StatusWithdrawn, StatusExpired, StatusDeliveryFailed, StatusSuperseded}
}

// ParseOfferStatus parses a status given at the edge (a query filter).
func ParseOfferStatus(s string) (OfferStatus, error) {
	for _, st := range OfferStatuses() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Invalid("status", "status must be one of waiting, waiting_for_confirmation, accepted, rejected, withdrawn, expired, delivery_failed, superseded")
}

// Offer is a set of licenses a reseller offers to one customer instance.
type Offer struct {
	// state is everything of the offer that readers see: View returns it
	// and RestoreOffer takes it back, so that a field added to OfferView
	// is the offer's at once.
	state OfferView
	// revision is what the offer was superseded with: the successor's
	// content, for CreateRevision. Only the command side needs it, so it
	// is not part of the view.
	revision *OfferSuperseded
	// campaign is the campaign the offer was sent in, which its revisions
	// stay in; like revision, only the command side needs it.
	campaign CampaignID
}

// OfferView is a read-only copy of an offer's state, for projections and
// responses built from the log. Its JSON, as these tags name the fields, is
// the read models' state document of an offer (the state column of their
// offers and inbox tables): a field added here is kept there with no other
// change.
type OfferView struct {
	ID              OfferID     `json:"id"`
	ResellerID      ResellerID  `json:"reseller_id"`
	CustomerID      CustomerID  `json:"customer_id"`
	TemplateID      TemplateID  `json:"template_id"`
	Items           []Item      `json:"items"`
	Message         string      `json:"message"`
	ExpiresAt       *time.Time  `json:"expires_at"`
	Status          OfferStatus `json:"status"`
	Dispatch        int         `json:"dispatch"`
	Delivered       bool        `json:"delivered"`
	CreatedAt       time.Time   `json:"created_at"`
	DeliveredAt     *time.Time  `json:"delivered_at"`
	OpenedAt        *time.Time  `json:"opened_at"`
	DecidedAt       *time.Time  `json:"decided_at"`
	WithdrawnAt     *time.Time  `json:"withdrawn_at"`
	ExpiredAt       *time.Time  `json:"expired_at"`
	RejectionReason string      `json:"rejection_reason"`
	DeliveryError   string      `json:"delivery_error"`
	// OpenedBy and DecidedBy are the display names of the tokens that
	// opened and decided the offer, "" where they had none.
	OpenedBy  string `json:"opened_by"`
	DecidedBy string `json:"decided_by"`
	// Supersedes is the offer this one revised; SupersededBy the revision
	// that replaced this one.
	Supersedes   OfferID `json:"supersedes"`
	SupersededBy OfferID `json:"superseded_by"`
	// RemindedAt is when the customer was reminded of the expiry;
	// ReminderRead whether the customer opened the offer since.
	RemindedAt   *time.Time `json:"reminded_at"`
	ReminderRead bool       `json:"reminder_read"`
	// Erased tells that the customer was erased: Message and
	// RejectionReason are gone, whatever they held.
	Erased bool `json:"erased"`
}

// View returns a copy of the offer's state. Apply never writes through the
// state's time pointers (it sets new ones), so the copy shares them; the
// items are copied, as a caller may sort or change them.
func (o *Offer) View() OfferView {
	v := o.state
	v.Items = cloneItems(v.Items)
	return v
}

// Unread reports whether the offer counts as unread in its customer's
// inbox: never opened, or not opened since the reminder of its expiry.
func (v OfferView) Unread() bool {
	return v.OpenedAt == nil || (v.RemindedAt != nil && !v.ReminderRead)
}

// RestoreOffer returns the offer whose state v is, the inverse of View. Read
// models that keep offers as their state document use it to fold the next
// event with the domain's own Apply instead of a copy of it.
func RestoreOffer(v OfferView) *Offer {
	v.Items = cloneItems(v.Items)
	return &Offer{state: v}
}

// ID returns the offer's id, empty until it is created.
func (o *Offer) ID() OfferID { return o.state.ID }

// Exists reports whether the offer has been created.
func (o *Offer) Exists() bool { return o.state.ID != "" }

// Status returns the offer's status.
func (o *Offer) Status() OfferStatus { return o.state.Status }

// Reseller returns the reseller that sent the offer.
func (o *Offer) Reseller() ResellerID { return o.state.ResellerID }

// Customer returns the customer the offer is for.
func (o *Offer) Customer() CustomerID { return o.state.CustomerID }

// Dispatch returns the number of the current round of delivery.
func (o *Offer) Dispatch() int { return o.state.Dispatch }

// VisibleTo reports whether actor may see the offer at all: a reseller its
// own, an auditor its reseller's (or every one with tenant "*"), a customer
// its own once delivered. To anyone else the offer does not exist.
func (o *Offer) VisibleTo(a Actor) bool {
	return o.Exists() && ScopeOf(a).Sees(o.state.ResellerID, o.state.CustomerID, o.state.Delivered)
}

// Create records a new offer of template to customer, and its dispatch to the
// delivery process. The template and the customer must belong to reseller;
// the template must be live and hold items.
func (o *Offer) Create(id OfferID, reseller ResellerID, c *Customer, t *Template, message string, expiresAt *time.Time, now time.Time) ([]Event, error) {
	if o.Exists() {
		return nil, ErrOfferExists
	}
	if c == nil || !c.Exists() || c.Reseller() != reseller {
		return nil, ErrCustomerNotFound
	}
	if c.erasedAt != nil {
		return nil, ErrCustomerErased
	}
	expiresAt, err := checkOfferTerms(reseller, t, message, expiresAt, now)
	if err != nil {
		return nil, err
	}
	return []Event{
		&OfferCreated{OfferID: id, ResellerID: reseller, CustomerID: c.ID(), TemplateID: t.ID(),
			Items: t.Items(), Message: message, ExpiresAt: expiresAt, At: now},
		&OfferDispatched{OfferID: id, Dispatch: 1, At: now},
	}, nil
}

// checkOfferTerms checks what an offer of template t with message and
// expiresAt needs, made by reseller at now, and returns expiresAt in UTC.
func checkOfferTerms(reseller ResellerID, t *Template, message string, expiresAt *time.Time, now time.Time) (*time.Time, error) {
	if err := checkOfferTemplate(reseller, t); err != nil {
		return nil, err
	}
	if err := CheckText("message", message, MultiLine, MaxMessageLen); err != nil {
		return nil, err
	}
	expiresAt, err := checkOfferExpiry(expiresAt, now)
	if err != nil {
		return nil, err
	}
	return expiresAt, nil
}

// checkOfferTemplate checks that t may be sent by reseller: its own, live,
// with items.
func checkOfferTemplate(reseller ResellerID, t *Template) error {
	if t == nil || !t.Exists() || t.Reseller() != reseller {
		return Invalid("template_id", "template_id does not name a template of this reseller")
	}
	if t.Archived() {
		return Invalid("template_id", "template is archived")
	}
	if len(t.Items()) == 0 {
		return Invalid("template_id", "template has no items")
	}
	return nil
}

// checkOfferExpiry checks a new offer's expiry time and returns it in UTC.
func checkOfferExpiry(expiresAt *time.Time, now time.Time) (*time.Time, error) {
	if expiresAt == nil {
		return nil, nil
	}
	if !expiresAt.After(now) {
		return nil, Invalid("expires_at", "expires_at must lie in the future")
	}
	if expiresAt.Sub(now) > MaxExpiryAhead {
		return nil, Invalid("expires_at", "expires_at must be at most 365 days ahead")
	}
	utc := expiresAt.UTC()
	return &utc, nil
}

// Revision is what a reseller changes when revising an offer; a nil field
// keeps the old offer's value (its items snapshot when Template is nil).
type Revision struct {
	Template  *Template
	Message   *string
	ExpiresAt *time.Time
}

// Revise records the reseller replacing an undecided offer with a revision,
// successor, which CreateRevision then creates. The offer becomes
// superseded and can no longer be decided. Validation (422) is answered
// before the state (409), as for every command.
func (o *Offer) Revise(successor OfferID, r Revision, now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	ev := &OfferSuperseded{OfferID: o.state.ID, SupersededBy: successor, TemplateID: o.state.TemplateID,
		Items: cloneItems(o.state.Items), Message: o.state.Message, ExpiresAt: cloneTime(o.state.ExpiresAt), At: now}
	if r.Template != nil {
		if err := checkOfferTemplate(o.state.ResellerID, r.Template); err != nil {
			return nil, err
		}
		ev.TemplateID, ev.Items = r.Template.ID(), r.Template.Items()
	}
	if r.Message != nil {
		if err := CheckText("message", *r.Message, MultiLine, MaxMessageLen); err != nil {
			return nil, err
		}
		ev.Message = *r.Message
	}
	if r.ExpiresAt != nil {
		exp, err := checkOfferExpiry(r.ExpiresAt, now)
		if err != nil {
			return nil, err
		}
		ev.ExpiresAt = exp
	}
	switch o.state.Status {
	case StatusWaiting, StatusWaitingForConfirmation, StatusDeliveryFailed:
	default:
		return nil, ErrOfferNotRevisable
	}
	// An offer past its deadline is expired in all but the record (the
	// expiry process may lag): it is not revived by a revision.
	if o.state.ExpiresAt != nil && !now.Before(*o.state.ExpiresAt) {
		return nil, ErrOfferPastExpiry
	}
	return []Event{ev}, nil
}

// CreateRevision records the successor of old, which a revision superseded,
// with the content the revision recorded, in old's campaign if it had one,
// and its dispatch to delivery.
func (o *Offer) CreateRevision(old *Offer, now time.Time) ([]Event, error) {
	if o.Exists() {
		return nil, ErrOfferExists
	}
	if old == nil || old.revision == nil {
		return nil, ErrOfferNotSuperseded
	}
	r := old.revision
	return []Event{
		&OfferCreated{OfferID: r.SupersededBy, ResellerID: old.state.ResellerID, CustomerID: old.state.CustomerID, TemplateID: r.TemplateID,
			Items: cloneItems(r.Items), Message: r.Message, ExpiresAt: cloneTime(r.ExpiresAt), CampaignID: old.campaign, At: now, Supersedes: old.state.ID},
		&OfferDispatched{OfferID: r.SupersededBy, Dispatch: 1, At: now},
	}, nil
}

// SupersededBy returns the revision that replaced the offer, if any.
func (o *Offer) SupersededBy() OfferID { return o.state.SupersededBy }

// ExpiresAt returns the offer's expiry time, nil for none.
func (o *Offer) ExpiresAt() *time.Time { return cloneTime(o.state.ExpiresAt) }

// Remind records the one reminder of an undecided offer's expiry, once the
// time left is less than window.
func (o *Offer) Remind(window time.Duration, now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	switch o.state.Status {
	case StatusWaiting, StatusWaitingForConfirmation, StatusDeliveryFailed:
	default:
		return nil, ErrOfferNotRemindable
	}
	if o.state.ExpiresAt == nil || o.state.RemindedAt != nil {
		return nil, ErrOfferNotRemindable
	}
	if !now.Before(*o.state.ExpiresAt) {
		return nil, ErrOfferPastExpiry
	}
	if o.state.ExpiresAt.Sub(now) >= window {
		return nil, ErrOfferNotInReminderWindow
	}
	return []Event{&OfferReminded{OfferID: o.state.ID, ExpiresAt: *o.state.ExpiresAt, At: now}}, nil
}

// Deliver records the offer delivered into the customer's inbox. Only the
// current round of delivery may complete it.
func (o *Offer) Deliver(dispatch int, now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	if o.state.Status != StatusWaiting || dispatch != o.state.Dispatch {
		return nil, ErrOfferNotWaiting
	}
	return []Event{&OfferDelivered{OfferID: o.state.ID, Dispatch: dispatch, At: now}}, nil
}

// FailDelivery records that the current round of delivery gave up.
func (o *Offer) FailDelivery(dispatch int, reason string, attempts int, now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	if o.state.Status != StatusWaiting || dispatch != o.state.Dispatch {
		return nil, ErrOfferNotWaiting
	}
	if reason == "" {
		reason = "delivery failed"
	}
	return []Event{&OfferDeliveryFailed{OfferID: o.state.ID, Dispatch: dispatch, Error: truncate(reason, 1000), Attempts: attempts, At: now}}, nil
}

// Redeliver records a new round of delivery after a failed one.
func (o *Offer) Redeliver(now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	if o.state.Status != StatusDeliveryFailed {
		return nil, ErrOfferNotRedeliverable
	}
	return []Event{&OfferDispatched{OfferID: o.state.ID, Dispatch: o.state.Dispatch + 1, At: now}}, nil
}

// Read records the customer opening the offer. Only the first opening is
// recorded, and the first after a reminder; a repeat records nothing. by is the display name of whoever
// opened it ("" for none).
func (o *Offer) Read(now time.Time, by string) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	if !o.state.Delivered {
		return nil, ErrOfferNotDelivered
	}
	if o.state.OpenedAt != nil && (o.state.RemindedAt == nil || o.state.ReminderRead) {
		return nil, nil
	}
	return []Event{&OfferRead{OfferID: o.state.ID, At: now, By: by}}, nil
}

// Accept records the customer accepting the offer; by is the display name
// of whoever decided ("" for none).
func (o *Offer) Accept(now time.Time, by string) ([]Event, error) {
	if err := o.decidable(now); err != nil {
		return nil, err
	}
	return []Event{&OfferAccepted{OfferID: o.state.ID, At: now, By: by}}, nil
}

// Reject records the customer rejecting the offer, with an optional reason.
func (o *Offer) Reject(reason string, now time.Time, by string) ([]Event, error) {
	// The contract answers a missing offer (404) before a bad body (422),
	// and a bad body before a wrong state (409).
	if err := o.inInbox(); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if err := CheckText("reason", reason, MultiLine, MaxReasonLen); err != nil {
		return nil, err
	}
	if err := o.decidable(now); err != nil {
		return nil, err
	}
	return []Event{&OfferRejected{OfferID: o.state.ID, Reason: RejectionReason{Text: reason}, At: now, By: by}}, nil
}

// inInbox reports whether the offer exists for its customer: created and
// delivered.
func (o *Offer) inInbox() error {
	if !o.Exists() {
		return ErrOfferNotFound
	}
	if !o.state.Delivered {
		return ErrOfferNotDelivered
	}
	return nil
}

func (o *Offer) decidable(now time.Time) error {
	if err := o.inInbox(); err != nil {
		return err
	}
	if o.state.Status != StatusWaitingForConfirmation {
		return ErrOfferNotPending
	}
	// The deadline holds by itself: the expiry process may be behind, or
	// run on another node, and must not be what refuses a late decision.
	if o.state.ExpiresAt != nil && !now.Before(*o.state.ExpiresAt) {
		return ErrOfferPastExpiry
	}
	return nil
}

// Withdraw records the reseller taking the offer back, which it may until the
// customer decides.
func (o *Offer) Withdraw(now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	switch o.state.Status {
	case StatusWaiting, StatusWaitingForConfirmation, StatusDeliveryFailed:
		return []Event{&OfferWithdrawn{OfferID: o.state.ID, At: now}}, nil
	}
	return nil, ErrOfferNotWithdrawable
}

// Expire records that the offer's expiry time passed before a decision.
func (o *Offer) Expire(now time.Time) ([]Event, error) {
	if !o.Exists() {
		return nil, ErrOfferNotFound
	}
	if o.state.ExpiresAt == nil {
		return nil, ErrOfferHasNoExpiry
	}
	switch o.state.Status {
	case StatusWaiting, StatusWaitingForConfirmation, StatusDeliveryFailed:
	default:
		return nil, ErrOfferNotExpirable
	}
	if now.Before(*o.state.ExpiresAt) {
		return nil, ErrOfferNotDue
	}
	return []Event{&OfferExpired{OfferID: o.state.ID, At: now}}, nil
}

// Apply folds an event into the offer.
func (o *Offer) Apply(e Event) {
	switch ev := e.(type) {
	case *CustomerErased:
		// Not of the offer's stream: folded in by readers that know the
		// offer's customer was erased, so that its texts show as gone.
		if ev.CustomerID == o.state.CustomerID {
			o.state.Message, o.state.RejectionReason, o.state.Erased = "", "", true
			if o.revision != nil {
				r := *o.revision
				r.Message = ""
				o.revision = &r
			}
		}
	case *OfferCreated:
		o.state.ID, o.state.ResellerID, o.state.CustomerID, o.state.TemplateID = ev.OfferID, ev.ResellerID, ev.CustomerID, ev.TemplateID
		o.state.Items, o.state.Message, o.state.ExpiresAt = cloneItems(ev.Items), ev.Message, cloneTime(ev.ExpiresAt)
		o.state.CreatedAt, o.state.Status, o.state.Supersedes, o.campaign = ev.At, StatusWaiting, ev.Supersedes, ev.CampaignID
	case *OfferDispatched:
		o.state.Dispatch, o.state.Status, o.state.DeliveryError = ev.Dispatch, StatusWaiting, ""
	case *OfferDelivered:
		o.state.Status, o.state.Delivered, o.state.DeliveredAt = StatusWaitingForConfirmation, true, timePtr(ev.At)
	case *OfferDeliveryFailed:
		o.state.Status, o.state.DeliveryError = StatusDeliveryFailed, ev.Error
	case *OfferRead:
		// opened_at stays the first opening; a later one only answers a
		// reminder.
		if o.state.OpenedAt == nil {
			o.state.OpenedAt, o.state.OpenedBy = timePtr(ev.At), ev.By
		}
		if o.state.RemindedAt != nil {
			o.state.ReminderRead = true
		}
	case *OfferAccepted:
		o.state.Status, o.state.DecidedAt, o.state.DecidedBy = StatusAccepted, timePtr(ev.At), ev.By
	case *OfferRejected:
		o.state.Status, o.state.DecidedAt, o.state.RejectionReason, o.state.DecidedBy = StatusRejected, timePtr(ev.At), ev.Reason.Text, ev.By
	case *OfferWithdrawn:
		o.state.Status, o.state.WithdrawnAt = StatusWithdrawn, timePtr(ev.At)
	case *OfferExpired:
		o.state.Status, o.state.ExpiredAt = StatusExpired, timePtr(ev.At)
	case *OfferSuperseded:
		o.state.Status, o.state.SupersededBy = StatusSuperseded, ev.SupersededBy
		r := *ev
		o.revision = &r
	case *OfferReminded:
		o.state.RemindedAt, o.state.ReminderRead = timePtr(ev.At), false
	}
}

// OfferStatusAfter returns the status e leaves an offer in whose status was
// before ("" before its creation), as Apply folds it: for readers that
// follow offers' statuses and nothing else of them (the live stream).
func OfferStatusAfter(before OfferStatus, e Event) OfferStatus {
	o := Offer{state: OfferView{Status: before}}
	o.Apply(e)
	return o.state.Status
}

func timePtr(t time.Time) *time.Time { return &t }

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
