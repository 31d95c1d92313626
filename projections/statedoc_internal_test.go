package projections

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// stateDocView is an offer with every field of its state set.
func stateDocView() domain.OfferView {
	at := time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.UTC)
	later := at.Add(90 * time.Minute)
	seats := 7
	return domain.OfferView{ID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1",
		Items: []domain.Item{
			{ID: "i1", ProductID: "p1", ProductName: "Übungen für Größen ✓", Kind: "module", TermMonths: 12, LicenseMode: domain.ModeAbsolute},
			{ID: "i2", ProductID: "p2", ProductName: "B", Kind: "course", TermMonths: 0, LicenseMode: domain.ModeRelative, Seats: &seats},
		},
		Message: "Für Sie & Ihr Team <3", ExpiresAt: &later, Status: domain.StatusRejected, Dispatch: 2, Delivered: true,
		CreatedAt: at, DeliveredAt: &at, OpenedAt: &later, DecidedAt: &later, WithdrawnAt: &at, ExpiredAt: &later,
		RejectionReason: "zu teuer", DeliveryError: "webhook 500", OpenedBy: "Ann", DecidedBy: "Bob",
		Supersedes: "o0", SupersededBy: "o2", RemindedAt: &at, ReminderRead: true, Erased: true}
}

// TestStateDoc_FastPath: the plan covers every field of OfferView (a
// field of a kind parseState cannot read fails here, not silently in the
// inbox's latency), and what encodeState writes, texts with HTML
// characters and umlauts included, takes it and reads back whole.
func TestStateDoc_FastPath(t *testing.T) {
	if n := reflect.TypeFor[domain.OfferView]().NumField(); len(statePlan) != n {
		t.Fatalf("statePlan has %d of OfferView's %d fields: give parseState a kind for the new one", len(statePlan), n)
	}
	for name, v := range map[string]domain.OfferView{
		"full":    stateDocView(),
		"created": {ID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Status: domain.StatusWaiting, Dispatch: 1, CreatedAt: time.Unix(0, 1).UTC()},
	} {
		t.Run(name, func(t *testing.T) {
			if v.Items == nil {
				v.Items = []domain.Item{}
			}
			if _, ok := appendState(nil, statePlan, &v); !ok {
				t.Fatalf("appendState left %+v to encoding/json", v)
			}
			s, err := encodeState(v)
			if err != nil {
				t.Fatal(err)
			}
			var got domain.OfferView
			if !parseState(statePlan, s, &got) {
				t.Fatalf("parseState fell back to encoding/json on %s", s)
			}
			if diff := cmp.Diff(v, got); diff != "" {
				t.Errorf("state read back (-wrote +read):\n%s", diff)
			}
			assertStateAsJSON(t, s)
		})
	}
}

