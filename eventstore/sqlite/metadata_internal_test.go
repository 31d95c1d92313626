package sqlite

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// TestDecodeMetadata holds decodeMetadata to json.Unmarshal: random
// metadata as the store writes it (json.Marshal), strings drawn from an
// alphabet with what json escapes, and texts the fast path must leave to
// json.Unmarshal, decode to the same value; a text json refuses is refused.
func TestDecodeMetadata(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []string{"a", "Z", "0", "-", ":", " ", "\"", "\\", "<", "&", "é", "\u2028", "\n", "\x01", "/"}
	str := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		var s string
		for range rng.IntN(12) {
			if rng.IntN(4) == 0 {
				s += alphabet[rng.IntN(len(alphabet))]
			} else {
				s += alphabet[rng.IntN(4)]
			}
		}
		return s
	}
	zones := []*time.Location{time.UTC, time.FixedZone("X", 3600+1800), time.FixedZone("Y", -7*3600)}
	check := func(t *testing.T, text []byte) {
		t.Helper()
		var want eventstore.Metadata
		wantErr := json.Unmarshal(text, &want)
		got := eventstore.Metadata{CorrelationID: "stale", Actor: domain.Actor{Name: "stale"}}
		err := decodeMetadata(text, &got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, json.Unmarshal's %v", text, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\ngot  %#v\nwant %#v", text, got, want)
		}
	}
	for range 5000 {
		m := eventstore.Metadata{
			Actor:         domain.Actor{Role: domain.Role(str()), Tenant: str(), Subject: str(), Name: str()},
			CorrelationID: str(), CausationID: str(),
			OccurredAt: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))]),
		}
		text, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		check(t, text)
	}
	// What the store writes for plain values takes the fast path.
	var m eventstore.Metadata
	for _, text := range []string{
		`{"actor":{"role":"reseller","tenant":"r-1","subject":"s"},"occurred_at":"2026-12-02T10:00:00.123456789Z"}`,
		`{"actor":{"role":"reseller","tenant":"r-1","subject":"s","name":"N"},"correlation_id":"c","causation_id":"d","occurred_at":"2026-12-02T10:00:00Z"}`,
	} {
		if !fastMetadata([]byte(text), &m) {
			t.Errorf("%s: not read by the fast path", text)
		}
	}
	for _, text := range []string{
		`{"actor":{"role":"reseller","tenant":"r-1","subject":"s"},"occurred_at":"2026-12-02T10:00:00.123456789Z"}`,
		`{"actor":{"role":"reseller","tenant":"r-1","subject":"s","name":"N"},"correlation_id":"c","causation_id":"d","occurred_at":"2026-12-02T10:00:00Z"}`,
		`{"occurred_at":"2026-12-02T10:00:00Z","actor":{"role":"r","tenant":"","subject":""}}`,
		`{"actor":{"role":"r","tenant":"","subject":""},"occurred_at":"2026-12-02T10:00:00Z","extra":1}`,
		`{"actor": {"role":"r","tenant":"","subject":""},"occurred_at":"2026-12-02T10:00:00Z"}`,
		`{"actor":{"role":"r\u0041","tenant":"","subject":""},"occurred_at":"2026-12-02T10:00:00Z"}`,
		`{"actor":{"role":"r","tenant":"","subject":""},"occurred_at":"2026-12-02T10:00:00Z"}x`,
		`{"actor":{"role":"r","tenant":"","subject":""},"occurred_at":"2026-12-02 10:00:00Z"}`,
		`{"actor":{"role":"r","tenant":"","subject":""},"occurred_at":"2026-12-02T24:00:00Z"}`,
		`{"actor":{"role":"r","tenant":"","subject":""},"occurred_at":null}`,
		`{"actor":{"role":"r","tenant":"","subject":""}`,
		`null`, ``,
	} {
		check(t, []byte(text))
	}
}
