package esdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// Versions and revisions: offerflow counts stream versions from 1 (the first
// event is version 1, NoStream is 0); EventStoreDB counts revisions from 0.
// So version v is revision v-1, and "versions after v" start at revision v.

// expectedRevision maps the expected version of an append to the client's
// expected revision. It never returns esdbclient.Any{}: that would switch the
// server's optimistic concurrency check off.
func expectedRevision(expected uint64) esdbclient.ExpectedRevision {
	if expected == eventstore.NoStream {
		return esdbclient.NoStream{}
	}
	return esdbclient.Revision(expected - 1)
}

// streamFrom is where a forward stream read of the versions after `after`
// starts: revision `after` is version after+1. Reads are inclusive.
func streamFrom(after uint64) esdbclient.StreamPosition {
	if after == 0 {
		return esdbclient.Start{}
	}
	return esdbclient.Revision(after)
}

// allFrom is where a forward read of $all for positions after `after` starts.
// Forward reads include the event at the start position, so callers skip
// positions <= after. A position is an event's commit position, which for
// events appended through gRPC equals its prepare position (each event
// commits itself), so {after, after} points exactly at that event.
func allFrom(after uint64) esdbclient.AllPosition {
	if after == 0 {
		return esdbclient.Start{}
	}
	return esdbclient.Position{Commit: after, Prepare: after}
}

// unknownPosition is what the client reports for an event whose $all
// position the server did not send (servers before the one that added
// positions to stream reads, kurrent-io/KurrentDB#3459).
const unknownPosition = math.MaxUint64

// parseID parses an event id, which EventStoreDB requires to be a UUID. It
// must be in the canonical form (lower case, with hyphens) that reads give
// back, so that ids round-trip unchanged.
func parseID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("event id %q is not a UUID (EventStoreDB needs UUID event ids): %w", id, err)
	}
	if u == uuid.Nil {
		return uuid.Nil, fmt.Errorf("event id %q is the nil UUID", id)
	}
	if u.String() != id {
		return uuid.Nil, fmt.Errorf("event id %q is not in canonical UUID form %q", id, u.String())
	}
	return u, nil
}

// meta is the JSON stored as an EventStoreDB event's user metadata: the
// envelope fields that EventStoreDB has no place for. occurred_at is RFC 3339
// with nanoseconds in UTC, exactly as the hash reads it. $correlationId and
// $causationId repeat the ids under the names EventStoreDB's own
// projections ($by_correlation_id) look for.
type meta struct {
	SchemaVersion int          `json:"schema_version"`
	Actor         domain.Actor `json:"actor"`
	CorrelationID string       `json:"correlation_id,omitempty"`
	CausationID   string       `json:"causation_id,omitempty"`
	OccurredAt    string       `json:"occurred_at"`
	PrevHash      string       `json:"prev_hash,omitempty"`
	Hash          string       `json:"hash"`
	ESCorrelation string       `json:"$correlationId,omitempty"`
	ESCausation   string       `json:"$causationId,omitempty"`
}

// encodeMeta returns the user metadata stored with e, which must be sealed.
func encodeMeta(e eventstore.Event) ([]byte, error) {
	m := meta{
		SchemaVersion: e.SchemaVersion,
		Actor:         e.Metadata.Actor,
		CorrelationID: e.Metadata.CorrelationID,
		CausationID:   e.Metadata.CausationID,
		OccurredAt:    e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano),
		PrevHash:      e.PrevHash,
		Hash:          e.Hash,
		ESCorrelation: e.Metadata.CorrelationID,
		ESCausation:   e.Metadata.CausationID,
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata of %s/%d: %w", e.Stream, e.Version, err)
	}
	return b, nil
}

// errForeignEvent marks an event in our part of $all that offerflow did not
// write (its metadata lacks the envelope).
var errForeignEvent = errors.New("not an offerflow event")

