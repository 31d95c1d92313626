package domain

import "slices"

// LicenseMode is how a license's term runs.
type LicenseMode string

// License modes. Absolute: one fixed period for the whole customer instance,
// from acceptance. Relative: the term runs for each learner from the
// learner's own start.
const (
	ModeAbsolute LicenseMode = "absolute"
	ModeRelative LicenseMode = "relative"
)

// ParseLicenseMode parses a license mode given at the edge; empty means absolute.
func ParseLicenseMode(s string) (LicenseMode, error) {
	switch m := LicenseMode(s); m {
	case "":
		return ModeAbsolute, nil
	case ModeAbsolute, ModeRelative:
		return m, nil
	}
	return "", Invalid("license_mode", "license_mode must be absolute or relative")
}

// Item is one product of a template or an offer, in one term and mode.
type Item struct {
	ID          ItemID      `json:"id"`
	ProductID   ProductID   `json:"product_id"`
	ProductName string      `json:"product_name"`
	Kind        ProductKind `json:"kind"`
	TermMonths  int         `json:"term_months"`
	LicenseMode LicenseMode `json:"license_mode"`
	Seats       *int        `json:"seats"` // nil: no seat limit
}

// TemplateCreated records a new offer template ("Modul-Template").
type TemplateCreated struct {
	TemplateID TemplateID `json:"template_id"`
	ResellerID ResellerID `json:"reseller_id"`
	Name       string     `json:"name"`
}

func (TemplateCreated) EventType() string { return TypeTemplateCreated }

// TemplateItemAdded records a product added to a template.
type TemplateItemAdded struct {
	TemplateID TemplateID `json:"template_id"`
	Item       Item       `json:"item"`
}

func (TemplateItemAdded) EventType() string { return TypeTemplateItemAdded }

// TemplateItemModeChanged records the license mode of an item toggled.
type TemplateItemModeChanged struct {
	TemplateID  TemplateID  `json:"template_id"`
	ItemID      ItemID      `json:"item_id"`
	LicenseMode LicenseMode `json:"license_mode"`
}

func (TemplateItemModeChanged) EventType() string { return TypeTemplateItemModeChanged }

// TemplateItemRemoved records an item taken out of a template.
type TemplateItemRemoved struct {
	TemplateID TemplateID `json:"template_id"`
	ItemID     ItemID     `json:"item_id"`
}

func (TemplateItemRemoved) EventType() string { return TypeTemplateItemRemoved }

// TemplateArchived records a template retired: kept for history, closed to
// changes and to new offers.
type TemplateArchived struct {
	TemplateID TemplateID `json:"template_id"`
}

func (TemplateArchived) EventType() string { return TypeTemplateArchived }

// Template is a reseller's reusable, named collection of products to offer.
type Template struct {
	id       TemplateID
	reseller ResellerID
	name     string
	items    []Item
	archived bool
}

// ID returns the template's id, empty until it is created.
func (t *Template) ID() TemplateID { return t.id }

// Reseller returns the reseller that owns the template.
func (t *Template) Reseller() ResellerID { return t.reseller }

// Name returns the template's name.
func (t *Template) Name() string { return t.name }

// Items returns a copy of the template's items in the order they were added.
func (t *Template) Items() []Item { return cloneItems(t.items) }

// Archived reports whether the template is archived.
func (t *Template) Archived() bool { return t.archived }

// Exists reports whether the template has been created.
func (t *Template) Exists() bool { return t.id != "" }

// Create records a new, empty template.
func (t *Template) Create(id TemplateID, reseller ResellerID, name string) ([]Event, error) {
	if t.Exists() {
		return nil, ErrTemplateExists
	}
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	return []Event{&TemplateCreated{TemplateID: id, ResellerID: reseller, Name: name}}, nil
}

