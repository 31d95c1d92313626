package eventstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// sample is an event whose canonical form and hash are pinned below.
func sample() eventstore.Event {
	return eventstore.Event{
		ID: "e-1", Stream: "offer-1", Version: 2, Position: 77,
		Type: "offer.created", SchemaVersion: 1,
		Data: json.RawMessage(`{ "b": 1.50, "a": "<ü>", "z": [1, {"y":null,"x":12345678901234567890}] }`),
		Metadata: eventstore.Metadata{
			Actor:         domain.Actor{Role: "reseller", Tenant: "r-1", Subject: "alice"},
			CorrelationID: "c-1", CausationID: "k-1",
			OccurredAt: time.Date(2025, 3, 4, 5, 6, 7, 120000000, time.FixedZone("UTC+1", 3600)),
		},
		PrevHash: "aa",
	}
}

// TestCanonical_Golden pins the canonical envelope byte for byte. Every hash
// already stored depends on it: if this test fails, the change breaks the
// verification of existing logs and needs a new chain format, not a new
// golden value. The hash was checked with `printf '%s' … | sha256sum`.
func TestCanonical_Golden(t *testing.T) {
	const (
		wantCanonical = `{"data":{"a":"<ü>","b":1.50,"z":[1,{"x":12345678901234567890,"y":null}]},"id":"e-1",` +
			`"metadata":{"actor":{"role":"reseller","subject":"alice","tenant":"r-1"},"causation_id":"k-1",` +
			`"correlation_id":"c-1","occurred_at":"2025-03-04T04:06:07.12Z"},"prev_hash":"aa","schema_version":1,` +
			`"stream":"offer-1","type":"offer.created","version":2}`
		wantHash      = "62c94397d4c1bd57acb8c2fd69d0a089359ea961afac42f86915b16ebb3cd249"
		wantFirstHash = "3d3bc844501f234da5d2f6e68ffe8d5dd43ac4cd3922a66a84b2d0ff85e99bf0"
	)
	e := sample()
	got, err := eventstore.Canonical(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantCanonical {
		t.Errorf("Canonical =\n%s\nwant\n%s", got, wantCanonical)
	}
	if h, err := eventstore.Hash(e); err != nil || h != wantHash {
		t.Errorf("Hash = %s, %v; want %s", h, err, wantHash)
	}
	// A stream's first event has prev_hash null in the canonical form.
	e.PrevHash = ""
	got, _ = eventstore.Canonical(e)
	if !strings.Contains(string(got), `"prev_hash":null`) {
		t.Errorf("Canonical without prev_hash = %s, want prev_hash null", got)
	}
	if h, err := eventstore.Hash(e); err != nil || h != wantFirstHash {
		t.Errorf("Hash of a first event = %s, %v; want %s", h, err, wantFirstHash)
	}
}

func TestHash_Fields(t *testing.T) {
	base := sample()
	baseHash := mustHash(t, base)
	changes := map[string]func(e *eventstore.Event){
		"ID":            func(e *eventstore.Event) { e.ID = "e-2" },
		"Stream":        func(e *eventstore.Event) { e.Stream = "offer-2" },
		"Version":       func(e *eventstore.Event) { e.Version = 3 },
		"Type":          func(e *eventstore.Event) { e.Type = "offer.accepted" },
		"SchemaVersion": func(e *eventstore.Event) { e.SchemaVersion = 2 },
		"Data": func(e *eventstore.Event) {
			e.Data = json.RawMessage(`{"b":1.5,"a":"<ü>","z":[1,{"y":null,"x":12345678901234567890}]}`)
		},
		"ActorRole":    func(e *eventstore.Event) { e.Metadata.Actor.Role = "operator" },
		"ActorTenant":  func(e *eventstore.Event) { e.Metadata.Actor.Tenant = "r-2" },
		"ActorSubject": func(e *eventstore.Event) { e.Metadata.Actor.Subject = "mallory" },
		"ActorName":    func(e *eventstore.Event) { e.Metadata.Actor.Name = "Mallory" },
		"Correlation":  func(e *eventstore.Event) { e.Metadata.CorrelationID = "c-2" },
		"Causation":    func(e *eventstore.Event) { e.Metadata.CausationID = "k-2" },
		"OccurredAt":   func(e *eventstore.Event) { e.Metadata.OccurredAt = e.Metadata.OccurredAt.Add(time.Nanosecond) },
		"PrevHash":     func(e *eventstore.Event) { e.PrevHash = "ab" },
	}
	for name, change := range changes {
		t.Run("Covers"+name, func(t *testing.T) {
			e := sample()
			change(&e)
			if mustHash(t, e) == baseHash {
				t.Errorf("changing %s left the hash unchanged", name)
			}
		})
	}
	same := map[string]func(e *eventstore.Event){
		// The store assigns positions, possibly after hashing.
		"Position": func(e *eventstore.Event) { e.Position = 1 },
		"Hash":     func(e *eventstore.Event) { e.Hash = "whatever" },
		// Only the JSON value counts, not its spelling.
		"DataSpelling": func(e *eventstore.Event) {
			e.Data = json.RawMessage("{\"z\":[1,{\"x\":12345678901234567890,\"y\":null}],\n\"a\":\"<\\u00fc>\",\"b\":1.50}")
		},
		// Only the instant counts, not its zone.
		"Zone": func(e *eventstore.Event) { e.Metadata.OccurredAt = e.Metadata.OccurredAt.UTC() },
	}
	for name, change := range same {
		t.Run("Ignores"+name, func(t *testing.T) {
			e := sample()
			change(&e)
			if h := mustHash(t, e); h != baseHash {
				t.Errorf("changing %s changed the hash", name)
			}
		})
	}
	t.Run("InvalidData", func(t *testing.T) {
		e := sample()
		e.Data = json.RawMessage(`{"a":`)
		if _, err := eventstore.Hash(e); err == nil {
			t.Error("Hash of invalid JSON data succeeded")
		}
	})
}

func mustHash(t *testing.T, e eventstore.Event) string {
	t.Helper()
	h, err := eventstore.Hash(e)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

// chain returns a sealed stream of n events.
func chain(t *testing.T, n int) []eventstore.Event {
	t.Helper()
	out := make([]eventstore.Event, n)
	prev := ""
	for i := range out {
		e := sample()
		e.Version, e.Position = uint64(i+1), uint64(10*(i+1))
		if err := eventstore.Seal(&e, prev); err != nil {
			t.Fatal(err)
		}
		out[i], prev = e, e.Hash
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		evs := chain(t, 4)
		if evs[0].PrevHash != "" || evs[1].PrevHash != evs[0].Hash {
			t.Fatalf("Seal did not chain: %q, %q", evs[0].PrevHash, evs[1].PrevHash)
		}
		if err := eventstore.VerifyChain(evs); err != nil {
			t.Fatalf("VerifyChain: %v", err)
		}
		if err := eventstore.VerifyChain(nil); err != nil {
			t.Fatalf("VerifyChain of an empty stream: %v", err)
		}
	})
	broken := map[string]func(evs []eventstore.Event) []eventstore.Event{
		"DataChanged":     func(evs []eventstore.Event) []eventstore.Event { evs[2].Data = json.RawMessage(`{}`); return evs },
		"FirstHasPrev":    func(evs []eventstore.Event) []eventstore.Event { evs[0].PrevHash = "00"; return evs },
		"PrevHashWrong":   func(evs []eventstore.Event) []eventstore.Event { evs[3].PrevHash = evs[1].Hash; return evs },
		"EventMissing":    func(evs []eventstore.Event) []eventstore.Event { return append(evs[:1], evs[2:]...) },
		"NotFromTheStart": func(evs []eventstore.Event) []eventstore.Event { return evs[1:] },
		"Reordered": func(evs []eventstore.Event) []eventstore.Event {
			evs[1], evs[2] = evs[2], evs[1]
			return evs
		},
		"Resealed": func(evs []eventstore.Event) []eventstore.Event {
			// Rewriting an event and its own hash breaks the link to the next.
			evs[1].Data = json.RawMessage(`{}`)
			_ = eventstore.Seal(&evs[1], evs[1].PrevHash)
			return evs
		},
	}
	for name, breakIt := range broken {
		t.Run(name, func(t *testing.T) {
			if err := eventstore.VerifyChain(breakIt(chain(t, 4))); err == nil {
				t.Error("VerifyChain accepted a broken chain")
			}
		})
	}
}

func TestVersionError(t *testing.T) {
	var err error = &eventstore.VersionError{Stream: "s", Expected: 1, Actual: 2}
	if !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Errorf("VersionError does not match ErrWrongVersion")
	}
	if !strings.Contains(err.Error(), "expected version 1, stream is at 2") {
		t.Errorf("VersionError text %q names neither version", err)
	}
}
