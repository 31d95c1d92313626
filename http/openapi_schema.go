package http

import (
	"time"

	"github.com/offerflow/offerflow/domain"
)

func statuses() []string {
	var out []string
	for _, s := range domain.OfferStatuses() {
		out = append(out, string(s))
	}
	return out
}

// allowedActions is an offer's allowed_actions.
func allowedActions() obj {
	var names []string
	for _, a := range domain.OfferActions() {
		names = append(names, string(a))
	}
	o := arr(enum(names...))
	o["description"] = "What the caller may do to the offer now: each a command that would succeed (withdraw and redeliver for its reseller, accept and reject for its customer); empty for a past state (as_of) and for roles that only read."
	return o
}

func schemas() obj {
	item := object([]string{"id", "product_id", "product_name", "kind", "term_months", "license_mode", "seats"}, obj{
		"id": str(), "product_id": str(), "product_name": str(), "kind": enum("module", "course"),
		"term_months": integer(), "license_mode": enum("absolute", "relative"),
		"seats": nullable(obj{"type": "integer", "description": "null: no seat limit"}),
	})
	erased := obj{"type": "boolean", "description": "Present (true) once the customer was erased: its texts read as null."}
	customerProps := obj{
		"id": str(), "name": nullable(str()), "external_ref": nullable(str()), "erased": erased,
		"offer_counts": obj{"type": "object", "additionalProperties": integer(), "description": "Number of offers by status; every status is a key."},
		"version":      integer(),
	}
	customerRequired := []string{"id", "name", "external_ref", "offer_counts", "version"}
	customerDetailProps := obj{"offers": arr(ref("Offer")), "offers_next_cursor": nullable(str())}
	for k, v := range customerProps {
		customerDetailProps[k] = v
	}
	return obj{
		"Problem": object([]string{"type", "title", "status", "detail", "code"}, obj{
			"type": str(), "title": str(), "status": integer(), "detail": str(),
			"code":  obj{"type": "string", "description": "Stable machine word: unauthenticated, forbidden, body_too_large, malformed, not_found, validation_failed, version_conflict, invalid_transition, idempotency_key_reused, idempotency_in_progress, not_caught_up, method_not_allowed, unavailable, request_timeout, rate_limited, internal."},
			"field": obj{"type": "string", "description": "The input a validation_failed (or malformed unknown-field) problem is about."},
		}),
		"Status": object([]string{"status"}, obj{"status": str()}),
		"Readiness": object([]string{"status"}, obj{
			"status": enum("ready", "degraded"), "parked_events": integer(),
		}),
		"Reseller": object([]string{"id", "name", "version"}, obj{
			"id": str(), "name": str(), "version": integer(),
		}),
		"Token": object([]string{"id", "token", "role", "tenant", "name", "expires_at"}, obj{
			"id": str(), "token": obj{"type": "string", "description": "Shown only here; the server keeps its SHA-256."},
			"role": enum("operator", "reseller", "customer", "auditor"), "tenant": str(),
			"name": nullable(str()), "expires_at": nullable(dateTime()),
		}),
		"Product": object([]string{"id", "name", "kind", "license_terms_months", "version"}, obj{
			"id": str(), "name": str(), "kind": enum("module", "course"), "license_terms_months": arr(integer()), "version": integer(),
		}),
		"ProductList": listOf("Product"),
		"Item":        item,
		"Template": object([]string{"id", "name", "archived", "items", "version"}, obj{
			"id": str(), "name": str(), "archived": boolean(), "items": arr(ref("Item")), "version": integer(),
		}),
		"TemplateList":   listOf("Template"),
		"Customer":       object(customerRequired, customerProps),
		"CustomerDetail": object(append(customerRequired, "offers", "offers_next_cursor"), customerDetailProps),
		"CustomerList":   listOf("Customer"),
		"Offer": object([]string{"id", "reseller_id", "customer_id", "template_id", "status", "items", "message", "expires_at",
			"created_at", "delivered_at", "opened_at", "decided_at", "withdrawn_at", "expired_at", "rejection_reason", "delivery_error",
			"supersedes", "superseded_by", "reminded_at", "version", "allowed_actions"}, obj{
			"id": str(), "reseller_id": str(), "customer_id": str(), "customer_name": str(), "template_id": str(),
			"status": enum(statuses()...), "items": arr(ref("Item")), "message": nullable(str()), "erased": erased,
			"expires_at": nullable(dateTime()), "created_at": dateTime(), "delivered_at": nullable(dateTime()),
			"opened_at": nullable(dateTime()), "decided_at": nullable(dateTime()), "withdrawn_at": nullable(dateTime()),
			"opened_by": nullable(str()), "decided_by": nullable(str()),
			"expired_at": nullable(dateTime()), "rejection_reason": nullable(str()), "delivery_error": nullable(str()),
			"supersedes":    nullable(withDescription(str(), "The offer this one revised.")),
			"superseded_by": nullable(withDescription(str(), "The revision that replaced this offer (status superseded).")),
			"reminded_at":   nullable(withDescription(dateTime(), "When the customer was reminded that the offer expires soon.")),
			"version":       integer(), "allowed_actions": allowedActions(),
		}),
		"OfferList": listOf("Offer"),
		"InboxEntry": object([]string{"id", "offer_id", "reseller_name", "status", "read", "items", "message", "expires_at", "received_at", "decided_at",
			"supersedes", "superseded_by", "reminded_at", "version", "allowed_actions"}, obj{
			"id": str(), "offer_id": str(), "reseller_name": str(), "status": enum(statuses()...),
			"read":  withDescription(boolean(), "Opened, and opened again since a reminder of the expiry."),
			"items": arr(ref("Item")), "message": nullable(str()), "erased": erased, "expires_at": nullable(dateTime()), "received_at": dateTime(),
			"decided_at":    nullable(dateTime()),
			"supersedes":    nullable(withDescription(str(), "The earlier offer this one replaces.")),
			"superseded_by": nullable(withDescription(str(), "The offer that replaced this one (status superseded).")),
			"reminded_at":   nullable(dateTime()), "version": integer(), "allowed_actions": allowedActions(),
		}),
		"InboxList": listOf("InboxEntry"),
		"Badge":     object([]string{"admin", "updates"}, obj{"admin": integer(), "updates": integer()}),
		"License": object([]string{"offer_id", "item_id", "product_id", "product_name", "kind", "term_months", "license_mode", "seats", "granted_at", "valid_until"}, obj{
			"offer_id": str(), "item_id": str(), "product_id": str(), "product_name": str(), "kind": enum("module", "course"),
			"term_months": integer(), "license_mode": enum("absolute", "relative"), "seats": nullable(integer()),
			"granted_at": dateTime(), "valid_until": nullable(obj{"type": "string", "format": "date-time", "description": "null for relative licenses: the term runs per learner"}),
		}),
		"LicenseList": listOf("License"),
		"Webhook": object([]string{"url"}, obj{
			"url": str(), "secret": obj{"type": "string", "description": "Shown only when the webhook is set: signs notifications (Standard Webhooks)."},
		}),
		"Event": object([]string{"id", "position", "version", "type", "occurred_at", "actor", "data", "correlation_id", "causation_id", "hash", "prev_hash"}, obj{
			"id":       obj{"type": "string", "description": "The event's id, part of the canonical envelope that hash digests."},
			"position": integer(), "stream": str(), "version": integer(), "type": str(), "schema_version": integer(),
			"occurred_at":    dateTime(),
			"actor":          object([]string{"role", "tenant", "subject"}, obj{"role": str(), "tenant": str(), "subject": str()}),
			"data":           obj{"description": "The event's data, as recorded, with its personal texts opened (null once their customer was erased)."},
			"sealed":         obj{"type": "object", "description": "Present when data holds opened texts: their stored (sealed) form, as a JSON merge patch (RFC 7386); data patched with it is what hash covers."},
			"erased":         obj{"type": "boolean", "description": "Present (true) when texts of data are null because their customer was erased."},
			"correlation_id": nullable(str()), "causation_id": nullable(str()),
			"hash":      obj{"type": "string", "description": "Hex SHA-256 of the canonical envelope, prev_hash included: see docs/events.md for how to recompute it from this object."},
			"prev_hash": nullable(str()),
		}),
		"EventList": listOf("Event"),
		"Erasure": object([]string{"id", "erased_at"}, obj{
			"id": str(), "erased_at": obj{"type": "string", "format": "date-time", "description": "When the customer was first erased; a repeated erasure answers the same time."},
		}),

		"CreateResellerRequest": input([]string{"name"}, obj{"name": name()}),
		"CreateTokenRequest":    createTokenSchema(),
		"RevokeTokenRequest":    revokeTokenSchema(),
		"CreateProductRequest": input([]string{"name", "kind", "license_terms_months"}, obj{
			"name": name(), "kind": enum("module", "course"),
			"license_terms_months": obj{"type": "array", "items": intRange(1, domain.MaxTermMonths), "minItems": 1, "maxItems": domain.MaxTermsPerItem},
		}),
		"CreateTemplateRequest": input([]string{"name"}, obj{"name": name()}),
		"AddItemRequest": input([]string{"product_id", "term_months"}, obj{
			"product_id": str(), "term_months": withDescription(intRange(1, domain.MaxTermMonths), "One of the product's license terms."),
			"license_mode": enum("absolute", "relative"), "seats": nullable(intRange(1, domain.MaxSeats)),
		}),
		"SetItemModeRequest": input([]string{"license_mode"}, obj{"license_mode": enum("absolute", "relative")}),
		"CreateCustomerRequest": input([]string{"name"}, obj{
			"name": name(), "external_ref": singleLine(domain.MaxExternalRef),
		}),
		"CreateOfferRequest": input([]string{"template_id"}, obj{
			"template_id": str(), "message": multiLine(domain.MaxMessageLen),
			"expires_at": nullable(obj{"type": "string", "format": "date-time", "description": "In the future, at most 365 days ahead."}),
		}),
		"ReviseOfferRequest": input(nil, obj{
			"template_id": nullable(withDescription(str(), "A template of the reseller whose items replace the offer's; absent or null keeps the offer's items.")),
			"message":     nullable(multiLine(domain.MaxMessageLen)),
			"expires_at":  nullable(obj{"type": "string", "format": "date-time", "description": "In the future, at most 365 days ahead; absent or null keeps the offer's."}),
		}),
		"RejectRequest":     input(nil, obj{"reason": multiLine(domain.MaxReasonLen)}),
		"SetWebhookRequest": input([]string{"url"}, obj{"url": obj{"type": "string", "minLength": 1, "maxLength": 2048, "description": "https to a public address (unless the server allows insecure webhooks)."}}),
	}
}

