package domain

import (
	"encoding/json"
	"fmt"
)

// SchemaVersion returns the version of the current shape of typ's data,
// which new events of typ are stored with: 1 for every type whose shape
// never changed. Raise it together with a step in upcastStep when a type
// changes shape (docs/events.md, "Changing events").
func SchemaVersion(typ string) int {
	switch typ {
	case TypeOfferRejected:
		return 2
	}
	return 1
}

// Upcast returns data, stored as typ at schemaVersion, in the current shape
// of typ (SchemaVersion), one step at a time. Data already current comes back
// as it is; a version newer than this code knows is refused, since the
// current shape cannot hold what a later one added. Version 0, which no
// event is stored with, counts as 1.
func Upcast(typ string, schemaVersion int, data []byte) ([]byte, error) {
	cur := SchemaVersion(typ)
	v := max(schemaVersion, 1)
	if v > cur {
		return nil, fmt.Errorf("decode event %s: schema version %d is newer than this binary's %d", typ, schemaVersion, cur)
	}
	for ; v < cur; v++ {
		var err error
		if data, err = upcastStep(typ, v, data); err != nil {
			return nil, fmt.Errorf("upcast %s from schema version %d: %w", typ, v, err)
		}
	}
	return data, nil
}

// upcastStep turns data of typ in the shape of schema version from into
// the shape of from+1.
func upcastStep(typ string, from int, data []byte) ([]byte, error) {
	switch {
	case typ == TypeOfferRejected && from == 1:
		return rejectedV1toV2(data)
	}
	return nil, fmt.Errorf("no upcaster from schema version %d", from)
}

// rejectedV1toV2: offer.rejected's reason was a string; it is an object
// {"code","text"} since version 2, the text the customer wrote with no code.
func rejectedV1toV2(data []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var text string
	if r, ok := m["reason"]; ok {
		if err := json.Unmarshal(r, &text); err != nil {
			return nil, fmt.Errorf("reason: %w", err)
		}
	}
	r, err := json.Marshal(RejectionReason{Text: text})
	if err != nil {
		return nil, err
	}
	m["reason"] = r
	return json.Marshal(m)
}
