package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/offerflow/offerflow/domain"
)

// canonicalMaps is the canonical envelope as it was first written: maps that
// encoding/json sorts. Canonical, written field by field, must produce the
// same bytes for every event, or every hash in every log would change.
func canonicalMaps(e Event) ([]byte, error) {
	data, err := canonicalJSONReflect(e.Data)
	if err != nil {
		return nil, err
	}
	var prev any
	if e.PrevHash != "" {
		prev = e.PrevHash
	}
	actor := map[string]any{"role": e.Metadata.Actor.Role, "subject": e.Metadata.Actor.Subject, "tenant": e.Metadata.Actor.Tenant}
	if e.Metadata.Actor.Name != "" {
		actor["name"] = e.Metadata.Actor.Name
	}
	env := map[string]any{
		"data": json.RawMessage(data),
		"id":   e.ID,
		"metadata": map[string]any{
			"actor":          actor,
			"causation_id":   e.Metadata.CausationID,
			"correlation_id": e.Metadata.CorrelationID,
			"occurred_at":    e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano),
		},
		"prev_hash":      prev,
		"schema_version": e.SchemaVersion,
		"stream":         e.Stream,
		"type":           e.Type,
		"version":        e.Version,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// canonicalJSONReflect is canonicalJSON as it was first written: the
// decoded value re-encoded by encoding/json.
func canonicalJSONReflect(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// jsonText draws JSON texts: values of every kind, nested, with keys and
// strings holding what must be escaped, numbers written in several ways,
// repeated keys, and white space.
func jsonText() *rapid.Generator[string] {
	str := rapid.StringOf(rapid.SampledFrom([]rune{'"', '\\', '\n', '\b', 0, 0x1f, '<', '>', '&', 0x2028, 0x2029, 'ü', 'a', 'b', '/'}))
	quoted := rapid.Map(str, func(s string) string { q, _ := json.Marshal(s); return string(q) })
	escaped := rapid.SampledFrom([]string{`"\u00e9\/\u003c"`, `"\ud83d\ude00"`, `"\ud800"`, `"a\tb"`})
	number := rapid.SampledFrom([]string{"0", "-0", "1.50", "1e5", "-2.5E-3", "12345678901234567890", "3"})
	scalar := rapid.OneOf(quoted, escaped, number, rapid.SampledFrom([]string{"true", "false", "null"}))
	var value func(depth int) *rapid.Generator[string]
	value = func(depth int) *rapid.Generator[string] {
		if depth == 0 {
			return scalar
		}
		inner := value(depth - 1)
		array := rapid.Map(rapid.SliceOfN(inner, 0, 4), func(vs []string) string { return "[" + strings.Join(vs, ", ") + "]" })
		object := rapid.Custom(func(t *rapid.T) string {
			keys := rapid.SliceOfN(rapid.OneOf(quoted, rapid.SampledFrom([]string{`"a"`, `"b"`, `"\u0061"`})), 0, 5).Draw(t, "keys")
			var parts []string
			for i, k := range keys {
				parts = append(parts, k+" : "+inner.Draw(t, fmt.Sprint("v", i)))
			}
			return "{ " + strings.Join(parts, ",") + " }"
		})
		return rapid.OneOf(scalar, array, object)
	}
	return value(3)
}

// TestCanonicalJSON_SameAsReflect compares canonicalJSON with encoding/json
// re-encoding the decoded value, on random JSON texts.
func TestCanonicalJSON_SameAsReflect(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := json.RawMessage(jsonText().Draw(t, "json"))
		got, err := canonicalJSON(raw)
		want, werr := canonicalJSONReflect(raw)
		if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%s) = %s, %v; encoding/json gives %s, %v", raw, got, err, want, werr)
		}
	})
}

// TestCanonical_SameAsMaps compares Canonical with the map-built envelope
// on random events whose texts hold what JSON must escape: quotes,
// backslashes, control characters, HTML's <>&, U+2028 and U+2029, and
// bytes that are not UTF-8.
func TestCanonical_SameAsMaps(t *testing.T) {
	text := rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.SampledFrom([]rune{'"', '\\', '\n', '\t', 0, 0x1f, '<', '>', '&', 0x2028, 0x2029, 'ü', '€', 0xfffd, 'a'})),
		rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) }),
	)
	rapid.Check(t, func(t *rapid.T) {
		data, _ := json.Marshal(map[string]any{"message": text.Draw(t, "message"), "n": rapid.Int().Draw(t, "n")})
		e := Event{
			ID: text.Draw(t, "id"), Stream: text.Draw(t, "stream"), Type: text.Draw(t, "type"),
			Version: rapid.Uint64().Draw(t, "version"), SchemaVersion: rapid.IntRange(-5, 5).Draw(t, "schema"),
			Data:     data,
			PrevHash: rapid.SampledFrom([]string{"", "ab12", "<&>"}).Draw(t, "prev"),
			Metadata: Metadata{
				Actor: domain.Actor{Role: domain.Role(text.Draw(t, "role")), Tenant: text.Draw(t, "tenant"), Subject: text.Draw(t, "subject"),
					Name: rapid.SampledFrom([]string{"", "Ann <a&b>", "\u2028"}).Draw(t, "name")},
				CorrelationID: text.Draw(t, "correlation"), CausationID: text.Draw(t, "causation"),
				OccurredAt: time.Unix(rapid.Int64Range(-1e10, 1e10).Draw(t, "sec"), rapid.Int64Range(0, 1e9-1).Draw(t, "nsec")).
					In(time.FixedZone("x", rapid.IntRange(-50000, 50000).Draw(t, "zone"))),
			},
		}
		got, err := Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := canonicalMaps(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Canonical =\n%s\nmaps give\n%s", got, want)
		}
	})
}

// BenchmarkCanonical runs the field-by-field envelope and the map-built one
// side by side on an offer.created-sized event.
//
//	go test -run '^$' -bench BenchmarkCanonical ./eventstore/
func BenchmarkCanonical(b *testing.B) {
	e := Event{ID: "0193a1f2-7c3e-7d00-8000-000000000001", Stream: "offer-0193a1f2-7c3e-7d00-8000-000000000002", Version: 1,
		Type: "offer.created", SchemaVersion: 1, PrevHash: "",
		Data: json.RawMessage(`{"offer_id":"0193a1f2","reseller_id":"0193a1f3","customer_id":"0193a1f4","template_id":"0193a1f5",` +
			`"items":[{"id":"i1","product_id":"p1","product_name":"Bench Module","kind":"module","term_months":12,"license_mode":"absolute","seats":null}],` +
			`"message":"An offer from offerflow bench","expires_at":null,"at":"2026-12-02T11:00:00.123456789Z"}`),
		Metadata: Metadata{Actor: domain.Actor{Role: "reseller", Tenant: "0193a1f3", Subject: "tok-1", Name: "Ann"}, OccurredAt: time.Now()}}
	for _, c := range []struct {
		name string
		fn   func(Event) ([]byte, error)
	}{{"fields", Canonical}, {"maps", canonicalMaps}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.fn(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
