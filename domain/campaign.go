package domain

import (
	"fmt"
	"time"
)

// CampaignID names a campaign: one template sent to many customers in one
// command.
type CampaignID string

// MaxCampaignCustomers bounds the customers of one campaign: its event
// lists every offer, and the contract allows 1 to 1,000.
const MaxCampaignCustomers = 1000

// CampaignOffer is one customer of a campaign and the id its offer has (or
// will have: the offers are created from the campaign's event).
type CampaignOffer struct {
	CustomerID CustomerID `json:"customer_id"`
	OfferID    OfferID    `json:"offer_id"`
}

// CampaignStarted records a campaign: everything each of its offers needs,
// so that the offers can be created from this event alone, in any order
// and after a crash, and come out as the command decided them (the items
// are the template's at this moment, not at the moment an offer is made).
type CampaignStarted struct {
	CampaignID CampaignID      `json:"campaign_id"`
	ResellerID ResellerID      `json:"reseller_id"`
	TemplateID TemplateID      `json:"template_id"`
	Items      []Item          `json:"items"`
	Message    string          `json:"message"`
	ExpiresAt  *time.Time      `json:"expires_at"`
	Offers     []CampaignOffer `json:"offers"`
	At         time.Time       `json:"at"`
}

func (CampaignStarted) EventType() string { return TypeCampaignStarted }

// Campaign is one template sent to many customers of a reseller. Each
// customer's offer is an Offer of its own stream; the campaign records
// which offers belong to it.
type Campaign struct {
	id       CampaignID
	reseller ResellerID
	started  CampaignStarted
}

// ID returns the campaign's id, empty until it is started.
func (c *Campaign) ID() CampaignID { return c.id }

// Exists reports whether the campaign has been started.
func (c *Campaign) Exists() bool { return c.id != "" }

// Started returns the event that started the campaign (a copy).
func (c *Campaign) Started() CampaignStarted {
	s := c.started
	s.Items = cloneItems(s.Items)
	s.ExpiresAt = cloneTime(s.ExpiresAt)
	s.Offers = append([]CampaignOffer(nil), s.Offers...)
	return s
}

// VisibleTo reports whether actor may see the campaign: its reseller only.
func (c *Campaign) VisibleTo(a Actor) bool {
	return c.Exists() && (a.Role == RoleReseller && a.Tenant == string(c.reseller) || a.Role == RoleSystem)
}

// Start records a campaign of template t to the customers named by ids, in
// that order. customers holds what each id resolved to (nil, or a customer
// of another reseller, when it names none of reseller's); offerID gives
// each customer's offer its id. Validation is all or nothing: the first id
// that is repeated, unknown or foreign is named in the error (after the
// template, the message and the expiry are checked, so that another
// reseller's template is refused without naming its customers), and
// nothing is recorded.
func (c *Campaign) Start(id CampaignID, reseller ResellerID, t *Template, ids []CustomerID, customers map[CustomerID]*Customer,
	offerID func(CustomerID) OfferID, message string, expiresAt *time.Time, now time.Time) ([]Event, error) {
	if c.Exists() {
		return nil, ErrCampaignExists
	}
	if len(ids) == 0 || len(ids) > MaxCampaignCustomers {
		return nil, Invalid("customer_ids", "customer_ids must name 1 to %d customers", MaxCampaignCustomers)
	}
	exp, err := checkOfferTerms(reseller, t, message, expiresAt, now)
	if err != nil {
		return nil, err
	}
	seen := make(map[CustomerID]bool, len(ids))
	offers := make([]CampaignOffer, len(ids))
	for i, cid := range ids {
		if seen[cid] {
			return nil, Invalid("customer_ids", "customer_ids names %s more than once", quoteID(cid))
		}
		seen[cid] = true
		cu := customers[cid]
		if cu == nil || !cu.Exists() || cu.Reseller() != reseller {
			return nil, Invalid("customer_ids", "customer_ids: %s is not a customer of this reseller", quoteID(cid))
		}
		if cu.erasedAt != nil {
			return nil, Invalid("customer_ids", "customer_ids: %s was erased: it can receive no offers", quoteID(cid))
		}
		offers[i] = CampaignOffer{CustomerID: cid, OfferID: offerID(cid)}
	}
	return []Event{&CampaignStarted{CampaignID: id, ResellerID: reseller, TemplateID: t.ID(), Items: t.Items(),
		Message: message, ExpiresAt: exp, Offers: offers, At: now}}, nil
}

// quoteID quotes an id given by a client for an error message, cut short
// so that a huge one does not fill the answer.
func quoteID(id CustomerID) string { return fmt.Sprintf("%q", truncate(string(id), 100)) }

// Apply folds an event into the campaign.
func (c *Campaign) Apply(e Event) {
	if ev, ok := e.(*CampaignStarted); ok {
		c.id, c.reseller = ev.CampaignID, ev.ResellerID
		c.started = *ev
	}
}

// CreateInCampaign records the offer of campaign s to its i-th customer,
// and its dispatch, as Create does for a single offer; the campaign's
// command checked the template, the customer, the message and the expiry.
func (o *Offer) CreateInCampaign(s CampaignStarted, i int, now time.Time) ([]Event, error) {
	if o.Exists() {
		return nil, ErrOfferExists
	}
	if i < 0 || i >= len(s.Offers) {
		return nil, ErrOfferNotFound
	}
	co := s.Offers[i]
	return []Event{
		&OfferCreated{OfferID: co.OfferID, ResellerID: s.ResellerID, CustomerID: co.CustomerID, TemplateID: s.TemplateID,
			Items: cloneItems(s.Items), Message: s.Message, ExpiresAt: cloneTime(s.ExpiresAt), CampaignID: s.CampaignID, At: now},
		&OfferDispatched{OfferID: co.OfferID, Dispatch: 1, At: now},
	}, nil
}
