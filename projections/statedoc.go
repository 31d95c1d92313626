package projections

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offerflow/offerflow/domain"
)

// The offers and inbox tables keep an offer's state as one document, the
// JSON of domain.OfferView (its tags name the fields), beside the few
// columns their queries filter, sort and index on. A field added to the
// view is in the document without a change here.

// encodeState is an offer's state document. HTML characters stay as they
// are (json.Marshal would write & as \u0026), so that decodeState's fast
// path reads every text without escapes.
func encodeState(v domain.OfferView) (string, error) {
	if v.Items == nil {
		v.Items = []domain.Item{} // never null, as the items column was
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
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
	// UnmarshalText is UnmarshalJSON's strict RFC 3339, so that any time
	// this accepts json.Unmarshal reads alike.
	var t time.Time
	return t, t.UnmarshalText([]byte(x)) == nil
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
