package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"github.com/offerflow/offerflow/eventstore"
)

const selectEvents = `SELECT position, id, stream, version, type, schema_version, data, metadata, prev_hash, hash FROM events `

// ReadStream returns up to limit events of stream with version > after, in
// version order; a stream that does not exist reads as empty. limit must be
// positive.
func (s *Store) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read stream %s: limit %d: want a positive limit", stream, limit)
	}
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	evs, err := s.query(ctx, selectEvents+"WHERE stream = ? AND version > ? ORDER BY version LIMIT ?", stream, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after version %d: %w", stream, after, err)
	}
	return evs, nil
}

// ReadAll returns up to limit events with position > after, in global order.
// limit must be positive.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read log: limit %d: want a positive limit", limit)
	}
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	evs, err := s.query(ctx, selectEvents+"WHERE position > ? ORDER BY position LIMIT ?", int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read log after position %d: %w", after, err)
	}
	if n := len(evs); n > 0 {
		s.observe(evs[n-1].Position)
	}
	return evs, nil
}

// query runs a selectEvents query on the read pool and decodes its rows.
func (s *Store) query(ctx context.Context, query string, args ...any) ([]eventstore.Event, error) {
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer func() { _ = rows.Close() }()
	var out []eventstore.Event
	for rows.Next() {
		var (
			e                 eventstore.Event
			position, version int64
			data, meta        []byte
			prevHash          sql.NullString
		)
		if err := rows.Scan(&position, &e.ID, &e.Stream, &version, &e.Type, &e.SchemaVersion, &data, &meta, &prevHash, &e.Hash); err != nil {
			return nil, ctxErr(ctx, err)
		}
		if err := decodeMetadata(meta, &e.Metadata); err != nil {
			return nil, fmt.Errorf("event at position %d: decode metadata: %w", position, err)
		}
		e.Position, e.Version = uint64(position), uint64(version)
		e.Data = json.RawMessage(data)
		e.PrevHash = prevHash.String
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, ctxErr(ctx, err)
	}
	// A read cut short by ctx may end without an error from the driver;
	// a partial page must not pass for a whole one.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
