package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Hash returns the hex SHA-256 of e's canonical envelope, which includes
// PrevHash and excludes Position and Hash: the position is assigned by the
// store (EventStoreDB only knows it after the write), and the chain runs per
// stream, so the position adds nothing to tamper evidence.
//
// The canonical envelope is the JSON object
//
//	{"data":…,"id":…,"metadata":{"actor":{"name"?,"role","subject","tenant"},"causation_id","correlation_id","occurred_at"},
//	 "prev_hash":…|null,"schema_version":…,"stream":…,"type":…,"version":…}
//
// with keys sorted, no insignificant white space, numbers as written, and
// occurred_at in RFC 3339 with nanoseconds in UTC. Anyone holding the history
// of a stream can recompute it.
func Hash(e Event) (string, error) {
	b, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Canonical returns the canonical envelope of e that Hash digests.
//
// The envelope's keys are fixed, so it is written field by field in their
// sorted order instead of through maps that encoding/json would sort on
// every call, and its strings are escaped as encoding/json escapes them.
// TestCanonical_SameAsMaps holds it to the map-built envelope it replaces.
func Canonical(e Event) ([]byte, error) {
	data, err := canonicalJSON(e.Data)
	if err != nil {
		return nil, fmt.Errorf("canonical data of %s/%d: %w", e.Stream, e.Version, err)
	}
	b := make([]byte, 0, len(data)+512)
	b = append(b, `{"data":`...)
	b = append(b, data...)
	b = appendString(append(b, `,"id":`...), e.ID)
	a := e.Metadata.Actor
	b = append(b, `,"metadata":{"actor":{`...)
	if a.Name != "" {
		b = append(appendString(append(b, `"name":`...), a.Name), ',')
	}
	b = appendString(append(b, `"role":`...), string(a.Role))
	b = appendString(append(b, `,"subject":`...), a.Subject)
	b = appendString(append(b, `,"tenant":`...), a.Tenant)
	b = appendString(append(b, `},"causation_id":`...), e.Metadata.CausationID)
	b = appendString(append(b, `,"correlation_id":`...), e.Metadata.CorrelationID)
	b = appendString(append(b, `,"occurred_at":`...), e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano))
	if e.PrevHash == "" {
		b = append(b, `},"prev_hash":null`...)
	} else {
		b = appendString(append(b, `},"prev_hash":`...), e.PrevHash)
	}
	b = strconv.AppendInt(append(b, `,"schema_version":`...), int64(e.SchemaVersion), 10)
	b = appendString(append(b, `,"stream":`...), e.Stream)
	b = appendString(append(b, `,"type":`...), e.Type)
	b = strconv.AppendUint(append(b, `,"version":`...), e.Version, 10)
	return append(b, '}'), nil
}

// appendString appends s as a JSON string exactly as encoding/json writes it
// with HTML escaping off: quotes, backslashes and control characters
// escaped (\b, \f, \n, \r, \t by name, the rest as \u00xx), bytes that are
// not UTF-8 as \ufffd, U+2028 and U+2029 escaped, everything else as is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}

// canonicalJSON re-encodes a JSON value with sorted keys and no white space,
// keeping numbers exactly as written. It decodes with encoding/json (so a
// repeated key keeps its last value, as before) and writes the decoded
// value itself: six kinds of value, written as encoding/json would write
// them, without its reflection.
func canonicalJSON(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return nil, err
	}
	return appendValue(make([]byte, 0, len(raw)), v), nil
}

// decodeNumbers decodes the first JSON value of raw, numbers as written.
func decodeNumbers(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// appendValue appends v, a value decoded by encoding/json with UseNumber,
// in canonical form.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = appendValue(b, v[k])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("canonical JSON: %T is not a decoded JSON value", v))
}

// Seal sets e's PrevHash to prev and computes its Hash.
func Seal(e *Event, prev string) error {
	e.PrevHash = prev
	h, err := Hash(*e)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// VerifyChain checks that events, which must be a whole stream from its first
// event in version order, form an intact hash chain: consecutive versions from
// 1, each PrevHash the Hash before it, each Hash recomputed equal.
func VerifyChain(events []Event) error {
	prev := ""
	for i, e := range events {
		if e.Version != uint64(i+1) {
			return fmt.Errorf("stream %s: event %d has version %d", e.Stream, i+1, e.Version)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("stream %s version %d: prev_hash %q does not match the hash before it %q", e.Stream, e.Version, e.PrevHash, prev)
		}
		h, err := Hash(e)
		if err != nil {
			return fmt.Errorf("stream %s version %d: %w", e.Stream, e.Version, err)
		}
		if h != e.Hash {
			return fmt.Errorf("stream %s version %d: hash %s does not match its content (%s)", e.Stream, e.Version, e.Hash, h)
		}
		prev = e.Hash
	}
	return nil
}
