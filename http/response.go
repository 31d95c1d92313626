package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Response shapes. They are the contract's, in snake_case; times are RFC
// 3339 in UTC; absent optional values are null rather than missing, so that
// every key is always there.

type resellerJSON struct {
	ID      domain.ResellerID `json:"id"`
	Name    string            `json:"name"`
	Version uint64            `json:"version"`
}

type tokenJSON struct {
	ID        string      `json:"id"`
	Token     string      `json:"token"`
	Role      domain.Role `json:"role"`
	Tenant    string      `json:"tenant"`
	Name      *string     `json:"name"`
	ExpiresAt *time.Time  `json:"expires_at"`
}

type productJSON struct {
	ID                 domain.ProductID   `json:"id"`
	Name               string             `json:"name"`
	Kind               domain.ProductKind `json:"kind"`
	LicenseTermsMonths []int              `json:"license_terms_months"`
	Version            uint64             `json:"version"`
}

func productFromRecord(p domain.ProductRecord) productJSON {
	terms := p.LicenseTermsMonths
	if terms == nil {
		terms = []int{}
	}
	return productJSON{ID: p.ID, Name: p.Name, Kind: p.Kind, LicenseTermsMonths: terms, Version: p.Version}
}

type itemJSON struct {
	ID          domain.ItemID      `json:"id"`
	ProductID   domain.ProductID   `json:"product_id"`
	ProductName string             `json:"product_name"`
	Kind        domain.ProductKind `json:"kind"`
	TermMonths  int                `json:"term_months"`
	LicenseMode domain.LicenseMode `json:"license_mode"`
	Seats       *int               `json:"seats"`
}

func itemsJSON(items []domain.Item) []itemJSON {
	out := make([]itemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, itemJSON{ID: it.ID, ProductID: it.ProductID, ProductName: it.ProductName, Kind: it.Kind,
			TermMonths: it.TermMonths, LicenseMode: it.LicenseMode, Seats: it.Seats})
	}
	return out
}

type templateJSON struct {
	ID       domain.TemplateID `json:"id"`
	Name     string            `json:"name"`
	Archived bool              `json:"archived"`
	Items    []itemJSON        `json:"items"`
	Version  uint64            `json:"version"`
}

func templateFromRecord(t domain.TemplateRecord) templateJSON {
	return templateJSON{ID: t.ID, Name: t.Name, Archived: t.Archived, Items: itemsJSON(t.Items), Version: t.Version}
}

func templateFromDomain(t *domain.Template, version uint64) templateJSON {
	return templateJSON{ID: t.ID(), Name: t.Name(), Archived: t.Archived(), Items: itemsJSON(t.Items()), Version: version}
}

type customerJSON struct {
	ID          domain.CustomerID          `json:"id"`
	Name        *string                    `json:"name"` // null once erased
	ExternalRef *string                    `json:"external_ref"`
	OfferCounts map[domain.OfferStatus]int `json:"offer_counts"`
	Version     uint64                     `json:"version"`
	Erased      bool                       `json:"erased,omitempty"`
}

// offerCounts has every status as a key, zero where there are none.
func offerCounts(in map[domain.OfferStatus]int) map[domain.OfferStatus]int {
	out := make(map[domain.OfferStatus]int, len(domain.OfferStatuses()))
	for _, st := range domain.OfferStatuses() {
		out[st] = in[st]
	}
	return out
}

func customerFromRecord(c domain.CustomerRecord) customerJSON {
	out := customerJSON{ID: c.ID, Name: &c.Name, ExternalRef: optString(c.ExternalRef), OfferCounts: offerCounts(c.OfferCounts), Version: c.Version}
	if c.Erased {
		out.Name, out.ExternalRef, out.Erased = nil, nil, true
	}
	return out
}

// customerDetailJSON is one customer with its offers, newest first.
type customerDetailJSON struct {
	customerJSON
	Offers           []offerJSON `json:"offers"`
	OffersNextCursor *string     `json:"offers_next_cursor"`
}

