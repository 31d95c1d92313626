package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Stored returns e as the log stores it: a reader that opened sealed texts
// (Sealed set) showed them in Data, and Sealed, a JSON merge patch
// (RFC 7386), restores the stored data, which Hash covers. An event
// without Sealed is returned as it is.
func Stored(e Event) (Event, error) {
	if len(e.Sealed) == 0 {
		return e, nil
	}
	data, err := MergePatch(e.Data, e.Sealed)
	if err != nil {
		return Event{}, fmt.Errorf("restore stored data of %s/%d: %w", e.Stream, e.Version, err)
	}
	e.Data, e.Sealed, e.Erased = data, nil, false
	return e, nil
}

// MergePatch applies the JSON merge patch (RFC 7386) patch to target.
// Numbers keep the form they were written in.
func MergePatch(target, patch json.RawMessage) (json.RawMessage, error) {
	p := bytes.TrimSpace(patch)
	if len(p) == 0 || p[0] != '{' {
		return bytes.Clone(patch), nil
	}
	var pm map[string]json.RawMessage
	if err := json.Unmarshal(p, &pm); err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	tm := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(target); len(t) > 0 && t[0] == '{' {
		if err := json.Unmarshal(t, &tm); err != nil {
			return nil, fmt.Errorf("merge patch target: %w", err)
		}
	}
	for k, v := range pm {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(tm, k)
			continue
		}
		merged, err := MergePatch(tm[k], v)
		if err != nil {
			return nil, err
		}
		tm[k] = merged
	}
	b, err := json.Marshal(tm)
	if err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	return b, nil
}
