package esdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore"
)

// retryWindow is how many events before the expected version, besides the
// append's own length, an append looks through for its first event id. It
// bounds the cost of an append whatever the stream's length; see Append.
const retryWindow = 16

// Append appends events to stream if it is at expected, chaining their
// hashes to the stream's last event.
//
// It reads a bounded window of the stream, never the whole stream:
//
//  1. Read the events up to version expected, at most len(events) +
//     retryWindow of them, newest first. The newest gives the hash to chain
//     to and tells whether the stream reaches expected at all.
//  2. If the first event's id is in the window, the append is a retry that
//     the server would not recognise (it was sent with a later expected
//     version than its original: after reloading the stream, or at the
//     version its own original produced); report where the original left
//     the stream, writing nothing.
//  3. Append with an explicit expected revision (never Any), so a racing
//     writer makes the server refuse rather than interleave. EventStoreDB
//     itself takes an append whose events are already stored right after
//     the expected revision for a retry and writes nothing: that covers a
//     retry sent with the original's expected version, however far the
//     stream has moved on since.
//  4. Read the last appended event back for its $all position: the position
//     in the append response is not that of the last event of a
//     multi-event append on every server version.
//
// A retry whose original is further back than the window and that carries
// another expected version than the original's is not recognised: it fails
// with a *eventstore.VersionError or, at the current version, appends the
// events again. Callers retry with the expected version they first sent.
//
// A refused append is answered from the stream's newest events: a retry that
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

	prev := ""
	if expected > 0 {
		window, err := s.window(ctx, stream, expected, len(events)+retryWindow)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		if res, ok, err := s.retryOf(ctx, stream, window, events); err != nil || ok {
			return res, err
		}
		if actual := newest(window); actual != expected {
			return eventstore.AppendResult{}, &eventstore.VersionError{Stream: stream, Expected: expected, Actual: actual}
		}
		prev = window[len(window)-1].Hash
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

// window returns the events of stream with version <= upTo (0: up to the
// end), at most n of them, in version order: one backward read, whatever
// the stream's length. A stream shorter than upTo gives its newest events.
func (s *Store) window(ctx context.Context, stream string, upTo uint64, n int) ([]eventstore.Event, error) {
	var from esdbclient.StreamPosition = esdbclient.End{}
	if upTo > 0 {
		from = esdbclient.Revision(upTo - 1)
	}
	out, err := s.readStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: from}, n)
	slices.Reverse(out)
	return out, err
}

// newest is the version of the last event of window, 0 when it is empty.
func newest(window []eventstore.Event) uint64 {
	if len(window) == 0 {
		return 0
	}
	return window[len(window)-1].Version
}

// retryOf reports whether events repeat an append whose first event is in
// window (consecutive events of stream). When the earlier append runs past
// the window's end, the events after it are read to find where it ended.
func (s *Store) retryOf(ctx context.Context, stream string, window []eventstore.Event, events []eventstore.NewEvent) (eventstore.AppendResult, bool, error) {
	i := slices.IndexFunc(window, func(e eventstore.Event) bool { return e.ID == events[0].ID })
	if i < 0 {
		return eventstore.AppendResult{}, false, nil
	}
	run := slices.Clip(window[i:])
	if len(run) < len(events) {
		more, err := s.ReadStream(ctx, stream, run[len(run)-1].Version, len(events)-len(run))
		if err != nil {
			return eventstore.AppendResult{}, false, fmt.Errorf("append to %s: read the earlier append: %w", stream, err)
		}
		run = append(run, more...)
	}
	res, ok := retried(run, events)
	return res, ok, nil
}

// refused answers an append the server refused for its expected revision.
// The server checks against writes it has taken but may not have indexed
// yet, so when the stream still reads as at expected, the read is repeated
// until the write that won shows up.
func (s *Store) refused(ctx context.Context, stream string, expected uint64, events []eventstore.NewEvent) (eventstore.AppendResult, error) {
	var tail []eventstore.Event
	err := settle(ctx, func() (bool, error) {
		var err error
		tail, err = s.window(ctx, stream, 0, len(events)+retryWindow)
		return err == nil && newest(tail) != expected, err
	})
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: refused, then: %w", stream, err)
	}
	if res, ok, err := s.retryOf(ctx, stream, tail, events); err != nil || ok {
		return res, err
	}
	return eventstore.AppendResult{}, &eventstore.VersionError{Stream: stream, Expected: expected, Actual: newest(tail)}
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

// retried reports whether events repeat an append already in stored
// (consecutive events of one stream): the first event's id is there. The earlier append's result
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
