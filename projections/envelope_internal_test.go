package projections

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// TestEncodeEnvelope holds encodeEnvelope to json.Marshal, byte for byte,
// on the envelopes of a real log and on strings and data that json escapes.
func TestEncodeEnvelope(t *testing.T) {
	// encodeEnvelope writes every field by hand: a new one must be added
	// there (and here).
	if n := reflect.TypeFor[domain.Envelope]().NumField(); n != 12 {
		t.Fatalf("domain.Envelope has %d fields; encodeEnvelope writes 12", n)
	}
	if n := reflect.TypeFor[domain.EventMetadata]().NumField(); n != 4 {
		t.Fatalf("domain.EventMetadata has %d fields; encodeEnvelope writes 4", n)
	}
	if n := reflect.TypeFor[domain.Actor]().NumField(); n != 4 {
		t.Fatalf("domain.Actor has %d fields; encodeEnvelope writes 4", n)
	}

	_, events := applyTestLog(t, filepath.Join(t.TempDir(), "events.db"), 2)
	cases := append([]domain.Envelope(nil), events...)
	prev := "ab\u2028<cd>"
	odd := "a\"b\\c<d>&e\u00e9\u2029\x01\t\n" + string([]byte{0xff, 'x'})
	at := time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.FixedZone("X", 3600))
	cases = append(cases,
		domain.Envelope{},
		domain.Envelope{ID: odd, Stream: odd, Type: odd, Hash: odd, PrevHash: prev,
			Metadata: domain.EventMetadata{CorrelationID: odd, CausationID: odd,
				Actor: domain.Actor{Role: domain.Role(odd), Tenant: odd, Subject: odd, Name: odd}, OccurredAt: at},
			Position: 1<<64 - 1, Version: 7, SchemaVersion: -2,
			Data: json.RawMessage(" { \"a\" : [1, 2.50, \"<&>\\u2028\u2029\"], \"b\":null }\n")},
		domain.Envelope{Data: json.RawMessage(`{}`), Metadata: domain.EventMetadata{Actor: domain.Actor{Name: "Ann"}}},
		domain.Envelope{Data: json.RawMessage(`{"message":null}`), Erased: true,
			Sealed: json.RawMessage(`{"message":{"alg":"XChaCha20-Poly1305","ct":"a+b/c=","key":"c1"}}`)},
		domain.Envelope{Data: json.RawMessage(`{"message":"<hi>"}`), Sealed: json.RawMessage(` {"message": {"ct":"&"}} `)},
	)
	// Data that compactSafe must tell apart: spaces and escapes inside
	// strings (kept), outside them (dropped), HTML characters and line
	// separators (escaped), and canonical data (copied).
	for _, d := range []string{
		`{"a":"x y\t\"z\\","b":[1,2.5e3,true,null,{}]}`,
		`{"a":"\\"," b ":1}`,
		`{"a":1 }`, "[1,\n2]", `{"a":"<"}`, `{"a":"&amp;"}`, "{\"a\":\"\u2028\"}", `{"a":"\u003c"}`,
		`"just a string"`, `12`, `{"é":"ü"}`,
	} {
		cases = append(cases, domain.Envelope{Data: json.RawMessage(d)})
	}
	for i, e := range cases {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeEnvelope(&e)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
	// json.Marshal refuses data that is not JSON; so must the encoder.
	if _, err := encodeEnvelope(&domain.Envelope{Data: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("encoded an envelope whose data is not JSON")
	}
}
