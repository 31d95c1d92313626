package domain

import "time"

// License is the right of a customer instance to use a product, granted by an
// accepted offer: one per offer item.
type License struct {
	OfferID     OfferID     `json:"offer_id"`
	ItemID      ItemID      `json:"item_id"`
	ProductID   ProductID   `json:"product_id"`
	ProductName string      `json:"product_name"`
	Kind        ProductKind `json:"kind"`
	TermMonths  int         `json:"term_months"`
	LicenseMode LicenseMode `json:"license_mode"`
	Seats       *int        `json:"seats"`
	GrantedAt   time.Time   `json:"granted_at"`
	ValidUntil  *time.Time  `json:"valid_until"` // nil for relative licenses: the term runs per learner
}

// LicensesGranted records the licenses an accepted offer grants its customer.
type LicensesGranted struct {
	OfferID    OfferID    `json:"offer_id"`
	CustomerID CustomerID `json:"customer_id"`
	ResellerID ResellerID `json:"reseller_id"`
	Licenses   []License  `json:"licenses"`
}

func (LicensesGranted) EventType() string { return TypeLicensesGranted }

// Grant is the license grant of one accepted offer. It exists so that the
// grant is recorded exactly once however often the acceptance is seen.
type Grant struct {
	granted bool
}

// Granted reports whether the licenses have been granted.
func (g *Grant) Granted() bool { return g.granted }

// GrantFor records the licenses for an accepted offer: absolute licenses run
// from acceptance for term_months calendar months; relative ones have no
// fixed end, as the term runs for each learner from the learner's own start.
func (g *Grant) GrantFor(o *Offer) ([]Event, error) {
	if g.granted {
		return nil, ErrLicensesAlreadyGranted
	}
	if o == nil || o.Status() != StatusAccepted || o.state.DecidedAt == nil {
		return nil, ErrLicensesOfferNotAccepted
	}
	return []Event{&LicensesGranted{OfferID: o.state.ID, CustomerID: o.state.CustomerID, ResellerID: o.state.ResellerID,
		Licenses: LicensesFor(o.state.ID, o.state.Items, *o.state.DecidedAt)}}, nil
}

// Apply folds an event into the grant.
func (g *Grant) Apply(e Event) {
	if _, ok := e.(*LicensesGranted); ok {
		g.granted = true
	}
}

// LicensesFor decides the licenses that items grant when accepted at.
func LicensesFor(offer OfferID, items []Item, at time.Time) []License {
	at = at.UTC()
	out := make([]License, 0, len(items))
	for _, it := range items {
		l := License{OfferID: offer, ItemID: it.ID, ProductID: it.ProductID, ProductName: it.ProductName,
			Kind: it.Kind, TermMonths: it.TermMonths, LicenseMode: it.LicenseMode, Seats: cloneSeats(it.Seats), GrantedAt: at}
		if it.LicenseMode != ModeRelative {
			until := AddMonths(at, it.TermMonths)
			l.ValidUntil = &until
		}
		out = append(out, l)
	}
	return out
}

// AddMonths returns t plus n calendar months; a day the target month lacks
// becomes its last day (31 January + 1 month = 28 or 29 February), unlike
// time.AddDate, which would spill into March.
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	h, mi, s := t.Clock()
	return time.Date(first.Year(), first.Month(), d, h, mi, s, t.Nanosecond(), t.Location())
}
