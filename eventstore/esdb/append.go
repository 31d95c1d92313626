package esdb

import (
	"context"
	"fmt"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore"
)

// Append appends events to stream if it is at expected, chaining their
// hashes to the stream's last event.
//
// It takes four steps, each for a reason EventStoreDB alone does not cover:
//
//  1. Read the stream. EventStoreDB's own idempotency only recognises a
//     retry sent with the same expected revision; offerflow's contract takes
//     any append whose first event id is already in the stream for a retry.
//     The read also gives the hash to chain to.
//  2. If the first id is there, report where that earlier append left the
//     stream, writing nothing.
//  3. Append with an explicit expected revision (never Any), so a racing
//     writer makes the server refuse rather than interleave.
//  4. Read the last appended event back for its $all position: the position
//     in the append response is not that of the last event of a
//     multi-event append on every server version.
//
// A refused append is answered from a fresh read of the stream: a retry that
// raced its original, or a *eventstore.VersionError with the actual version.
func (s *Store) Append(ctx context.Context, stream string, expected uint64, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	name, err := s.physical(stream)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: no events", stream)
	}
	// Reject what the server would refuse before any round trip.
	if _, _, err := seal(stream, expected, "", events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}

	stored, err := eventstore.ReadStreamAll(ctx, s, stream, 0)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	if res, ok := retried(stored, events); ok {
		return res, nil
	}
	if actual := uint64(len(stored)); actual != expected {
		return eventstore.AppendResult{}, &eventstore.VersionError{Stream: stream, Expected: expected, Actual: actual}
	}
	prev := ""
	if expected > 0 {
		prev = stored[expected-1].Hash
	}
	sealed, data, err := seal(stream, expected, prev, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}

	opts := esdbclient.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}
	if _, err := s.client.AppendToStream(ctx, name, opts, data...); err != nil {
		if isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			return s.refused(ctx, stream, expected, events)
		}
		return eventstore.AppendResult{}, wrap(ctx, "append to "+stream, err)
	}
	return s.readBack(ctx, stream, sealed[len(sealed)-1])
}

// refused answers an append the server refused for its expected revision.
// The server checks against writes it has taken but may not have indexed
// yet, so when the stream still reads as at expected, the read is repeated
// until the write that won shows up.
func (s *Store) refused(ctx context.Context, stream string, expected uint64, events []eventstore.NewEvent) (eventstore.AppendResult, error) {
	var stored []eventstore.Event
	err := settle(ctx, func() (bool, error) {
		var err error
		stored, err = eventstore.ReadStreamAll(ctx, s, stream, 0)
		return err == nil && uint64(len(stored)) != expected, err
	})
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: refused, then: %w", stream, err)
	}
	if res, ok := retried(stored, events); ok {
		return res, nil
	}
	return eventstore.AppendResult{}, &eventstore.VersionError{Stream: stream, Expected: expected, Actual: uint64(len(stored))}
}

// readBack reads the event that should now be at want.Version and returns
// its version and position. A retry the server recognised itself is
// answered before the original write is indexed, so a missing event is read
// again for a while; another event in its place is an error.
func (s *Store) readBack(ctx context.Context, stream string, want eventstore.Event) (eventstore.AppendResult, error) {
	var got []eventstore.Event
	err := settle(ctx, func() (bool, error) {
		var err error
		got, err = s.ReadStream(ctx, stream, want.Version-1, 1)
		return err == nil && len(got) == 1, err
	})
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: appended, but reading it back: %w", stream, err)
	}
	if len(got) != 1 || got[0].ID != want.ID {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: appended, but version %d does not hold event %s", stream, want.Version, want.ID)
	}
	return eventstore.AppendResult{Version: got[0].Version, Position: got[0].Position}, nil
}

// settle calls read until it reports done, an error, or about a second has
// passed, backing off from 2 ms. It bridges the short gap between the
// server taking a write and indexing it; it is not a way to wait for
// appends in general (that is Wait).
func settle(ctx context.Context, read func() (done bool, err error)) error {
	delay := 2 * time.Millisecond
	for try := 0; ; try++ {
		done, err := read()
		if err != nil || done || try == 9 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// retried reports whether events repeat an append already in stored (the
// whole stream): the first event's id is there. The earlier append's result
// is taken to end at the last of events stored in a row from that point,
// which for a true retry is all of them.
func retried(stored []eventstore.Event, events []eventstore.NewEvent) (eventstore.AppendResult, bool) {
	for i, e := range stored {
		if e.ID != events[0].ID {
			continue
		}
		last := e
		for j := 1; j < len(events) && i+j < len(stored) && stored[i+j].ID == events[j].ID; j++ {
			last = stored[i+j]
		}
		return eventstore.AppendResult{Version: last.Version, Position: last.Position}, true
	}
	return eventstore.AppendResult{}, false
}
