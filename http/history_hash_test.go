package http_test

import (
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/merkle/merkletest"
)

// historyPage is a page of GET /v1/offers/{id}/history as a client reads it.
type historyPage struct {
	Items []struct {
		ID            string          `json:"id"`
		Position      uint64          `json:"position"`
		Stream        string          `json:"stream"`
		Version       uint64          `json:"version"`
		Type          string          `json:"type"`
		SchemaVersion int             `json:"schema_version"`
		OccurredAt    time.Time       `json:"occurred_at"`
		Actor         domain.Actor    `json:"actor"`
		Data          json.RawMessage `json:"data"`
		CorrelationID *string         `json:"correlation_id"`
		CausationID   *string         `json:"causation_id"`
		Hash          string          `json:"hash"`
		PrevHash      *string         `json:"prev_hash"`
		Sealed        json.RawMessage `json:"sealed"`
	} `json:"items"`
}

// envelopes returns the page's events as the stored envelopes their hashes
// cover, grouped by stream, with the streams in order of first appearance.
func (p historyPage) envelopes(tb testing.TB) (streams []string, byStream map[string][]eventstore.Event) {
	tb.Helper()
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	byStream = map[string][]eventstore.Event{}
	for _, it := range p.Items {
		if it.ID == "" {
			tb.Fatalf("event at position %d has no id: its hash cannot be recomputed", it.Position)
		}
		if _, ok := byStream[it.Stream]; !ok {
			streams = append(streams, it.Stream)
		}
		// Texts show opened; sealed, a JSON merge patch, gives the data
		// back as stored, which the hash covers (docs/events.md).
		data := it.Data
		if len(it.Sealed) > 0 {
			var err error
			if data, err = eventstore.MergePatch(it.Data, it.Sealed); err != nil {
				tb.Fatalf("event at position %d: %v", it.Position, err)
			}
		}
		byStream[it.Stream] = append(byStream[it.Stream], eventstore.Event{
			ID: it.ID, Stream: it.Stream, Version: it.Version, Position: it.Position, Type: it.Type,
			SchemaVersion: it.SchemaVersion, Data: data,
			Metadata: eventstore.Metadata{Actor: it.Actor, CorrelationID: deref(it.CorrelationID),
				CausationID: deref(it.CausationID), OccurredAt: it.OccurredAt},
			PrevHash: deref(it.PrevHash), Hash: it.Hash,
		})
	}
	return streams, byStream
}

// TestHistory_HashesRecomputable checks the auditor's promise: from nothing
// but the history an API client receives, every event's hash can be
// recomputed (docs/events.md gives the canonical form) and the chain
// followed from the first event.
func TestHistory_HashesRecomputable(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	w.CustomerC.Must(t, 204, "POST", "/v1/inbox/"+w.Offer+"/read", nil)
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+w.Offer+"/reject", map[string]string{"reason": "zu teuer"})

	var page historyPage
	w.Auditor.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/history", nil).Decode(t, &page)
	if len(page.Items) < 5 {
		t.Fatalf("history has %d events, want at least 5", len(page.Items))
	}
	streams, byStream := page.envelopes(t)
	if len(streams) != 1 {
		t.Fatalf("a rejected offer's history holds streams %v, want only the offer's", streams)
	}
	chain := byStream[streams[0]]
	if err := eventstore.VerifyChain(chain); err != nil {
		t.Fatalf("history does not verify from its JSON alone: %v", err)
	}
	sealed := 0
	for _, it := range page.Items {
		if len(it.Sealed) > 0 {
			sealed++
		}
	}
	if sealed != 2 { // the message of offer.created, the reason of offer.rejected
		t.Fatalf("%d events of the history have sealed texts, want 2", sealed)
	}
	// The check can fail: a changed byte of data breaks it.
	chain[1].Data = json.RawMessage(`{"tampered":true}`)
	if err := eventstore.VerifyChain(chain); err == nil {
		t.Fatal("a tampered event still verified")
	}
}

// TestHistory_ShowsGrant: an accepted offer's history also holds the
// licenses.granted of its grant stream, after the acceptance in log order,
// marked with its stream, and each stream's chain verifies on its own, for
// every caller who may read the history.
func TestHistory_ShowsGrant(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+w.Offer+"/accept", nil)
	Eventually(t, 10*time.Second, "the licenses", func() bool {
		return len(w.CustomerC.Must(t, 200, "GET", "/v1/licenses", nil).Map(t)["items"].([]any)) > 0
	})
	for name, c := range map[string]Client{"auditor": w.Auditor, "auditor of all": w.AuditorAll, "reseller": w.ResellerC, "customer": w.CustomerC} {
		var page historyPage
		c.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/history", nil).Decode(t, &page)
		n := len(page.Items)
		if n < 5 {
			t.Fatalf("%s: history has %d events", name, n)
		}
		last, before := page.Items[n-1], page.Items[n-2]
		if last.Stream != "grant-"+w.Offer || last.Type != "licenses.granted" || before.Type != "offer.accepted" || last.Position <= before.Position {
			t.Fatalf("%s: history ends with %s %s at %d after %s at %d", name, last.Stream, last.Type, last.Position, before.Type, before.Position)
		}
		streams, byStream := page.envelopes(t)
		if len(streams) != 2 || streams[0] != "offer-"+w.Offer {
			t.Fatalf("%s: streams %v", name, streams)
		}
		for _, s := range streams {
			if err := eventstore.VerifyChain(byStream[s]); err != nil {
				t.Fatalf("%s: chain of %s: %v", name, s, err)
			}
		}
	}
	// The offer's inclusion proofs cover its grant's event too, marked with
	// its stream, and verify against the current head.
	var p offerProof
	w.Auditor.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/proof", nil).Decode(t, &p)
	root, _ := hex.DecodeString(p.RootHash)
	if n := len(p.Items); n < 5 || p.Items[n-1].Stream != "grant-"+w.Offer || p.Items[0].Stream != "offer-"+w.Offer {
		t.Fatalf("proofs: %+v", p.Items)
	}
	for _, it := range p.Items {
		if !merkletest.VerifyInclusion(it.LeafIndex, p.Size, merkletest.Leaf(it.Hash), merkletest.Hex(it.Proof), root) {
			t.Fatalf("the proof of %s at position %d does not verify", it.Stream, it.Position)
		}
	}
	// Another customer's offer, and another auditor, still see nothing.
	w.OtherAuditor.Must(t, 404, "GET", "/v1/offers/"+w.Offer+"/history", nil)
	w.SiblingCustomerC.Must(t, 404, "GET", "/v1/offers/"+w.Offer+"/history", nil)
}
