package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// PersonalText names a field of an event's data that holds a text a person
// wrote about or for a customer, as a path of JSON object keys from the
// data's top level ({"reason", "text"} is data.reason.text). The log keeps
// these fields sealed under the customer's key (see docs/audit.md, "What
// erasure does"), so that destroying the key erases them everywhere while
// the events, and their hashes, stay.
type PersonalText []string

// PersonalTexts returns the personal text fields of events of typ in its
// current shape (SchemaVersion), nil for types that hold none. A type that
// gains such a field must be listed here: the field is then sealed when
// stored and nulled everywhere once its customer is erased.
func PersonalTexts(typ string) []PersonalText {
	switch typ {
	case TypeCustomerRegistered:
		return []PersonalText{{"name"}, {"external_ref"}}
	case TypeOfferCreated, TypeOfferSuperseded:
		// offer.superseded carries its successor's message.
		return []PersonalText{{"message"}}
	case TypeOfferRejected:
		return []PersonalText{{"reason", "text"}}
	}
	return nil
}

// RewriteTexts returns data with the value at each path of fields replaced
// by what f returns for it, and whether anything changed. Paths absent from
// data are left alone; a path that runs into a value that is not an object
// hands that value to f (offer.rejected's reason of schema version 1 was a
// plain string). Every other byte of data keeps its form (objects are
// written back with sorted keys).
func RewriteTexts(data []byte, fields []PersonalText, f func(path PersonalText, v json.RawMessage) (json.RawMessage, error)) ([]byte, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, false, fmt.Errorf("decode data: %w", err)
	}
	changed := false
	for _, path := range fields {
		c, err := rewriteAt(obj, path, path, f)
		if err != nil {
			return nil, false, err
		}
		changed = changed || c
	}
	if !changed {
		return data, false, nil
	}
	b, err := json.Marshal(obj)
	return b, err == nil, err
}

func rewriteAt(obj map[string]json.RawMessage, full, rest PersonalText, f func(PersonalText, json.RawMessage) (json.RawMessage, error)) (bool, error) {
	v, ok := obj[rest[0]]
	if !ok {
		return false, nil
	}
	var inner map[string]json.RawMessage
	if len(rest) == 1 || json.Unmarshal(v, &inner) != nil || inner == nil {
		nv, err := f(full, v)
		if err != nil || bytes.Equal(nv, v) {
			return false, err
		}
		obj[rest[0]] = nv
		return true, nil
	}
	changed, err := rewriteAt(inner, full, rest[1:], f)
	if err != nil || !changed {
		return false, err
	}
	b, err := json.Marshal(inner)
	if err != nil {
		return false, err
	}
	obj[rest[0]] = b
	return true, nil
}
