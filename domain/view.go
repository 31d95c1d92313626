package domain

import (
	"time"
)

// The read side's shapes. The projections build them from the log; the HTTP
// layer serves them. They live here, with the business, so that neither of
// those packages needs to know the other.

// OfferRecord is an offer as the read side shows it.
type OfferRecord struct {
	Offer        OfferView
	Version      uint64
	ResellerName string
	CustomerName string
}

// OfferFilter selects offers of one reseller. Empty fields select all.
type OfferFilter struct {
	Reseller ResellerID
	Customer CustomerID
	Status   OfferStatus
	Page     PageRequest
}

// PageRequest asks for one page of a list: at most Limit items after the
// position that Cursor (opaque, from an earlier page) names.
type PageRequest struct {
	Limit  int
	Cursor string
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// InboxEntry is an offer in a customer's Updates inbox.
type InboxEntry struct {
	Offer        OfferView
	Version      uint64
	Read         bool
	ResellerName string
	ReceivedAt   time.Time
}

// Badge is the unread counts a customer's admin sees: on the Admin module and
// on Updates.
type Badge struct {
	Admin   int `json:"admin"`
	Updates int `json:"updates"`
}

// ProductRecord is a product of a reseller's catalog.
type ProductRecord struct {
	ID                 ProductID
	ResellerID         ResellerID
	Name               string
	Kind               ProductKind
	LicenseTermsMonths []int
	Version            uint64
}

// TemplateRecord is an offer template with its items.
type TemplateRecord struct {
	ID         TemplateID
	ResellerID ResellerID
	Name       string
	Archived   bool
	Items      []Item
	Version    uint64
}

// CustomerRecord is a customer instance with the counts of its offers by
// status.
type CustomerRecord struct {
	ID          CustomerID
	ResellerID  ResellerID
	Name        string
	ExternalRef string
	OfferCounts map[OfferStatus]int
	Version     uint64
	// Erased tells that the customer was erased: Name and ExternalRef are
	// gone.
	Erased bool
}

// LicenseRecord is a license granted to a customer.
type LicenseRecord struct {
	License
	CustomerID CustomerID
}