type offerJSON struct {
	ID              domain.OfferID     `json:"id"`
	ResellerID      domain.ResellerID  `json:"reseller_id"`
	CustomerID      domain.CustomerID  `json:"customer_id"`
	CustomerName    *string            `json:"customer_name,omitempty"`
	TemplateID      domain.TemplateID  `json:"template_id"`
	Status          domain.OfferStatus `json:"status"`
	Items           []itemJSON         `json:"items"`
	Message         *string            `json:"message"` // null once the customer was erased
	ExpiresAt       *time.Time         `json:"expires_at"`
	CreatedAt       time.Time          `json:"created_at"`
	DeliveredAt     *time.Time         `json:"delivered_at"`
	OpenedAt        *time.Time         `json:"opened_at"`
	OpenedBy        *string            `json:"opened_by"`
	DecidedAt       *time.Time         `json:"decided_at"`
	DecidedBy       *string            `json:"decided_by"`
	WithdrawnAt     *time.Time         `json:"withdrawn_at"`
	ExpiredAt       *time.Time         `json:"expired_at"`
	RejectionReason *string            `json:"rejection_reason"`
	DeliveryError   *string            `json:"delivery_error"`
	Supersedes      *domain.OfferID    `json:"supersedes"`
	SupersededBy    *domain.OfferID    `json:"superseded_by"`
	RemindedAt      *time.Time         `json:"reminded_at"`
	Version         uint64             `json:"version"`
	// AllowedActions is what the caller may do to the offer now
	// (domain.Offer.AllowedActions), so that a client shows exactly the
	// buttons that will work.
	AllowedActions []domain.OfferAction `json:"allowed_actions"`
	Erased         bool                 `json:"erased,omitempty"`
}

// viewer is who reads an offer and when: an offer's allowed_actions are
// what that actor may do to it at that moment.
type viewer struct {
	actor domain.Actor
	now   time.Time
}

// viewerOf is the caller of r, now by the server's clock.
func (s *Server) viewerOf(r *http.Request) viewer {
	return viewer{actor: identity(r), now: s.cfg.Now().UTC()}
}

func offerFromView(o domain.OfferView, version uint64, v viewer) offerJSON {
	out := offerJSON{
		ID: o.ID, ResellerID: o.ResellerID, CustomerID: o.CustomerID, TemplateID: o.TemplateID,
		Status: o.Status, Items: itemsJSON(o.Items), Message: erasable(o.Message, o.Erased), ExpiresAt: utcPtr(o.ExpiresAt),
		CreatedAt: o.CreatedAt.UTC(), DeliveredAt: utcPtr(o.DeliveredAt), OpenedAt: utcPtr(o.OpenedAt),
		DecidedAt: utcPtr(o.DecidedAt), WithdrawnAt: utcPtr(o.WithdrawnAt), ExpiredAt: utcPtr(o.ExpiredAt),
		DeliveryError: optString(o.DeliveryError), Version: version,
		OpenedBy: optString(o.OpenedBy), DecidedBy: optString(o.DecidedBy),
		AllowedActions: o.AllowedActions(v.actor, v.now),
		Supersedes:     optID(o.Supersedes), SupersededBy: optID(o.SupersededBy), RemindedAt: utcPtr(o.RemindedAt),
	}
	if o.Status == domain.StatusRejected {
		// A rejection without a reason still has one: the empty one.
		out.RejectionReason = erasable(o.RejectionReason, o.Erased)
	}
	out.Erased = o.Erased
	return out
}

// erasable is a text that shows as null once its customer was erased.
func erasable(s string, erased bool) *string {
	if erased {
		return nil
	}
	return &s
}

func (v viewer) offerFromRecord(o domain.OfferRecord) offerJSON {
	out := offerFromView(o.Offer, o.Version, v)
	if !o.Offer.Erased {
		out.CustomerName = optString(o.CustomerName)
	}
	return out
}

type inboxEntryJSON struct {
	ID           domain.OfferID     `json:"id"`
	OfferID      domain.OfferID     `json:"offer_id"`
	ResellerName string             `json:"reseller_name"`
	Status       domain.OfferStatus `json:"status"`
	Read         bool               `json:"read"`
	Items        []itemJSON         `json:"items"`
	Message      *string            `json:"message"` // null once the customer was erased
	ExpiresAt    *time.Time         `json:"expires_at"`
	ReceivedAt   time.Time          `json:"received_at"`
	DecidedAt    *time.Time         `json:"decided_at"`
	Supersedes   *domain.OfferID    `json:"supersedes"`
	SupersededBy *domain.OfferID    `json:"superseded_by"`
	RemindedAt   *time.Time         `json:"reminded_at"`
	Version      uint64             `json:"version"`
	// AllowedActions: as an offer's.
	AllowedActions []domain.OfferAction `json:"allowed_actions"`
	Erased         bool                 `json:"erased,omitempty"`
}

