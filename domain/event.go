package domain

import (
	"encoding/json"
	"fmt"
)

// Event is a fact the domain recorded. EventType returns its stable type
// name, which is stored with the event and never derived from the Go type.
type Event interface {
	EventType() string
}

// Event type names. They are stored in the log: never rename one; a breaking
// change gets a new name and an upcaster.
const (
	TypeResellerRegistered      = "reseller.registered"
	TypeProductAdded            = "product.added"
	TypeCustomerRegistered      = "customer.registered"
	TypeCustomerWebhookSet      = "customer.webhook_set"
	TypeCustomerWebhookRemoved  = "customer.webhook_removed"
	TypeCustomerErased          = "customer.erased"
	TypeTemplateCreated         = "template.created"
	TypeTemplateItemAdded       = "template.item_added"
	TypeTemplateItemModeChanged = "template.item_mode_changed"
	TypeTemplateItemRemoved     = "template.item_removed"
	TypeTemplateArchived        = "template.archived"
	TypeOfferCreated            = "offer.created"
	TypeOfferDispatched         = "offer.dispatched"
	TypeOfferDelivered          = "offer.delivered"
	TypeOfferDeliveryFailed     = "offer.delivery_failed"
	TypeOfferRead               = "offer.read"
	TypeOfferAccepted           = "offer.accepted"
	TypeOfferRejected           = "offer.rejected"
	TypeOfferWithdrawn          = "offer.withdrawn"
	TypeOfferExpired            = "offer.expired"
	TypeOfferSuperseded         = "offer.superseded"
	TypeOfferReminded           = "offer.reminded"
	TypeLicensesGranted         = "licenses.granted"
	TypeCampaignStarted         = "campaign.started"
	TypeNameReserved            = "name.reserved"
)

// EventTypes lists every event type the domain records, for catalogs and
// tests that must cover them all.
func EventTypes() []string {
	return []string{
		TypeResellerRegistered, TypeProductAdded,
		TypeCustomerRegistered, TypeCustomerWebhookSet, TypeCustomerWebhookRemoved, TypeCustomerErased,
		TypeTemplateCreated, TypeTemplateItemAdded, TypeTemplateItemModeChanged,
		TypeTemplateItemRemoved, TypeTemplateArchived,
		TypeOfferCreated, TypeOfferDispatched, TypeOfferDelivered, TypeOfferDeliveryFailed,
		TypeOfferRead, TypeOfferAccepted, TypeOfferRejected, TypeOfferWithdrawn, TypeOfferExpired,
		TypeOfferSuperseded, TypeOfferReminded,
		TypeLicensesGranted, TypeCampaignStarted, TypeTokenIssued, TypeTokenRevoked, TypeTokenExtended,
		TypeNameReserved,
	}
}

// NewEvent returns an empty event of the given type, ready to be decoded into.
func NewEvent(typ string) (Event, bool) {
	switch typ {
	case TypeResellerRegistered:
		return &ResellerRegistered{}, true
	case TypeProductAdded:
		return &ProductAdded{}, true
	case TypeCustomerRegistered:
		return &CustomerRegistered{}, true
	case TypeCustomerWebhookSet:
		return &CustomerWebhookSet{}, true
	case TypeCustomerWebhookRemoved:
		return &CustomerWebhookRemoved{}, true
	case TypeCustomerErased:
		return &CustomerErased{}, true
	case TypeTemplateCreated:
		return &TemplateCreated{}, true
	case TypeTemplateItemAdded:
		return &TemplateItemAdded{}, true
	case TypeTemplateItemModeChanged:
		return &TemplateItemModeChanged{}, true
	case TypeTemplateItemRemoved:
		return &TemplateItemRemoved{}, true
	case TypeTemplateArchived:
		return &TemplateArchived{}, true
	case TypeOfferCreated:
		return &OfferCreated{}, true
	case TypeOfferDispatched:
		return &OfferDispatched{}, true
	case TypeOfferDelivered:
		return &OfferDelivered{}, true
	case TypeOfferDeliveryFailed:
		return &OfferDeliveryFailed{}, true
	case TypeOfferRead:
		return &OfferRead{}, true
	case TypeOfferAccepted:
		return &OfferAccepted{}, true
	case TypeOfferRejected:
		return &OfferRejected{}, true
	case TypeOfferWithdrawn:
		return &OfferWithdrawn{}, true
	case TypeOfferExpired:
		return &OfferExpired{}, true
	case TypeOfferSuperseded:
		return &OfferSuperseded{}, true
	case TypeOfferReminded:
		return &OfferReminded{}, true
	case TypeLicensesGranted:
		return &LicensesGranted{}, true
	case TypeCampaignStarted:
		return &CampaignStarted{}, true
	case TypeTokenIssued:
		return &TokenIssued{}, true
	case TypeTokenRevoked:
		return &TokenRevoked{}, true
	case TypeTokenExtended:
		return &TokenExtended{}, true
	case TypeNameReserved:
		return &NameReserved{}, true
	}
	return nil, false
}

// DecodeEvent decodes stored event data of the given type and schema
// version, upcast to the type's current shape (Upcast). Unknown fields are
// tolerated so that additive changes stay readable by older code.
func DecodeEvent(typ string, schemaVersion int, data []byte) (Event, error) {
	e, ok := NewEvent(typ)
	if !ok {
		return nil, fmt.Errorf("decode event: unknown type %q", typ)
	}
	data, err := Upcast(typ, schemaVersion, data)
	if err != nil {
		return nil, err
	}
	if decodeFlat(e, data) {
		return e, nil
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", typ, err)
	}
	return e, nil
}
