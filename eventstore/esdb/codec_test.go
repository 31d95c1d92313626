package esdb_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
)

func TestExpectedRevision(t *testing.T) {
	tests := []struct {
		expected uint64
		want     esdbclient.ExpectedRevision
	}{
		{eventstore.NoStream, esdbclient.NoStream{}},
		{1, esdbclient.Revision(0)},
		{7, esdbclient.Revision(6)},
	}
	for _, tt := range tests {
		got := esdb.ExpectedRevision(tt.expected)
		if got != tt.want {
			t.Errorf("ExpectedRevision(%d) = %#v, want %#v", tt.expected, got, tt.want)
		}
		if _, any := got.(esdbclient.Any); any {
			t.Errorf("ExpectedRevision(%d) is Any, which switches the concurrency check off", tt.expected)
		}
	}
}

func TestReadStarts(t *testing.T) {
	t.Run("Stream", func(t *testing.T) {
		if got := esdb.StreamFrom(0); got != (esdbclient.Start{}) {
			t.Errorf("StreamFrom(0) = %#v, want Start", got)
		}
		// Versions after 3 start at version 4, which is revision 3.
		if got := esdb.StreamFrom(3); got != esdbclient.Revision(3) {
			t.Errorf("StreamFrom(3) = %#v, want Revision(3)", got)
		}
	})
	t.Run("All", func(t *testing.T) {
		if got := esdb.AllFrom(0); got != (esdbclient.Start{}) {
			t.Errorf("AllFrom(0) = %#v, want Start", got)
		}
		if got := esdb.AllFrom(42); got != (esdbclient.Position{Commit: 42, Prepare: 42}) {
			t.Errorf("AllFrom(42) = %#v, want {42 42}", got)
		}
	})
	t.Run("Later", func(t *testing.T) {
		p := func(c, p uint64) esdbclient.Position { return esdbclient.Position{Commit: c, Prepare: p} }
		if !esdb.Later(p(10, 10), p(9, 9)) || esdb.Later(p(9, 9), p(9, 9)) || esdb.Later(p(8, 12), p(9, 9)) || !esdb.Later(p(9, 11), p(9, 10)) {
			t.Error("Later does not order positions by commit, then prepare")
		}
	})
}

func TestParseID(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		id := "0190e4a2-7c1b-7d3e-9f00-1234567890ab"
		u, err := esdb.ParseID(id)
		if err != nil || u.String() != id {
			t.Fatalf("ParseID(%q) = %v, %v", id, u, err)
		}
	})
	for name, id := range map[string]string{
		"NotUUID":   "offer-created-1",
		"Empty":     "",
		"Nil":       uuid.Nil.String(),
		"UpperCase": "0190E4A2-7C1B-7D3E-9F00-1234567890AB",
		"Braces":    "{0190e4a2-7c1b-7d3e-9f00-1234567890ab}",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			if _, err := esdb.ParseID(id); err == nil {
				t.Fatalf("ParseID(%q) accepted it", id)
			} else if !strings.Contains(err.Error(), "UUID") {
				t.Errorf("error %q does not say a UUID is needed", err)
			}
		})
	}
}

func newEvents(n int) []eventstore.NewEvent {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("CET", 3600))
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = eventstore.NewEvent{
			ID:            uuid.NewSHA1(uuid.NameSpaceURL, []byte{byte(i)}).String(),
			Type:          "offer.dispatched",
			SchemaVersion: 2,
			Data:          json.RawMessage(`{"offer_id":"o-1","items":[{"n":1.50}],"message":"<hi>"}`),
			Metadata: eventstore.Metadata{
				Actor:         domain.Actor{Role: "reseller", Tenant: "r-1", Subject: "alice"},
				CorrelationID: "corr-1",
				CausationID:   "cause-1",
				OccurredAt:    at.Add(time.Duration(i) * time.Second),
			},
		}
	}
	return out
}

