package projections

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offerflow/offerflow/domain"
)

// The offers and inbox tables keep an offer's state as one document, the
// JSON of domain.OfferView (its tags name the fields), beside the few
// columns their queries filter, sort and index on. A field added to the
// view is in the document without a change here.

// encodeState is an offer's state document: what json.Marshal writes for
// v, but with HTML characters as they are (json.Marshal would write & as
// \u0026), so that decodeState's fast path reads every text without
// escapes. appendState writes it by statePlan without encoding/json's
// reflection per value (a rebuild writes every offer it touches, twice, at
// the end of each batch); a value it cannot write exactly as encoding/json
// would (an escape, a time not in UTC) leaves the whole document to
// encoding/json.
func encodeState(v domain.OfferView) (string, error) {
	if v.Items == nil {
		v.Items = []domain.Item{} // never null, as the items column was
	}
	if statePlan != nil {
		if b, ok := appendState(make([]byte, 0, 1024), statePlan, &v); ok {
			return string(b), nil
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// appendState appends v's document by plan; ok is false when a value needs
// encoding/json (see encodeState).
func appendState(b []byte, plan []stateField, v *domain.OfferView) (_ []byte, ok bool) {
	rv := reflect.ValueOf(v).Elem()
	for _, f := range plan {
		b = append(b, f.prefix...)
		fv := rv.Field(f.index)
		switch f.kind {
		case kindString:
			if b, ok = appendPlainString(b, fv.String()); !ok {
				return nil, false
			}
		case kindInt:
			b = strconv.AppendInt(b, fv.Int(), 10)
		case kindBool:
			b = strconv.AppendBool(b, fv.Bool())
		case kindTime:
			if b, ok = appendUTC(b, *fv.Addr().Interface().(*time.Time)); !ok {
				return nil, false
			}
		case kindTimePtr:
			t := fv.Interface().(*time.Time)
			if t == nil {
				b = append(b, "null"...)
			} else if b, ok = appendUTC(b, *t); !ok {
				return nil, false
			}
		case kindItems:
			if b, ok = appendItems(b, fv.Interface().([]domain.Item)); !ok {
				return nil, false
			}
		}
	}
	return append(b, '}'), true
}

// appendItems appends items in the shape parseItems reads, the fields of
// domain.Item in order (TestStateDoc_EncodeAsJSON holds it to
// encoding/json, so that a field added to Item cannot be left out here).
func appendItems(b []byte, items []domain.Item) (_ []byte, ok bool) {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		for _, f := range [...]struct{ prefix, s string }{{`{"id":`, string(it.ID)}, {`,"product_id":`, string(it.ProductID)},
			{`,"product_name":`, it.ProductName}, {`,"kind":`, string(it.Kind)}} {
			b = append(b, f.prefix...)
			if b, ok = appendPlainString(b, f.s); !ok {
				return nil, false
			}
		}
		b = append(b, `,"term_months":`...)
		b = strconv.AppendInt(b, int64(it.TermMonths), 10)
		b = append(b, `,"license_mode":`...)
		if b, ok = appendPlainString(b, string(it.LicenseMode)); !ok {
			return nil, false
		}
		b = append(b, `,"seats":`...)
		if it.Seats == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, int64(*it.Seats), 10)
		}
		b = append(b, '}')
	}
	return append(b, ']'), true
}

// appendPlainString appends s quoted, as encoding/json without HTML
// escaping writes it, when that needs no escape: no control character,
// quote or backslash, valid UTF-8 without U+2028 and U+2029.
func appendPlainString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return nil, false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return nil, false
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendUTC appends t quoted as time.Time's MarshalJSON writes a time in
// UTC (RFC 3339, the fraction's trailing zeros dropped); ok is false for
// any other location and for years MarshalJSON refuses.
func appendUTC(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		return nil, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// decodeState reads a state document written by encodeState into v.
//
// Every inbox and offer list decodes one document per row, and
// encoding/json (a validating pass, reflection per field, a copy of every
// string) would cost those queries more than the rest of their work
// together (it was half of the inbox's CPU for the items alone, see
// decodeItems). The rows hold exactly what encodeState wrote, so
// parseState reads that one shape directly, by a plan made once from
// OfferView's fields. Any other text (escaped strings, other field orders,
// documents of other encoders) goes to json.Unmarshal, which stays the
// definition of what the document means.
func decodeState(s string, v *domain.OfferView) error {
	if statePlan != nil && parseState(statePlan, s, v) {
		return nil
	}
	*v = domain.OfferView{}
	return json.Unmarshal([]byte(s), v)
}

// stateKind is how parseState reads one field.
type stateKind int

const (
	kindString  stateKind = iota // a string of any string kind
	kindInt                      // an integer of any int kind
	kindBool                     // true or false
	kindTime                     // time.Time, RFC 3339 as json.Marshal writes it
	kindTimePtr                  // *time.Time: null or as kindTime
	kindItems                    // []domain.Item, read by parseItems
)

// stateField is one field of the document: the text before its value
// (`{"id":`, then `,"reseller_id":`, ...), its index in the struct and
// how its value reads.
type stateField struct {
	prefix string
	index  int
	kind   stateKind
}

// statePlan is parseState's plan for OfferView; nil when a field is of a
// kind it cannot read (then every document goes to json.Unmarshal, and
// TestStateDoc_FastPath fails, so that the slower path is never taken by
// accident).
var statePlan = planState(reflect.TypeFor[domain.OfferView]())

// planState returns the fields of struct type t in the order
// encoding/json writes them, or nil when one is beyond parseState.
func planState(t reflect.Type) []stateField {
	var plan []stateField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			return nil
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || opts != "" {
			return nil // left out or written differently: json.Unmarshal's business
		}
		if name == "" {
			name = f.Name
		}
		var kind stateKind
		switch {
		case f.Type == reflect.TypeFor[time.Time]():
			kind = kindTime
		case f.Type == reflect.TypeFor[*time.Time]():
			kind = kindTimePtr
		case f.Type == reflect.TypeFor[[]domain.Item]():
			kind = kindItems
		case f.Type.Kind() == reflect.String:
			kind = kindString
		case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
			kind = kindInt
		case f.Type.Kind() == reflect.Bool:
			kind = kindBool
		default:
			return nil
		}
		prefix := `,"`
		if i == 0 {
			prefix = `{"`
		}
		key, err := json.Marshal(name)
		if err != nil || string(key) != `"`+name+`"` {
			return nil
		}
		plan = append(plan, stateField{prefix: prefix + name + `":`, index: i, kind: kind})
	}
	return plan
}

