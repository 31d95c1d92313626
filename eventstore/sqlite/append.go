package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

// Append appends events to stream if the stream is at expected, sealing
// each event into the stream's hash chain. It returns an error matching
// eventstore.ErrWrongVersion (an *eventstore.VersionError) when the stream is
// elsewhere. When the first event's id is already stored in the stream, it
// writes nothing and returns the version and position of the latest of the
// given events already stored: the result of the append it retries, whatever
// expected says. Other errors: no events, an empty stream name or event id,
// data that is not one JSON value, an id repeated within the stream (which
// rolls the whole append back), ctx done, ErrClosed.
//
// Appends made at the same time are committed together (group commit, see
// run): each is checked, retried and rolled back on its own, and each caller
// is answered once the transaction holding its events is durable.
//
// When ctx is done before the writer has taken the append into a
// transaction, Append returns ctx's error and nothing is written. When ctx is
// done after that, Append still returns ctx's error at once, and the events
// are then written and durable with the rest of their transaction unless
// that transaction fails as a whole; either way a retry with the same event
// ids is answered as a retry and writes nothing twice.
//
// Conditions in ctx (eventstore.WithConditions) are checked in the same
// transaction, first: a named stream elsewhere rejects the append with an
// *eventstore.VersionError naming that stream, even an append that repeats
// an earlier one (its caller decided on state that is not the log's, and
// finds its earlier run when it reads again).
//
// occurred_at is stored in UTC with its nanoseconds; data is stored as given
// (an empty data as null).
func (s *Store) Append(ctx context.Context, stream string, expected uint64, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	rows, err := prepare(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if err := s.checkOpen(ctx); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	conds := eventstore.Conditions(ctx)
	for _, c := range conds {
		if c.Stream == "" {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: a condition names no stream", stream)
		}
	}
	req := &request{stream: stream, expected: expected, rows: rows, conds: conds, done: make(chan struct{})}
	if err := s.enqueue(req); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		if s.withdraw(req) {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: %w (not written)", stream, ctx.Err())
		}
		select {
		case <-req.done:
		default:
			return eventstore.AppendResult{}, fmt.Errorf("append %s: %w (already being committed: written with its batch unless the batch fails)", stream, ctx.Err())
		}
	}
	if req.err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, req.err)
	}
	return req.res, nil
}

// ChecksConditions reports that Append checks the conditions of its
// context (eventstore.ConditionChecker).
func (s *Store) ChecksConditions() bool { return true }

// row is a NewEvent checked and encoded for insertion, before it knows its
// version and hash.
type row struct {
	ev   eventstore.Event
	meta []byte
	pre  presealed
}

// prepare checks and encodes events outside the transaction, which keeps the
// single writer's lock short.
func prepare(stream string, events []eventstore.NewEvent) ([]row, error) {
	if stream == "" {
		return nil, errors.New("empty stream name")
	}
	if len(events) == 0 {
		return nil, errors.New("no events to append")
	}
	rows := make([]row, len(events))
	for i, ne := range events {
		if ne.ID == "" {
			return nil, fmt.Errorf("event %d has no id", i)
		}
		data := ne.Data
		if len(bytes.TrimSpace(data)) == 0 {
			data = json.RawMessage("null")
		}
		// The hash's canonical form would accept trailing garbage after the
		// first JSON value; the log must not.
		if !json.Valid(data) {
			return nil, fmt.Errorf("event %s: data is not valid JSON", ne.ID)
		}
		md := ne.Metadata
		// UTC also strips the monotonic clock reading, so what is hashed,
		// stored and read back is one and the same instant.
		md.OccurredAt = md.OccurredAt.UTC()
		meta, err := json.Marshal(md)
		if err != nil {
			return nil, fmt.Errorf("event %s: encode metadata: %w", ne.ID, err)
		}
		ev := eventstore.Event{
			ID: ne.ID, Stream: stream, Type: ne.Type, SchemaVersion: ne.SchemaVersion,
			Data: data, Metadata: md,
		}
		pre, err := preseal(ev)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", ne.ID, err)
		}
		rows[i] = row{ev: ev, meta: meta, pre: pre}
	}
	return rows, nil
}
