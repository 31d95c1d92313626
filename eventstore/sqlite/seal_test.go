package sqlite

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// TestPresealed_MatchesSeal checks the writer's sealing against
// eventstore.Seal, byte for byte, on envelopes chosen to trip the cut:
// fields that hold the placeholder's own text, quotes and escapes, a first
// event and a later one, small and huge versions.
func TestPresealed_MatchesSeal(t *testing.T) {
	tricky := `,"prev_hash":null,"schema_version":`
	base := eventstore.Event{
		ID: "e-1", Stream: "offer-1", Type: "offer.created", SchemaVersion: 1,
		Data: json.RawMessage(`{"b": 1.50, "a": "<ü>"}`),
		Metadata: eventstore.Metadata{
			Actor:      domain.Actor{Role: "reseller", Tenant: "r-1", Subject: "alice"},
			OccurredAt: time.Date(2025, 3, 4, 5, 6, 7, 120000000, time.UTC),
		},
	}
	cases := map[string]func(e *eventstore.Event){
		"Plain":             func(*eventstore.Event) {},
		"PlaceholderInData": func(e *eventstore.Event) { e.Data = json.RawMessage(`{"x":` + jsonString(tricky+`"version":0}`) + `}`) },
		"PlaceholderInID":   func(e *eventstore.Event) { e.ID = tricky },
		"PlaceholderInMeta": func(e *eventstore.Event) { e.Metadata.CorrelationID = tricky },
		"QuotesInStream":    func(e *eventstore.Event) { e.Stream = `s"1\` + tricky },
		"QuotesInType":      func(e *eventstore.Event) { e.Type = tricky + `,"version":0}` },
		"NullData":          func(e *eventstore.Event) { e.Data = json.RawMessage("null") },
		"NegativeSchema":    func(e *eventstore.Event) { e.SchemaVersion = -3 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			e := base
			change(&e)
			pre, err := preseal(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				version uint64
				prev    string
			}{{1, ""}, {2, strings.Repeat("ab", 32)}, {1<<63 + 5, strings.Repeat("0f", 32)}} {
				want := e
				want.Version = c.version
				if err := eventstore.Seal(&want, c.prev); err != nil {
					t.Fatal(err)
				}
				got := e
				pre.seal(&got, c.version, c.prev)
				if got.Hash != want.Hash || got.PrevHash != want.PrevHash || got.Version != want.Version {
					t.Errorf("version %d prev %q: sealed %s/%q/%d, eventstore.Seal gives %s/%q/%d",
						c.version, c.prev, got.Hash, got.PrevHash, got.Version, want.Hash, want.PrevHash, want.Version)
				}
			}
		})
	}
	t.Run("RefusesPlacedEvent", func(t *testing.T) {
		e := base
		e.Version = 3
		if _, err := preseal(e); err == nil {
			t.Error("preseal of an event with a version succeeded")
		}
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
