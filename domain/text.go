package domain

import (
	"strings"
	"unicode/utf8"
)

// Text that people write is shown to other people: a reseller's name in a
// customer's inbox, a rejection reason in the reseller's list, a token's
// name in an audit history. A control character there (NUL, an escape
// sequence) or a bidirectional formatting character (U+202E RIGHT-TO-LEFT
// OVERRIDE and its kin) can make a display show something else than what
// is stored, such as a file name that reads backwards from the override on. One
// rule refuses them in every name and free text.

// TextKind says which characters a text may hold besides the printable
// ones.
type TextKind int

// Kinds of text.
const (
	// SingleLine is a name or a reference: no control character at all.
	SingleLine TextKind = iota + 1
	// MultiLine is a message or a reason: line feeds, carriage returns and
	// tabs are allowed, so that a message can have paragraphs.
	MultiLine
)

// CheckText validates text of kind, at most max code points (0: no bound),
// and names field in its error: it must be valid UTF-8 and hold no control
// character (C0, DEL, C1; for MultiLine text "\n", "\r" and "\t" aside) and
// no bidirectional formatting character (U+200E, U+200F, U+061C,
// U+202A–U+202E, U+2066–U+2069).
func CheckText(field, text string, kind TextKind, max int) error {
	if !utf8.ValidString(text) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	for _, r := range text {
		if kind == MultiLine && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return Invalid(field, "%s must not contain control characters (U+%04X)", field, r)
		}
		if isBidiFormat(r) {
			return Invalid(field, "%s must not contain bidirectional formatting characters (U+%04X)", field, r)
		}
	}
	if max > 0 && textLen(text) > max {
		return Invalid(field, "%s must be at most %d characters", field, max)
	}
	return nil
}

// isBidiFormat reports whether r is one of Unicode's explicit
// bidirectional formatting characters (UAX #9, table 1), the marks
// included.
func isBidiFormat(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F:
		return true
	case r >= 0x202A && r <= 0x202E:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func textLen(s string) int { return utf8.RuneCountInString(s) }

// checkName validates a required, trimmed, bounded, single-line name.
func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Invalid(field, "%s is required", field)
	}
	if err := CheckText(field, name, SingleLine, MaxNameLen); err != nil {
		return "", err
	}
	return name, nil
}
