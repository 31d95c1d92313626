// Package eventstore defines the log that is offerflow's only source of
// truth: streams of events, each event in one envelope, appended with
// optimistic concurrency and chained by hashes so that rewriting history is
// visible. Implementations live in subpackages (sqlite, esdb) and all pass
// the conformance suite in eventstoretest.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/domain"
)

// NoStream is the expected version of a stream that must not exist yet.
// Stream versions count from 1: the first event of a stream has version 1,
// so a stream at version N holds N events.
const NoStream uint64 = 0

// Metadata is what the log records about an event besides its data: the
// domain's EventMetadata, under the store's name.
type Metadata = domain.EventMetadata

// NewEvent is an event to append. ID must be unique within the stream; an
// append whose events are already stored under those ids is an idempotent
// retry and succeeds without writing.
type NewEvent struct {
	ID            string
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
}

// Event is a stored event in its envelope: the domain's Envelope, under the
// store's name. It is the one shape of a stored event from the store to the
// read models and the API (see domain.Envelope).
type Event = domain.Envelope

// AppendResult tells where an append left the stream and the log.
type AppendResult struct {
	// Version is the stream version of the last event appended (or found
	// already stored, for an idempotent retry).
	Version uint64
	// Position is the global position of that event.
	Position uint64
}

// Store is the event log.
//
// Positions are global, strictly increasing in append order across all
// streams, and greater than zero; they need not be contiguous (EventStoreDB's
// are not). Position 0 means "before the first event".
type Store interface {
	// Append appends events to stream if the stream is at expected (NoStream
	// for a stream that must not exist). It writes all events or none. It
	// returns an error matching ErrWrongVersion when the stream is elsewhere,
	// and nothing of a rejected append is visible afterwards. When the first
	// event's id is already stored in the stream, the append is taken for a
	// retry of that earlier append and reports its result without writing.
	Append(ctx context.Context, stream string, expected uint64, events ...NewEvent) (AppendResult, error)

	// ReadStream returns up to limit events of stream with version > after,
	// in version order. A stream that does not exist reads as empty.
	ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]Event, error)

	// ReadAll returns up to limit events with position > after, in global
	// order.
	ReadAll(ctx context.Context, after uint64, limit int) ([]Event, error)

	// Head returns the position of the last event in the log, 0 when empty.
	Head(ctx context.Context) (uint64, error)

	// Wait blocks until the log holds an event with position > after, or ctx
	// is done (returning ctx's error). It must not busy-poll: implementations
	// wake on append and may poll slowly only as a fallback.
	Wait(ctx context.Context, after uint64) error

	// Close releases the store's resources.
	Close() error
}

// ErrWrongVersion is matched (errors.Is) by the error Append returns when the
// stream is not at the expected version.
var ErrWrongVersion = errors.New("wrong expected version")

// VersionError is the detail of a wrong-version append.
type VersionError struct {
	Stream   string
	Expected uint64
	Actual   uint64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("append to %s: expected version %d, stream is at %d: %v", e.Stream, e.Expected, e.Actual, ErrWrongVersion)
}

// Is makes VersionError match ErrWrongVersion.
func (e *VersionError) Is(target error) bool { return target == ErrWrongVersion }

// ReadStreamAll reads every event of stream after version after.
func ReadStreamAll(ctx context.Context, s Store, stream string, after uint64) ([]Event, error) {
	const page = 1000
	var out []Event
	for {
		evs, err := s.ReadStream(ctx, stream, after, page)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		if len(evs) < page {
			return out, nil
		}
		after = evs[len(evs)-1].Version
	}
}