// record is what the server gives back for an event sent as data at
// revision rev and log position pos.
func record(stream string, rev, pos uint64, data esdbclient.EventData) *esdbclient.RecordedEvent {
	return &esdbclient.RecordedEvent{
		EventID:      data.EventID,
		EventType:    data.EventType,
		ContentType:  "application/json",
		StreamID:     stream,
		EventNumber:  rev,
		Position:     esdbclient.Position{Commit: pos, Prepare: pos},
		Data:         data.Data,
		UserMetadata: data.Metadata,
	}
}

func TestSeal(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		in := newEvents(2)
		sealed, data, err := esdb.Seal("offer-1", 3, "prevhash", in)
		if err != nil {
			t.Fatal(err)
		}
		if sealed[0].Version != 4 || sealed[1].Version != 5 {
			t.Errorf("versions = %d, %d, want 4, 5", sealed[0].Version, sealed[1].Version)
		}
		if sealed[0].PrevHash != "prevhash" || sealed[1].PrevHash != sealed[0].Hash {
			t.Errorf("chain: prev hashes %q, %q; first hash %q", sealed[0].PrevHash, sealed[1].PrevHash, sealed[0].Hash)
		}
		for i, d := range data {
			if d.EventID.String() != in[i].ID || d.EventType != in[i].Type || d.ContentType != esdbclient.ContentTypeJson || string(d.Data) != string(in[i].Data) {
				t.Errorf("event data %d = %+v, does not carry the event as given", i, d)
			}
			got, err := esdb.Decode(record("prefix-offer-1", sealed[i].Version-1, 1000+uint64(i)*100, d), "offer-1")
			if err != nil {
				t.Fatal(err)
			}
			want := sealed[i]
			want.Position = 1000 + uint64(i)*100
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded event %d differs (-want +got):\n%s", i, diff)
			}
			if !got.Metadata.OccurredAt.Equal(in[i].Metadata.OccurredAt) || got.Metadata.OccurredAt.Location() != time.UTC {
				t.Errorf("occurred_at %v, want %v in UTC", got.Metadata.OccurredAt, in[i].Metadata.OccurredAt)
			}
		}
	})
	t.Run("ChainVerifies", func(t *testing.T) {
		sealed, data, err := esdb.Seal("offer-1", eventstore.NoStream, "", newEvents(3))
		if err != nil {
			t.Fatal(err)
		}
		var read []eventstore.Event
		for i, d := range data {
			e, err := esdb.Decode(record("offer-1", uint64(i), uint64(i+1)*64, d), "offer-1")
			if err != nil {
				t.Fatal(err)
			}
			read = append(read, e)
		}
		if err := eventstore.VerifyChain(read); err != nil {
			t.Fatalf("chain read back does not verify: %v", err)
		}
		if read[2].Hash != sealed[2].Hash {
			t.Errorf("hash changed on the way: %s, sealed %s", read[2].Hash, sealed[2].Hash)
		}
	})
	t.Run("MetadataJSON", func(t *testing.T) {
		_, data, err := esdb.Seal("offer-1", 0, "", newEvents(1))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data[0].Metadata, &m); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]any{
			"occurred_at":    "2025-03-04T04:06:07.890123456Z",
			"correlation_id": "corr-1",
			"$correlationId": "corr-1",
			"$causationId":   "cause-1",
			"schema_version": 2.0,
		} {
			if m[key] != want {
				t.Errorf("metadata %s = %v, want %v", key, m[key], want)
			}
		}
		if _, ok := m["prev_hash"]; ok {
			t.Error("the first event of a stream stores a prev_hash")
		}
	})
	for name, mutate := range map[string]func([]eventstore.NewEvent){
		"ErrDuplicateID":  func(e []eventstore.NewEvent) { e[1].ID = e[0].ID },
		"ErrNotUUID":      func(e []eventstore.NewEvent) { e[1].ID = "evt-2" },
		"ErrEmptyType":    func(e []eventstore.NewEvent) { e[0].Type = "" },
		"ErrSystemType":   func(e []eventstore.NewEvent) { e[0].Type = "$metadata" },
		"ErrBadJSON":      func(e []eventstore.NewEvent) { e[1].Data = json.RawMessage(`{"a":`) },
		"ErrTrailingData": func(e []eventstore.NewEvent) { e[1].Data = json.RawMessage(`{"a":1} {}`) },
		"ErrNoData":       func(e []eventstore.NewEvent) { e[0].Data = nil },
	} {
		t.Run(name, func(t *testing.T) {
			in := newEvents(2)
			mutate(in)
			if _, _, err := esdb.Seal("offer-1", 0, "", in); err == nil {
				t.Fatal("sealed events that must be refused")
			}
		})
	}
}