func (v viewer) inboxEntryFromRecord(e domain.InboxEntry) inboxEntryJSON {
	return inboxEntryJSON{AllowedActions: e.Offer.AllowedActions(v.actor, v.now), ID: e.Offer.ID, OfferID: e.Offer.ID, ResellerName: e.ResellerName, Status: e.Offer.Status,
		Read: e.Read, Items: itemsJSON(e.Offer.Items), Message: erasable(e.Offer.Message, e.Offer.Erased), ExpiresAt: utcPtr(e.Offer.ExpiresAt),
		ReceivedAt: e.ReceivedAt.UTC(), DecidedAt: utcPtr(e.Offer.DecidedAt), Supersedes: optID(e.Offer.Supersedes),
		SupersededBy: optID(e.Offer.SupersededBy), RemindedAt: utcPtr(e.Offer.RemindedAt), Version: e.Version, Erased: e.Offer.Erased}
}

// optID is id, or nil for none (JSON null).
func optID(id domain.OfferID) *domain.OfferID {
	if id == "" {
		return nil
	}
	return &id
}

type licenseJSON struct {
	OfferID     domain.OfferID     `json:"offer_id"`
	ItemID      domain.ItemID      `json:"item_id"`
	ProductID   domain.ProductID   `json:"product_id"`
	ProductName string             `json:"product_name"`
	Kind        domain.ProductKind `json:"kind"`
	TermMonths  int                `json:"term_months"`
	LicenseMode domain.LicenseMode `json:"license_mode"`
	Seats       *int               `json:"seats"`
	GrantedAt   time.Time          `json:"granted_at"`
	ValidUntil  *time.Time         `json:"valid_until"`
}

func licenseFromRecord(l domain.LicenseRecord) licenseJSON {
	return licenseJSON{OfferID: l.OfferID, ItemID: l.ItemID, ProductID: l.ProductID, ProductName: l.ProductName,
		Kind: l.Kind, TermMonths: l.TermMonths, LicenseMode: l.LicenseMode, Seats: l.Seats,
		GrantedAt: l.GrantedAt.UTC(), ValidUntil: utcPtr(l.ValidUntil)}
}

// eventJSON is a stored event in the history shape of the contract.
type eventJSON struct {
	ID            string          `json:"id"`
	Position      uint64          `json:"position"`
	Stream        string          `json:"stream"`
	Version       uint64          `json:"version"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Actor         domain.Actor    `json:"actor"`
	Data          json.RawMessage `json:"data"`
	CorrelationID *string         `json:"correlation_id"`
	CausationID   *string         `json:"causation_id"`
	Hash          string          `json:"hash"`
	PrevHash      *string         `json:"prev_hash"`
	// Sealed is the stored (sealed) form of the texts data shows opened,
	// as a JSON merge patch: data patched with it is what hash covers.
	Sealed json.RawMessage `json:"sealed,omitempty"`
	// Erased marks texts of data shown as null: their customer was erased.
	Erased bool `json:"erased,omitempty"`
}

// HistoryEvent returns e in the JSON shape the API gives events in an
// offer's history and the audit feed (GET /v1/offers/{id}/history,
// GET /v1/audit/events), for tools that print events as the API shows
// them (offerflow history --json): one shape, defined here once.
func HistoryEvent(e domain.Envelope) any { return eventFromAudit(e) }

func eventFromAudit(e domain.Envelope) eventJSON {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	m := &e.Metadata
	return eventJSON{ID: e.ID, Position: e.Position, Stream: e.Stream, Version: e.Version, Type: e.Type, SchemaVersion: e.SchemaVersion,
		OccurredAt: m.OccurredAt.UTC(), Actor: m.Actor, Data: data, CorrelationID: optString(m.CorrelationID),
		CausationID: optString(m.CausationID), Hash: e.Hash, PrevHash: optString(e.PrevHash), Sealed: e.Sealed, Erased: e.Erased}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
