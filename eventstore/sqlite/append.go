package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

// Append appends events to stream in one transaction if the stream is at
// expected, sealing each event into the stream's hash chain. It returns an
// error matching eventstore.ErrWrongVersion (an *eventstore.VersionError)
// when the stream is elsewhere. When the first event's id is already stored
// in the stream, it writes nothing and returns the version and position of
// the latest of the given events already stored: the result of the append it
// retries, whatever expected says. Other errors: no events, an empty stream
// name or event id, data that is not one JSON value, an id repeated within
// the stream (which rolls the whole append back), ctx done, ErrClosed.
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
	res, wrote, err := s.append(ctx, stream, expected, rows)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, ctxErr(ctx, err))
	}
	if wrote {
		s.committed(res.Position)
	}
	return res, nil
}

// row is a NewEvent checked and encoded for insertion, before it knows its
// version and hash.
type row struct {
	ev   eventstore.Event
	meta []byte
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
		rows[i] = row{
			ev: eventstore.Event{
				ID: ne.ID, Stream: stream, Type: ne.Type, SchemaVersion: ne.SchemaVersion,
				Data: data, Metadata: md,
			},
			meta: meta,
		}
	}
	return rows, nil
}

// append runs the transaction. wrote is false for an idempotent retry.
func (s *Store) append(ctx context.Context, stream string, expected uint64, rows []row) (res eventstore.AppendResult, wrote bool, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return res, false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	// A retry is recognised before the version check: the caller may have
	// reloaded the stream, seen its own earlier append, and now expects the
	// version that append produced.
	res, retry, err := findRetry(ctx, tx, stream, rows)
	if err != nil || retry {
		return res, false, err
	}

	var (
		version  int64
		prevHash sql.NullString
	)
	err = tx.QueryRowContext(ctx, "SELECT version, hash FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1", stream).Scan(&version, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, false, fmt.Errorf("read stream version: %w", err)
	}
	if uint64(version) != expected {
		return res, false, &eventstore.VersionError{Stream: stream, Expected: expected, Actual: uint64(version)}
	}

	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events
		(id, stream, version, type, schema_version, data, metadata, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return res, false, fmt.Errorf("prepare insert: %w", err)
	}
	defer func() { _ = stmt.Close() }()
	prev := prevHash.String
	for i := range rows {
		e := &rows[i].ev
		e.Version = uint64(version) + uint64(i) + 1
		if err := eventstore.Seal(e, prev); err != nil {
			return res, false, fmt.Errorf("seal event %s: %w", e.ID, err)
		}
		r, err := stmt.ExecContext(ctx, e.ID, e.Stream, int64(e.Version), e.Type, e.SchemaVersion,
			string(e.Data), string(rows[i].meta), sql.NullString{String: prev, Valid: prev != ""}, e.Hash)
		if err != nil {
			return res, false, fmt.Errorf("insert event %s at version %d: %w", e.ID, e.Version, err)
		}
		pos, err := r.LastInsertId()
		if err != nil {
			return res, false, fmt.Errorf("insert event %s: read position: %w", e.ID, err)
		}
		res = eventstore.AppendResult{Version: e.Version, Position: uint64(pos)}
		prev = e.Hash
	}
	if err := tx.Commit(); err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("commit: %w", err)
	}
	return res, true, nil
}

// findRetry reports whether the first event's id is already stored in
// stream and, if so, the highest version and position among the given ids
// that are stored: the result the earlier append returned.
func findRetry(ctx context.Context, tx *sql.Tx, stream string, rows []row) (eventstore.AppendResult, bool, error) {
	var res eventstore.AppendResult
	for i, r := range rows {
		var version, position int64
		err := tx.QueryRowContext(ctx, "SELECT version, position FROM events WHERE stream = ? AND id = ?", stream, r.ev.ID).Scan(&version, &position)
		if errors.Is(err, sql.ErrNoRows) {
			if i == 0 {
				return res, false, nil
			}
			continue
		}
		if err != nil {
			return res, false, fmt.Errorf("look up event %s: %w", r.ev.ID, err)
		}
		res.Version = max(res.Version, uint64(version))
		res.Position = max(res.Position, uint64(position))
	}
	return res, true, nil
}