// AddItem records product added in a term it is sold in. The product must
// belong to the template's reseller.
func (t *Template) AddItem(id ItemID, p *Product, termMonths int, mode LicenseMode, seats *int) ([]Event, error) {
	// The contract answers a missing template (404) before a bad body (422),
	// and a bad body before a wrong state (409): archived is checked last.
	if !t.Exists() {
		return nil, ErrTemplateNotFound
	}
	if p == nil || !p.Exists() || p.Reseller() != t.reseller {
		return nil, Invalid("product_id", "product_id does not name a product of this reseller")
	}
	if !p.OffersTerm(termMonths) {
		return nil, Invalid("term_months", "term_months must be one of the product's license terms %v", p.Terms())
	}
	if _, err := ParseLicenseMode(string(mode)); err != nil || mode == "" {
		return nil, Invalid("license_mode", "license_mode must be absolute or relative")
	}
	if seats != nil && (*seats < 1 || *seats > MaxSeats) {
		return nil, Invalid("seats", "seats must be between 1 and %d, or null for no limit", MaxSeats)
	}
	// The same product in the same term twice would grant the customer two
	// licenses for one purchase; a retried add (same item id) is answered below.
	if t.item(id) < 0 && slices.ContainsFunc(t.items, func(it Item) bool { return it.ProductID == p.ID() && it.TermMonths == termMonths }) {
		return nil, Invalid("product_id", "product %q is already in this template with a term of %d months", p.Name(), termMonths)
	}
	if len(t.items) >= MaxItemsPerTemplate && t.item(id) < 0 {
		return nil, Invalid("items", "a template holds at most %d items", MaxItemsPerTemplate)
	}
	if t.archived {
		return nil, ErrTemplateArchived
	}
	if t.item(id) >= 0 {
		return nil, ErrTemplateItemExists
	}
	item := Item{ID: id, ProductID: p.ID(), ProductName: p.Name(), Kind: p.Kind(), TermMonths: termMonths, LicenseMode: mode, Seats: cloneSeats(seats)}
	return []Event{&TemplateItemAdded{TemplateID: t.id, Item: item}}, nil
}

// SetItemMode records an item's license mode changed. Setting the mode it
// already has records nothing.
func (t *Template) SetItemMode(id ItemID, mode LicenseMode) ([]Event, error) {
	// Template and item are named in the path (404), the mode in the body
	// (422), and archived is a state (409): the contract's order.
	if !t.Exists() {
		return nil, ErrTemplateNotFound
	}
	i := t.item(id)
	if i < 0 {
		return nil, ErrTemplateItemNotFound
	}
	if _, err := ParseLicenseMode(string(mode)); err != nil || mode == "" {
		return nil, Invalid("license_mode", "license_mode must be absolute or relative")
	}
	if t.archived {
		return nil, ErrTemplateArchived
	}
	if t.items[i].LicenseMode == mode {
		return nil, nil
	}
	return []Event{&TemplateItemModeChanged{TemplateID: t.id, ItemID: id, LicenseMode: mode}}, nil
}

// RemoveItem records an item taken out of the template.
func (t *Template) RemoveItem(id ItemID) ([]Event, error) {
	if !t.Exists() {
		return nil, ErrTemplateNotFound
	}
	if t.item(id) < 0 {
		return nil, ErrTemplateItemNotFound
	}
	if t.archived {
		return nil, ErrTemplateArchived
	}
	return []Event{&TemplateItemRemoved{TemplateID: t.id, ItemID: id}}, nil
}

// Archive records the template archived. Archiving twice is refused so that a
// client learns its view was stale.
func (t *Template) Archive() ([]Event, error) {
	if !t.Exists() {
		return nil, ErrTemplateNotFound
	}
	if t.archived {
		return nil, ErrTemplateArchived
	}
	return []Event{&TemplateArchived{TemplateID: t.id}}, nil
}

func (t *Template) item(id ItemID) int {
	return slices.IndexFunc(t.items, func(it Item) bool { return it.ID == id })
}

// Apply folds an event into the template.
func (t *Template) Apply(e Event) {
	switch ev := e.(type) {
	case *TemplateCreated:
		t.id, t.reseller, t.name = ev.TemplateID, ev.ResellerID, ev.Name
	case *TemplateItemAdded:
		t.items = append(t.items, cloneItems([]Item{ev.Item})...)
	case *TemplateItemModeChanged:
		if i := t.item(ev.ItemID); i >= 0 {
			t.items[i].LicenseMode = ev.LicenseMode
		}
	case *TemplateItemRemoved:
		if i := t.item(ev.ItemID); i >= 0 {
			t.items = slices.Delete(t.items, i, i+1)
		}
	case *TemplateArchived:
		t.archived = true
	}
}

func cloneSeats(s *int) *int {
	if s == nil {
		return nil
	}
	v := *s
	return &v
}

func cloneItems(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		it.Seats = cloneSeats(it.Seats)
		out[i] = it
	}
	return out
}
