package projections

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/offerflow/offerflow/domain"
)

// encodeEnvelope returns json.Marshal(e), byte for byte (the audit_events
// rows of a live database and of a rebuild must be equal, and Fingerprint
// compares them), without json's reflection: it was a tenth of a rebuild's
// CPU. Strings that need escaping, and the data, still go through
// encoding/json. TestEncodeEnvelope holds it to json.Marshal, and fails
// when Envelope, EventMetadata or Actor gain a field this does not write.
func encodeEnvelope(e *domain.Envelope) ([]byte, error) {
	return encodeEnvelopeOf(e, false)
}

// encodeEnvelopeOf is encodeEnvelope; dataValid says that e.Data is known
// to be valid JSON (json.Unmarshal took it whole: see prepared.run), which
// spares validating it again.
func encodeEnvelopeOf(e *domain.Envelope, dataValid bool) ([]byte, error) {
	// Room for the whole envelope at once: its fields around the data
	// (ids, hashes, metadata) take 400 to 600 bytes, and growing the
	// buffer midway copied it again (a tenth of a rebuild's allocations).
	m := &e.Metadata
	b := make([]byte, 0, 256+len(e.ID)+len(e.Stream)+len(e.Type)+len(e.Data)+len(m.Actor.Role)+len(m.Actor.Tenant)+
		len(m.Actor.Subject)+len(m.Actor.Name)+len(m.CorrelationID)+len(m.CausationID)+len(e.PrevHash)+len(e.Hash)+len(e.Sealed))
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, e.Stream)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, e.Version, 10)
	b = append(b, `,"position":`...)
	b = strconv.AppendUint(b, e.Position, 10)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"data":`...)
	if b, err = appendRaw(b, e.Data, dataValid); err != nil {
		return nil, fmt.Errorf("encode data: %w", err)
	}
	b = append(b, `,"metadata":{"actor":{"role":`...)
	b = appendJSONString(b, string(m.Actor.Role))
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, m.Actor.Tenant)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, m.Actor.Subject)
	if m.Actor.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, m.Actor.Name)
	}
	b = append(b, '}')
	if m.CorrelationID != "" {
		b = append(b, `,"correlation_id":`...)
		b = appendJSONString(b, m.CorrelationID)
	}
	if m.CausationID != "" {
		b = append(b, `,"causation_id":`...)
		b = appendJSONString(b, m.CausationID)
	}
	b = append(b, `,"occurred_at":`...)
	at, err := m.OccurredAt.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode occurred_at: %w", err)
	}
	b = append(b, at...)
	b = append(b, '}')
	if e.PrevHash != "" {
		b = append(b, `,"prev_hash":`...)
		b = appendJSONString(b, e.PrevHash)
	}
	b = append(b, `,"hash":`...)
	b = appendJSONString(b, e.Hash)
	if len(e.Sealed) > 0 {
		b = append(b, `,"sealed":`...)
		if b, err = appendRaw(b, e.Sealed, false); err != nil {
			return nil, fmt.Errorf("encode sealed: %w", err)
		}
	}
	if e.Erased {
		b = append(b, `,"erased":true`...)
	}
	return append(b, '}'), nil
}

// appendRaw appends raw as json.Marshal writes a json.RawMessage: null
// when nil, else compacted, escaping <, >, & and U+2028/2029 as it does in
// strings (copied as is when that changes nothing).
func appendRaw(b []byte, raw json.RawMessage, valid bool) ([]byte, error) {
	switch {
	case raw == nil:
		return append(b, "null"...), nil
	case compactSafe(raw, valid):
		return append(b, raw...), nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return append(b, data...), nil
}

// appendJSONString appends s as json.Marshal writes it: as is between
// quotes when it holds only printable ASCII that needs no escape (ids,
// hashes, stream and type names), else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// compactSafe reports whether json.Marshal would copy data unchanged: it is
// valid JSON (the log's data is canonical, so it mostly is) with no
// whitespace outside strings and nothing that json escapes for HTML (<, >,
// &, U+2028, U+2029), which are all that its compacting changes.
func compactSafe(data []byte, valid bool) bool {
	inString, escaped := false, false
	for i, c := range data {
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return valid || json.Valid(data)
}
