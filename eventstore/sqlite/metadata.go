package sqlite

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// decodeMetadata decodes a stored metadata column into m. The store writes
// it with json.Marshal of eventstore.Metadata (append.go), so nearly every
// row has that exact layout; it is read here without reflection, and any
// other text (an escaped string, keys in another order, spaces, a field
// unknown to this build) goes through json.Unmarshal, whose result the fast
// path equals where it applies (TestDecodeMetadata). json.Unmarshal of the
// metadata was a third of reading the log (issue 7: rebuild).
func decodeMetadata(b []byte, m *eventstore.Metadata) error {
	if fastMetadata(b, m) {
		return nil
	}
	*m = eventstore.Metadata{}
	return json.Unmarshal(b, m)
}

// fastMetadata decodes b when it has exactly json.Marshal's layout with
// strings that need no unescaping, and reports whether it did.
func fastMetadata(b []byte, m *eventstore.Metadata) bool {
	r := metaReader{b: b, ok: true}
	r.lit(`{"actor":{"role":`)
	m.Actor.Role = domain.Role(r.str())
	r.lit(`,"tenant":`)
	m.Actor.Tenant = r.str()
	r.lit(`,"subject":`)
	m.Actor.Subject = r.str()
	m.Actor.Name = ""
	if r.opt(`,"name":`) {
		m.Actor.Name = r.str()
	}
	r.lit(`}`)
	m.CorrelationID, m.CausationID = "", ""
	if r.opt(`,"correlation_id":`) {
		m.CorrelationID = r.str()
	}
	if r.opt(`,"causation_id":`) {
		m.CausationID = r.str()
	}
	r.lit(`,"occurred_at":`)
	at := r.quoted()
	r.lit(`}`)
	if !r.ok || len(r.b) != 0 {
		return false
	}
	// time.Time's own UnmarshalJSON, as json.Unmarshal calls it.
	var t time.Time
	if err := t.UnmarshalJSON(at); err != nil {
		return false
	}
	m.OccurredAt = t
	return true
}

// metaReader reads b from the front; the first mismatch clears ok, and
// nothing reads after it.
type metaReader struct {
	b  []byte
	ok bool
}

// lit consumes s, which must come next.
func (r *metaReader) lit(s string) {
	if !r.opt(s) {
		r.ok = false
	}
}

// opt consumes s if it comes next, and reports whether it did.
func (r *metaReader) opt(s string) bool {
	if !r.ok || !bytes.HasPrefix(r.b, []byte(s)) {
		return false
	}
	r.b = r.b[len(s):]
	return true
}

// str reads a JSON string holding only printable ASCII without escapes
// (ids, roles, names mostly): anything else is left to json.Unmarshal.
func (r *metaReader) str() string {
	q := r.quoted()
	if q == nil {
		return ""
	}
	return string(q[1 : len(q)-1])
}

// quoted reads such a string, quotes included.
func (r *metaReader) quoted() []byte {
	if !r.ok || len(r.b) == 0 || r.b[0] != '"' {
		r.ok = false
		return nil
	}
	for i := 1; i < len(r.b); i++ {
		switch c := r.b[i]; {
		case c == '"':
			q := r.b[:i+1]
			r.b = r.b[i+1:]
			return q
		case c == '\\' || c < 0x20 || c > 0x7e:
			r.ok = false
			return nil
		}
	}
	r.ok = false
	return nil
}