// TestDecodeState: documents the fast path leaves to json.Unmarshal, or
// that fail, read exactly as json.Unmarshal reads them.
func TestDecodeState(t *testing.T) {
	full, err := encodeState(stateDocView())
	if err != nil {
		t.Fatal(err)
	}
	items := `[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`
	i := strings.Index(full, `"items":`) + len(`"items":`)
	j := strings.Index(full, `,"message":`)
	withItems := func(s string) string { return full[:i] + s + full[j:] }
	for _, s := range []string{
		withItems(items),
		withItems(`[]`),
		withItems(`null`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"say \"hi\"","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"\u00e9","kind":"module","term_months":12,"license_mode":"absolute","seats":2}]`),
		withItems(`[{"product_id":"p1","id":"i1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":1.5,"license_mode":"absolute","seats":null}]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":012,"license_mode":"absolute","seats":null}]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":99999999999999999999,"license_mode":"absolute","seats":null}]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"x","kind":"module","term_months":12,"license_mode":"absolute","seats":null},]`),
		withItems(`[{"id":"i1","product_id":"p1","product_name":"x]","kind":"module","term_months":12,"license_mode":"absolute","seats":null}]`),
		withItems(`[ ]`),
		strings.Replace(full, `"message":"`, `"message":"\u0026`, 1),
		strings.Replace(full, `"dispatch":2`, `"dispatch":-0`, 1),
		strings.Replace(full, `"delivered":true`, `"delivered":1`, 1),
		strings.Replace(full, `"opened_at":"`, `"opened_at":"x`, 1),
		strings.Replace(full, `"opened_at":"2026-12-02T16:34:05.123456789Z"`, `"opened_at":"2026-12-02T16:34:05,123456789Z"`, 1),
		strings.Replace(full, `"created_at":"2026-12-02T15:04:05.123456789Z"`, `"created_at":"2026-12-02T15:04:05.1+02:00"`, 1),
		strings.Replace(full, `"erased":true}`, `"erased":true,"more":1}`, 1),
		strings.Replace(full, `{"id":"o1",`, `{"ID":"o1",`, 1),
		strings.Replace(full, `"Bob"`, "\"B\xffb\"", 1),
		full + " ", full[:len(full)-1], `{}`, `null`, ``, `[]`,
	} {
		t.Run(s, func(t *testing.T) { assertStateAsJSON(t, s) })
	}
}

// FuzzDecodeState compares decodeState with json.Unmarshal on any text.
func FuzzDecodeState(f *testing.F) {
	full, err := encodeState(stateDocView())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, s string) { assertStateAsJSON(t, s) })
}

func assertStateAsJSON(t *testing.T, s string) {
	t.Helper()
	var want domain.OfferView
	wantErr := json.Unmarshal([]byte(s), &want)
	var got domain.OfferView
	err := decodeState(s, &got)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeState(%q): error %v, json.Unmarshal's %v", s, err, wantErr)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeState(%q) differs from json.Unmarshal (-want +got):\n%s", s, diff)
	}
	if (want.Items == nil) != (got.Items == nil) {
		t.Errorf("decodeState(%q) items %#v, json.Unmarshal %#v", s, got.Items, want.Items)
	}
}

// TestStateDoc_EncodeAsJSON: encodeState writes, byte for byte, what
// encoding/json (without HTML escaping) writes for the view, whether
// appendState writes it or leaves it to encoding/json (escapes, invalid
// UTF-8, a time not in UTC, a year beyond 9999); a field added to
// domain.Item that appendItems leaves out fails here.
func TestStateDoc_EncodeAsJSON(t *testing.T) {
	full := stateDocView()
	views := map[string]domain.OfferView{
		"full":    full,
		"created": {ID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1", Status: domain.StatusWaiting, Dispatch: 1, CreatedAt: time.Unix(0, 1).UTC()},
	}
	texts := map[string]string{"quote": `say "hi"`, "backslash": `a\b`, "newline": "a\nb", "invalid": "a\xffb",
		"separator": "a\u2028b", "control": "a\x01b", "html": "<b>&</b>"}
	for name, text := range texts {
		v := full
		v.Message = text
		views["message "+name] = v
		v = full
		v.Items = []domain.Item{{ID: "i1", ProductName: text}}
		views["item "+name] = v
	}
	berlin := time.FixedZone("CET", 3600)
	v := full
	v.CreatedAt = full.CreatedAt.In(berlin)
	views["created_at not in UTC"] = v
	v = full
	late := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	v.ExpiresAt = &late
	views["year 12000"] = v
	v = full
	whole := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v.CreatedAt, v.OpenedAt = whole, &whole
	views["whole seconds"] = v

	for name, v := range views {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			want := v
			if want.Items == nil {
				want.Items = []domain.Item{}
			}
			wantErr := enc.Encode(want)
			got, err := encodeState(v)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("encodeState: error %v, encoding/json's %v", err, wantErr)
			}
			if err == nil && got != strings.TrimSuffix(b.String(), "\n") {
				t.Errorf("encodeState wrote\n%s\nencoding/json\n%s", got, b.String())
			}
			if err == nil {
				assertStateAsJSON(t, got)
			}
		})
	}
}