// The characters domain.CheckText refuses in text people write, as a
// pattern class: control characters, and bidirectional formatting
// characters. Patterns are ECMA 262, as JSON Schema has them (hex digits
// upper-case: kin-openapi's translation to Go's syntax needs them so).
const (
	controls    = `\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F`
	lineBreaks  = `\u0009\u000A\u000D`
	bidiFormats = `\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069`
	// spaces are what strings.TrimSpace trims, besides the controls.
	spaces = `\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000`
)

// singleLine is a text of one line: a name or a reference.
func singleLine(max int) obj {
	o := strMax(max)
	o["pattern"] = "^[^" + controls + lineBreaks + bidiFormats + "]*$"
	return o
}

// multiLine is a text that may hold line breaks and tabs: a message, a
// reason.
func multiLine(max int) obj {
	o := strMax(max)
	o["pattern"] = "^[^" + controls + bidiFormats + "]*$"
	return o
}

// name is a name's schema: one line, and not blank (the server trims it).
func name() obj {
	bad := controls + lineBreaks + bidiFormats
	return obj{"type": "string", "minLength": 1, "maxLength": domain.MaxNameLen,
		"pattern":     "^[^" + bad + "]*[^" + bad + spaces + "][^" + bad + "]*$",
		"description": "Not blank; at most 200 characters (code points); no control or bidirectional formatting characters."}
}

