package http_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
)

// TestHistory_HashesRecomputable checks the auditor's promise: from nothing
// but the history an API client receives, every event's hash can be
// recomputed (docs/events.md gives the canonical form) and the chain
// followed from the first event.
func TestHistory_HashesRecomputable(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	w.CustomerC.Must(t, 204, "POST", "/v1/inbox/"+w.Offer+"/read", nil)
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+w.Offer+"/reject", map[string]string{"reason": "zu teuer"})

	var page struct {
		Items []struct {
			ID            string           `json:"id"`
			Position      uint64           `json:"position"`
			Stream        string           `json:"stream"`
			Version       uint64           `json:"version"`
			Type          string           `json:"type"`
			SchemaVersion int              `json:"schema_version"`
			OccurredAt    time.Time        `json:"occurred_at"`
			Actor         eventstore.Actor `json:"actor"`
			Data          json.RawMessage  `json:"data"`
			CorrelationID *string          `json:"correlation_id"`
			CausationID   *string          `json:"causation_id"`
			Hash          string           `json:"hash"`
			PrevHash      *string          `json:"prev_hash"`
		} `json:"items"`
	}
	w.Auditor.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/history", nil).Decode(t, &page)
	if len(page.Items) < 5 {
		t.Fatalf("history has %d events, want at least 5", len(page.Items))
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	var chain []eventstore.Event
	for _, it := range page.Items {
		if it.ID == "" {
			t.Fatalf("event at position %d has no id: its hash cannot be recomputed", it.Position)
		}
		chain = append(chain, eventstore.Event{
			ID: it.ID, Stream: it.Stream, Version: it.Version, Position: it.Position, Type: it.Type,
			SchemaVersion: it.SchemaVersion, Data: it.Data,
			Metadata: eventstore.Metadata{Actor: it.Actor, CorrelationID: deref(it.CorrelationID),
				CausationID: deref(it.CausationID), OccurredAt: it.OccurredAt},
			PrevHash: deref(it.PrevHash), Hash: it.Hash,
		})
	}
	if err := eventstore.VerifyChain(chain); err != nil {
		t.Fatalf("history does not verify from its JSON alone: %v", err)
	}
	// The check can fail: a changed byte of data breaks it.
	chain[1].Data = json.RawMessage(`{"tampered":true}`)
	if err := eventstore.VerifyChain(chain); err == nil {
		t.Fatal("a tampered event still verified")
	}
}