// decodeMeta fills e's schema version, metadata and hashes from raw.
func decodeMeta(raw []byte, e *eventstore.Event) error {
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%w: metadata is not the offerflow envelope: %w", errForeignEvent, err)
	}
	if m.Hash == "" || m.OccurredAt == "" {
		return fmt.Errorf("%w: metadata has no hash or occurred_at", errForeignEvent)
	}
	at, err := time.Parse(time.RFC3339Nano, m.OccurredAt)
	if err != nil {
		return fmt.Errorf("occurred_at %q: %w", m.OccurredAt, err)
	}
	e.SchemaVersion = m.SchemaVersion
	e.Metadata = eventstore.Metadata{
		Actor:         m.Actor,
		CorrelationID: m.CorrelationID,
		CausationID:   m.CausationID,
		OccurredAt:    at.UTC(),
	}
	e.PrevHash = m.PrevHash
	e.Hash = m.Hash
	return nil
}

// seal turns the events of one append into sealed envelopes and the client's
// event data. Versions follow expected; prev is the hash of the event at
// version expected ("" for a new stream). stream is the logical name: hashes
// never include a store's StreamPrefix, so a stream's chain stays valid
// wherever it is stored.
func seal(stream string, expected uint64, prev string, events []eventstore.NewEvent) ([]eventstore.Event, []esdbclient.EventData, error) {
	sealed := make([]eventstore.Event, len(events))
	data := make([]esdbclient.EventData, len(events))
	seen := make(map[uuid.UUID]bool, len(events))
	for i, ne := range events {
		id, err := parseID(ne.ID)
		if err != nil {
			return nil, nil, err
		}
		if seen[id] {
			return nil, nil, fmt.Errorf("event id %s appears twice in one append", ne.ID)
		}
		seen[id] = true
		if ne.Type == "" || strings.HasPrefix(ne.Type, "$") {
			return nil, nil, fmt.Errorf("event %s: type %q is empty or reserved (EventStoreDB keeps types starting with $ for itself)", ne.ID, ne.Type)
		}
		// EventStoreDB stores the bytes as given; a value that is not one
		// JSON document (trailing data included) would break the hash and
		// every reader.
		if !json.Valid(ne.Data) {
			return nil, nil, fmt.Errorf("event %s: data is not one valid JSON value", ne.ID)
		}
		e := eventstore.Event{
			ID:            id.String(),
			Stream:        stream,
			Version:       expected + uint64(i) + 1,
			Type:          ne.Type,
			SchemaVersion: ne.SchemaVersion,
			Data:          ne.Data,
			Metadata:      ne.Metadata,
		}
		e.Metadata.OccurredAt = e.Metadata.OccurredAt.UTC()
		if err := eventstore.Seal(&e, prev); err != nil {
			return nil, nil, fmt.Errorf("seal %s/%d: %w", stream, e.Version, err)
		}
		prev = e.Hash
		m, err := encodeMeta(e)
		if err != nil {
			return nil, nil, err
		}
		sealed[i] = e
		data[i] = esdbclient.EventData{
			EventID:     id,
			EventType:   e.Type,
			ContentType: esdbclient.ContentTypeJson,
			Data:        e.Data,
			Metadata:    m,
		}
	}
	return sealed, data, nil
}

// decode turns a recorded event into an envelope under its logical stream
// name.
func decode(rec *esdbclient.RecordedEvent, logical string) (eventstore.Event, error) {
	e := eventstore.Event{
		ID:      rec.EventID.String(),
		Stream:  logical,
		Version: rec.EventNumber + 1,
		Type:    rec.EventType,
	}
	if len(rec.Data) > 0 {
		e.Data = json.RawMessage(rec.Data)
	}
	if err := decodeMeta(rec.UserMetadata, &e); err != nil {
		return eventstore.Event{}, fmt.Errorf("event %s/%d (%s): %w", logical, e.Version, e.ID, err)
	}
	if rec.Position.Commit == unknownPosition {
		return eventstore.Event{}, fmt.Errorf("event %s/%d: the server did not report its $all position; offerflow needs an EventStoreDB/KurrentDB server that reports positions on stream reads (EventStoreDB 22.10 or later)", logical, e.Version)
	}
	e.Position = rec.Position.Commit
	return e, nil
}
