package domain

import (
	"errors"
	"fmt"
)

// Error codes are the stable machine words that the HTTP layer maps to statuses
// in one table. A code says what kind of failure it is, never where it happened.
const (
	ECONFLICT        = "invalid_transition" // the command is not allowed in the current state
	EINVALID         = "validation_failed"  // a value is missing, malformed or out of range
	ENOTFOUND        = "not_found"          // the resource does not exist for this tenant
	EFORBIDDEN       = "forbidden"          // the actor's role may not do this
	EUNAUTHENTICATED = "unauthenticated"    // no or bad credentials
	EVERSION         = "version_conflict"   // an If-Match precondition failed
	EMALFORMED       = "malformed"          // a request the server cannot parse (bad cursor, bad JSON)
	EINTERNAL        = "internal"           // anything else; never shown in detail
)

// Error is a failure the domain reports on purpose. Field names the offending
// input where there is one, so that a client can point at it.
type Error struct {
	Code    string
	Message string
	Field   string
	// rule sets apart a sentinel that deliberately shares its code and
	// sentence with another (ErrOfferNotDelivered reads "offer not found" so
	// that a customer cannot learn the offer exists), so that errors.Is can
	// still tell the two apart. Copies of the sentinel keep it.
	rule string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is lets errors.Is match a sentinel against a copy that carries another field.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && t.Message == e.Message && t.rule == e.rule
}

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of err if it is (or wraps) a domain error, and
// EINTERNAL otherwise: an error the domain did not name is the system's fault.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the human sentence of a domain error, or a generic one
// for internal errors so that nothing internal leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field a validation error names, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Named rules. Each illegal transition of the offer lifecycle has its own value
// so that tests and callers can tell them apart with errors.Is.
var (
	ErrOfferExists              = Errorf(ECONFLICT, "offer already exists")
	ErrOfferNotFound            = Errorf(ENOTFOUND, "offer not found")
	ErrOfferNotDelivered        = &Error{Code: ENOTFOUND, Message: "offer not found", rule: "offer_not_delivered"} // not yet in the inbox: it does not exist for the customer
	ErrOfferNotWaiting          = Errorf(ECONFLICT, "offer is not waiting for delivery")
	ErrOfferNotPending          = Errorf(ECONFLICT, "offer is not waiting for confirmation")
	ErrOfferNotWithdrawable     = Errorf(ECONFLICT, "offer can only be withdrawn while waiting, waiting for confirmation or after a failed delivery")
	ErrOfferNotRedeliverable    = Errorf(ECONFLICT, "offer can only be redelivered after a failed delivery")
	ErrOfferNotExpirable        = Errorf(ECONFLICT, "offer is already decided, withdrawn or expired")
	ErrOfferNotDue              = Errorf(ECONFLICT, "offer has not reached its expiry time")
	ErrOfferHasNoExpiry         = Errorf(ECONFLICT, "offer has no expiry time")
	ErrOfferPastExpiry          = Errorf(ECONFLICT, "offer has passed its expiry time and can no longer be accepted or rejected")
	ErrOfferNotRevisable        = Errorf(ECONFLICT, "offer can only be revised while waiting, waiting for confirmation or after a failed delivery")
	ErrOfferNotSuperseded       = Errorf(ECONFLICT, "offer has not been superseded by a revision")
	ErrOfferNotRemindable       = Errorf(ECONFLICT, "offer is decided, superseded or already reminded, or has no expiry time")
	ErrOfferNotInReminderWindow = Errorf(ECONFLICT, "offer's expiry time is not within the reminder window")
	ErrTemplateExists           = Errorf(ECONFLICT, "template already exists")
	ErrTemplateNotFound         = Errorf(ENOTFOUND, "template not found")
	ErrTemplateArchived         = Errorf(ECONFLICT, "template is archived")
	ErrTemplateItemNotFound     = Errorf(ENOTFOUND, "template item not found")
	ErrTemplateItemExists       = Errorf(ECONFLICT, "template item already exists")
	ErrProductExists            = Errorf(ECONFLICT, "product already exists")
	ErrProductNotFound          = Errorf(ENOTFOUND, "product not found")
	ErrCampaignExists           = Errorf(ECONFLICT, "campaign already exists")
	ErrCampaignNotFound         = Errorf(ENOTFOUND, "campaign not found")
	ErrCustomerExists           = Errorf(ECONFLICT, "customer already exists")
	ErrCustomerNotFound         = Errorf(ENOTFOUND, "customer not found")
	ErrCustomerErased           = &Error{Code: EINVALID, Message: "the customer's data was erased: nothing can be written to or about it any more", Field: "customer_id", rule: "customer_erased"}
	ErrResellerExists           = Errorf(ECONFLICT, "reseller already exists")
	ErrResellerNotFound         = Errorf(ENOTFOUND, "reseller not found")
	ErrWebhookNotSet            = Errorf(ENOTFOUND, "no webhook is set")
	ErrLicensesAlreadyGranted   = Errorf(ECONFLICT, "licenses for this offer were already granted")
	ErrLicensesOfferNotAccepted = Errorf(ECONFLICT, "licenses are only granted for an accepted offer")
)
