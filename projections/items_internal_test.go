package projections

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestDecodeItems checks that decodeItems reads every items column as
// json.Unmarshal does, and that the shape encodeItems writes takes the
// parser (not the fallback).
func TestDecodeItems(t *testing.T) {
	seats := 7
	neg := -3
	encoded := []struct {
		name  string
		items []domain.Item
	}{
		{"empty", nil},
		{"one", []domain.Item{{ID: "i1", ProductID: "p1", ProductName: "Mathe 5", Kind: "module", TermMonths: 12, LicenseMode: domain.ModeAbsolute}}},
		{"seats", []domain.Item{
			{ID: "i1", ProductID: "p1", ProductName: "A", Kind: "course", TermMonths: 0, LicenseMode: domain.ModeRelative, Seats: &seats},
			{ID: "i2", ProductID: "p2", ProductName: "B", Kind: "module", TermMonths: 36, LicenseMode: domain.ModeAbsolute, Seats: &neg},
		}},
		{"unicode", []domain.Item{{ID: "i1", ProductID: "p1", ProductName: "Übungen für Größen ✓", Kind: "module", TermMonths: 1}}},
	}
	for _, c := range encoded {
		t.Run(c.name, func(t *testing.T) {
			s, err := encodeItems(c.items)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := parseItems(s); !ok {
				t.Errorf("parseItems(%s) fell back to encoding/json", s)
			}
			assertDecodesAsJSON(t, s)
		})
	}
	// Texts the parser leaves to json.Unmarshal, or that fail: the result
	// must still be json.Unmarshal's.
	for _, s := range []string{
		`[{"id":"i1","product_id":"p1","product_name":"say \"hi\" <b>","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`,
		`[{"id":"i1","product_id":"p1","product_name":"\u00e9","kind":"module","term_months":12,"license_mode":"absolute","seats":2}]`,
		`[ {"id":"i1"} ]`,
		`[{"product_id":"p1","id":"i1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`,
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":1.5,"license_mode":"absolute","seats":null}]`,
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":012,"license_mode":"absolute","seats":null}]`,
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":99999999999999999999,"license_mode":"absolute","seats":null}]`,
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]x`,
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null},]`,
		"[{\"id\":\"i1\",\"product_id\":\"p1\",\"product_name\":\"\xff\",\"kind\":\"module\",\"term_months\":12,\"license_mode\":\"absolute\",\"seats\":null}]",
		`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":-0,"license_mode":"absolute","seats":-0}]`,
		`null`, ``, `[]`, `[`, `{}`,
	} {
		t.Run(s, func(t *testing.T) { assertDecodesAsJSON(t, s) })
	}
}

// FuzzDecodeItems compares decodeItems with json.Unmarshal on any text.
func FuzzDecodeItems(f *testing.F) {
	f.Add(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`)
	f.Add(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":3},{"id":"i2","product_id":"p2","product_name":"y","kind":"course","term_months":-1,"license_mode":"relative","seats":null}]`)
	f.Fuzz(func(t *testing.T, s string) { assertDecodesAsJSON(t, s) })
}

func assertDecodesAsJSON(t *testing.T, s string) {
	t.Helper()
	var want []domain.Item
	wantErr := json.Unmarshal([]byte(s), &want)
	got, err := decodeItems(s)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeItems(%q): error %v, json.Unmarshal's %v", s, err, wantErr)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeItems(%q) differs from json.Unmarshal (-want +got):\n%s", s, diff)
	}
	if (want == nil) != (got == nil) {
		t.Errorf("decodeItems(%q) = %#v, json.Unmarshal %#v", s, got, want)
	}
}
