package domain

import (
	"time"
)

// The offer's delivery events (dispatched, failed, delivered, read) are
// most of a log: a round of delivery is two of them, and an offer that
// waits on a failing webhook has many rounds. They are small flat objects,
// and decoding them through json.Unmarshal's reflection was most of what
// decoding a log cost (issue 7: a rebuild decodes every event). Written
// by json.Marshal (what the command side appends), their data has one
// exact layout; decodeFlat reads that layout by hand and leaves anything
// else (other key orders, spaces, escapes, non-ASCII, numbers it does not
// take) to json.Unmarshal, whose result it equals where it applies
// (TestDecodeFlat, FuzzDecodeFlat).

// decodeFlat fills e from data when e is one of the types above and data
// has exactly json.Marshal's layout of it, and reports whether it did.
// Data it takes is valid JSON, as json.Unmarshal would have checked.
func decodeFlat(e Event, data []byte) bool {
	r := flatReader{b: data, ok: true}
	switch v := e.(type) {
	case *OfferDispatched:
		id, n, at := r.offerDispatch()
		if r.end() {
			*v = OfferDispatched{OfferID: id, Dispatch: n, At: at}
			return true
		}
	case *OfferDelivered:
		id, n, at := r.offerDispatch()
		if r.end() {
			*v = OfferDelivered{OfferID: id, Dispatch: n, At: at}
			return true
		}
	case *OfferDeliveryFailed:
		r.next(`{"offer_id":`)
		id := OfferID(r.text())
		r.next(`,"dispatch":`)
		n := r.int()
		r.next(`,"error":`)
		msg := r.text()
		r.next(`,"attempts":`)
		attempts := r.int()
		r.next(`,"at":`)
		at := r.time()
		if r.end() {
			*v = OfferDeliveryFailed{OfferID: id, Dispatch: n, Error: msg, Attempts: attempts, At: at}
			return true
		}
	case *OfferRead:
		r.next(`{"offer_id":`)
		id := OfferID(r.text())
		r.next(`,"at":`)
		at := r.time()
		by := ""
		if r.maybe(`,"by":`) {
			by = r.text()
		}
		if r.end() {
			*v = OfferRead{OfferID: id, At: at, By: by}
			return true
		}
	}
	return false
}

// flatReader reads JSON of a known layout from the front of b; the first
// thing that does not fit clears ok, and nothing reads after it.
type flatReader struct {
	b  []byte
	ok bool
}

// offerDispatch reads {"offer_id":…,"dispatch":…,"at":…, the fields that
// OfferDispatched and OfferDelivered share, without the closing brace.
func (r *flatReader) offerDispatch() (OfferID, int, time.Time) {
	r.next(`{"offer_id":`)
	id := OfferID(r.text())
	r.next(`,"dispatch":`)
	n := r.int()
	r.next(`,"at":`)
	return id, n, r.time()
}

// next consumes lit, which must come next.
func (r *flatReader) next(lit string) {
	if !r.maybe(lit) {
		r.ok = false
	}
}

// maybe consumes lit if it comes next, and reports whether it did.
func (r *flatReader) maybe(lit string) bool {
	if !r.ok || len(r.b) < len(lit) || string(r.b[:len(lit)]) != lit {
		return false
	}
	r.b = r.b[len(lit):]
	return true
}

// end consumes the closing brace and reports whether everything fit and
// nothing follows.
func (r *flatReader) end() bool {
	r.next(`}`)
	return r.ok && len(r.b) == 0
}

// quoted reads a JSON string of printable ASCII without escapes, and
// returns it quotes included.
func (r *flatReader) quoted() []byte {
	if !r.ok || len(r.b) == 0 || r.b[0] != '"' {
		r.ok = false
		return nil
	}
	for i := 1; i < len(r.b); i++ {
		c := r.b[i]
		if c == '"' {
			q := r.b[:i+1]
			r.b = r.b[i+1:]
			return q
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			break
		}
	}
	r.ok = false
	return nil
}

// text reads such a string's content.
func (r *flatReader) text() string {
	q := r.quoted()
	if len(q) < 2 {
		return ""
	}
	return string(q[1 : len(q)-1])
}

// int reads an integer as JSON writes one (no leading zeros, no fraction
// or exponent), of at most 18 digits so that it fits a 64-bit int.
func (r *flatReader) int() int {
	if !r.ok {
		return 0
	}
	b, neg := r.b, false
	if len(b) > 0 && b[0] == '-' {
		b, neg = b[1:], true
	}
	n, v := 0, 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int(b[n]-'0')
		n++
	}
	if n == 0 || n > 18 || (b[0] == '0' && n > 1) {
		r.ok = false
		return 0
	}
	r.b = b[n:]
	if neg {
		return -v
	}
	return v
}

// time reads a time as time.Time's own UnmarshalJSON does (what
// json.Unmarshal calls).
func (r *flatReader) time() time.Time {
	q := r.quoted()
	if !r.ok {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalJSON(q); err != nil {
		r.ok = false
		return time.Time{}
	}
	return t
}
