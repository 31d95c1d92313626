package domain

import (
	"encoding/json"
	"time"
)

// Envelope is one stored event in its envelope: its data and everything the
// log records about it. It is the one shape a stored event has on its way
// from the store (eventstore.Event is this type) through Watermill
// (pubsub.EventFrom gives it back whole) to the read models, the histories
// and the audit feed, so that a field added to the envelope is added here
// and nowhere else. Its JSON is the export format (offerflow export).
type Envelope struct {
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	Version       uint64          `json:"version"`
	Position      uint64          `json:"position"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Data          json.RawMessage `json:"data"`
	Metadata      EventMetadata   `json:"metadata"`
	// PrevHash is the hash of the stream's previous event, "" on its
	// first.
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash"`
	// Sealed and Erased are set by a reader that opens sealed texts
	// (package seal), never by a store. Data then shows the texts opened
	// (null where they were erased), and Sealed is the JSON merge patch
	// (RFC 7386) that turns Data back into the data as stored, which Hash
	// covers (eventstore.Stored applies it). Erased tells that some text of
	// Data is null because its key was destroyed.
	Sealed json.RawMessage `json:"sealed,omitempty"`
	Erased bool            `json:"erased,omitempty"`
}

// EventMetadata is what the log records about an event besides its data.
type EventMetadata struct {
	Actor         Actor     `json:"actor"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	OccurredAt    time.Time `json:"occurred_at"`
}
