package projections

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/offerflow/offerflow/domain"
)

// parseItems reads an offer's items as encodeState writes them, for
// parseState (see decodeState): the fields in declaration order, strings
// without escapes (taken as substrings of s, no copy), integers or null for
// seats. In an inbox query, encoding/json spent about half of the CPU on
// the items alone.
//
// It reads s in the shape json.Marshal gives a []domain.Item; ok is false
// as soon as s differs from it in any way.
func parseItems(s string) (items []domain.Item, ok bool) {
	p := itemParser{s: s}
	// encoding/json replaces invalid UTF-8 in strings; substrings would not.
	if !p.lit("[") || !utf8.ValidString(s) {
		return nil, false
	}
	items = make([]domain.Item, 0, strings.Count(s, `{"id":`))
	if p.lit("]") {
		return items, p.end()
	}
	for {
		var it domain.Item
		var id, product, name, kind, mode string
		if !p.lit(`{"id":`) || !p.str(&id) ||
			!p.lit(`,"product_id":`) || !p.str(&product) ||
			!p.lit(`,"product_name":`) || !p.str(&name) ||
			!p.lit(`,"kind":`) || !p.str(&kind) ||
			!p.lit(`,"term_months":`) || !p.int(&it.TermMonths) ||
			!p.lit(`,"license_mode":`) || !p.str(&mode) ||
			!p.lit(`,"seats":`) {
			return nil, false
		}
		if !p.lit("null") {
			var n int
			if !p.int(&n) {
				return nil, false
			}
			it.Seats = &n
		}
		if !p.lit("}") {
			return nil, false
		}
		it.ID, it.ProductID, it.ProductName = domain.ItemID(id), domain.ProductID(product), name
		it.Kind, it.LicenseMode = domain.ProductKind(kind), domain.LicenseMode(mode)
		items = append(items, it)
		if p.lit("]") {
			return items, p.end()
		}
		if !p.lit(",") {
			return nil, false
		}
	}
}

// itemParser is parseItems' position in its input.
type itemParser struct {
	s string
	i int
}

// lit consumes t if the input continues with it.
func (p *itemParser) lit(t string) bool {
	if !strings.HasPrefix(p.s[p.i:], t) {
		return false
	}
	p.i += len(t)
	return true
}

// str consumes a JSON string without escapes or control characters (those
// go to the fallback) into dst, a substring of the input.
func (p *itemParser) str(dst *string) bool {
	if !p.lit(`"`) {
		return false
	}
	rest := p.s[p.i:]
	for j := 0; j < len(rest); j++ {
		switch c := rest[j]; {
		case c == '"':
			*dst = rest[:j]
			p.i += j + 1
			return true
		case c == '\\' || c < 0x20:
			return false
		}
	}
	return false
}

// int consumes a JSON integer (no fraction or exponent: those go to the
// fallback, which refuses them for an int field anyway).
func (p *itemParser) int(dst *int) bool {
	j := p.i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	start := j
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == start || (p.s[start] == '0' && j-start > 1) {
		return false
	}
	n, err := strconv.Atoi(p.s[p.i:j])
	if err != nil {
		return false
	}
	*dst, p.i = n, j
	return true
}

// end reports whether the input is consumed.
func (p *itemParser) end() bool { return p.i == len(p.s) }