func withDescription(o obj, desc string) obj { o["description"] = desc; return o }

// createTokenSchema says which tenant each role takes: none for the
// operator, a reseller for a reseller or auditor (an auditor may name `*`,
// every reseller), a customer for a customer.
func createTokenSchema() obj {
	tenant := obj{"type": "string", "description": "A reseller id (reseller, auditor; `*` for an auditor of every reseller), a customer id (customer); absent or empty for an operator."}
	o := input([]string{"role"}, obj{"role": enum("operator", "reseller", "customer", "auditor"), "tenant": tenant,
		"name": withDescription(singleLine(domain.MaxNameLen),
			"The holder's display name, recorded as `actor.name` of what the token does; no control or bidirectional formatting characters."),
		"ttl_seconds": obj{"type": "integer", "format": "int64", "minimum": 1, "maximum": int64(domain.MaxTokenTTL / time.Second),
			"description": "The token expires this many seconds after its issue; default never."},
	})
	o["oneOf"] = []obj{
		{"properties": obj{"role": enum("operator"), "tenant": enum("")}},
		{"required": []string{"tenant"}, "properties": obj{"role": enum("reseller", "customer"), "tenant": obj{"type": "string", "minLength": 1, "not": enum("*")}}},
		{"required": []string{"tenant"}, "properties": obj{"role": enum("auditor"), "tenant": obj{"type": "string", "minLength": 1}}},
	}
	return o
}

// revokeTokenSchema names the token by itself or by its hash, not both.
func revokeTokenSchema() obj {
	o := input(nil, obj{
		"token":      obj{"type": "string", "description": "The token to revoke. Give this or token_hash, not both."},
		"token_hash": obj{"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The hex SHA-256 of the token to revoke, as `token.issued` records it."},
	})
	// given is a field present and not empty (empty counts as absent).
	given := func(field string) obj {
		return obj{"required": []string{field}, "properties": obj{field: obj{"type": "string", "minLength": 1}}}
	}
	o["oneOf"] = []obj{
		{"allOf": []obj{given("token"), {"not": given("token_hash")}}},
		{"allOf": []obj{given("token_hash"), {"not": given("token")}}},
	}
	return o
}