// parseState reads s in the shape encodeState gives a document of plan's
// type into v; ok is false as soon as s differs from it in any way (v is
// then partly written).
func parseState(plan []stateField, s string, v *domain.OfferView) (ok bool) {
	// encoding/json replaces invalid UTF-8 in strings; substrings would not.
	if !utf8.ValidString(s) {
		return false
	}
	p := itemParser{s: s}
	rv := reflect.ValueOf(v).Elem()
	for _, f := range plan {
		if !p.lit(f.prefix) {
			return false
		}
		fv := rv.Field(f.index)
		switch f.kind {
		case kindString:
			var x string
			if !p.str(&x) {
				return false
			}
			fv.SetString(x)
		case kindInt:
			var n int
			if !p.int(&n) {
				return false
			}
			fv.SetInt(int64(n))
		case kindBool:
			switch {
			case p.lit("true"):
				fv.SetBool(true)
			case p.lit("false"):
				fv.SetBool(false)
			default:
				return false
			}
		case kindTime:
			t, ok := p.time()
			if !ok {
				return false
			}
			fv.Set(reflect.ValueOf(t))
		case kindTimePtr:
			if p.lit("null") {
				fv.SetZero()
				continue
			}
			t, ok := p.time()
			if !ok {
				return false
			}
			fv.Set(reflect.ValueOf(&t))
		case kindItems:
			end, ok := p.arrayEnd()
			if !ok {
				return false
			}
			items, ok := parseItems(p.s[p.i:end])
			if !ok {
				return false
			}
			fv.Set(reflect.ValueOf(items))
			p.i = end
		}
	}
	return p.lit("}") && p.end()
}

// time consumes a time as json.Marshal writes it (RFC 3339, the fraction's
// trailing zeros dropped).
func (p *itemParser) time() (time.Time, bool) {
	var x string
	if !p.str(&x) {
		return time.Time{}, false
	}
	if t, ok := parseUTC(x); ok {
		return t, true
	}
	// UnmarshalText is UnmarshalJSON's strict RFC 3339, so that any time
	// this accepts json.Unmarshal reads alike.
	var t time.Time
	return t, t.UnmarshalText([]byte(x)) == nil
}

// parseUTC reads the one form appendUTC writes, YYYY-MM-DDTHH:MM:SS, a
// fraction of 1 to 9 digits or none, and Z; ok is false for anything else
// (time.Parse's general path took a fifth of an inbox query's decoding).
func parseUTC(s string) (t time.Time, ok bool) {
	if len(s) < 20 || len(s) == 21 || len(s) > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	ok = true
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if len(s) > 20 {
		if s[19] != '.' {
			return time.Time{}, false
		}
		nsec = num(20, len(s)-1)
		for range 9 - (len(s) - 21) {
			nsec *= 10
		}
	} else if s[19] != 'Z' {
		return time.Time{}, false
	}
	if !ok || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // February 30 and the like, which Date carries over
		return time.Time{}, false
	}
	return t, true
}

// arrayEnd returns the index just past the array that starts at the
// parser's position, whose strings hold no escapes (those go to the
// fallback); the position stays.
func (p *itemParser) arrayEnd() (int, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return 0, false
	}
	depth, in := 0, false
	for j := p.i; j < len(p.s); j++ {
		c := p.s[j]
		switch {
		case in && c == '\\':
			return 0, false
		case c == '"':
			in = !in
		case in:
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}