func TestDecode(t *testing.T) {
	_, data, err := esdb.Seal("offer-1", 0, "", newEvents(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrForeign", func(t *testing.T) {
		for _, meta := range []string{``, `{}`, `{"occurred_at":"2025-01-01T00:00:00Z"}`, `not json`} {
			d := data[0]
			d.Metadata = []byte(meta)
			_, err := esdb.Decode(record("offer-1", 0, 10, d), "offer-1")
			if err == nil || !strings.Contains(err.Error(), "not an offerflow event") {
				t.Errorf("metadata %q: error %v, want not an offerflow event", meta, err)
			}
		}
	})
	t.Run("ErrNoPosition", func(t *testing.T) {
		_, err := esdb.Decode(record("offer-1", 0, math.MaxUint64, data[0]), "offer-1")
		if err == nil || !strings.Contains(err.Error(), "position") {
			t.Fatalf("error %v, want one about the missing position", err)
		}
	})
}

func TestRetried(t *testing.T) {
	in := newEvents(5)
	stored := make([]eventstore.Event, 4)
	for i := range stored {
		stored[i] = eventstore.Event{ID: in[i].ID, Version: uint64(i + 1), Position: uint64(i+1) * 100}
	}
	tests := []struct {
		name   string
		events []eventstore.NewEvent
		want   eventstore.AppendResult
		ok     bool
	}{
		{"Whole", in[1:3], eventstore.AppendResult{Version: 3, Position: 300}, true},
		{"Last", in[3:4], eventstore.AppendResult{Version: 4, Position: 400}, true},
		{"RunsPastEnd", in[2:5], eventstore.AppendResult{Version: 4, Position: 400}, true},
		{"FirstDiffers", in[4:5], eventstore.AppendResult{}, false},
		{"OnlyFirstMatches", []eventstore.NewEvent{in[0], in[4]}, eventstore.AppendResult{Version: 1, Position: 100}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := esdb.Retried(stored, tt.events)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Retried = %+v, %v, want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := esdb.Retried(nil, in[:1]); ok {
		t.Error("an empty stream holds a retry")
	}
}

func TestStreamNames(t *testing.T) {
	tests := []struct {
		prefix, stream, typ string
		want                string
		ok                  bool
	}{
		{"", "offer-1", "offer.accepted", "offer-1", true},
		{"", "$stats-127.0.0.1:2113", "$statsCollected", "", false},
		{"", "$ce-offer", "$>", "", false},
		{"", "offer-1", "$metadata", "", false},
		{"t1-", "t1-offer-1", "offer.accepted", "offer-1", true},
		{"t1-", "t2-offer-1", "offer.accepted", "", false},
		{"t1-", "offer-1", "offer.accepted", "", false},
		{"t1-", "t1-", "offer.accepted", "", false},
	}
	for _, tt := range tests {
		got, ok := esdb.Logical(tt.prefix, tt.stream, tt.typ)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Logical(%q, %q, %q) = %q, %v, want %q, %v", tt.prefix, tt.stream, tt.typ, got, ok, tt.want, tt.ok)
		}
	}
	if got, err := esdb.Physical("t1-", "offer-1"); err != nil || got != "t1-offer-1" {
		t.Errorf("Physical = %q, %v, want t1-offer-1", got, err)
	}
	for _, bad := range []string{"", "$all", "$$offer-1"} {
		if _, err := esdb.Physical("", bad); err == nil {
			t.Errorf("Physical(%q) accepted a reserved or empty name", bad)
		}
	}
}
