package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

var _ eventstore.Importer = (*Store)(nil)

// Import writes events, a whole log that passes eventstore.CheckImport,
// into the empty file in one transaction, keeping every event's position,
// version, prev_hash and hash as given. Data is stored as given (an empty
// data as null), metadata as Append stores it. It returns an error matching
// eventstore.ErrLogNotEmpty when the file holds any event, and writes
// nothing then or on any other error.
//
// The transaction goes through the writer pool's one connection, so it
// waits for the group-commit writer's batch in progress and holds the
// writer's appends off until it commits; another process appending to the
// same file meanwhile waits on the file's lock.
func (s *Store) Import(ctx context.Context, events []eventstore.Event) (err error) {
	if err := eventstore.CheckImport(events); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := s.checkOpen(ctx); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("import: begin: %w", ctxErr(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var n int64
	// sqlite_sequence too: positions ever handed out and then removed by
	// hand still count, for AUTOINCREMENT never reuses them.
	if err := tx.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM events) + COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)").Scan(&n); err != nil {
		return fmt.Errorf("import: count events: %w", ctxErr(ctx, err))
	}
	if n > 0 {
		return fmt.Errorf("import: %w (it has held events; import into a new data directory)", eventstore.ErrLogNotEmpty)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO events (position, id, stream, version, type, schema_version, data, metadata, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("import: %w", ctxErr(ctx, err))
	}
	defer func() { _ = st.Close() }()
	for _, e := range events {
		data := string(e.Data)
		if data == "" {
			data = "null"
		}
		md := e.Metadata
		md.OccurredAt = md.OccurredAt.UTC()
		meta, err := json.Marshal(md)
		if err != nil {
			return fmt.Errorf("import event %s/%d: encode metadata: %w", e.Stream, e.Version, err)
		}
		var prev any
		if e.PrevHash != "" {
			prev = e.PrevHash
		}
		if _, err := st.ExecContext(ctx, int64(e.Position), e.ID, e.Stream, int64(e.Version), e.Type, int64(e.SchemaVersion),
			data, string(meta), prev, e.Hash); err != nil {
			return fmt.Errorf("import event %s/%d at position %d: %w", e.Stream, e.Version, e.Position, ctxErr(ctx, err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import: commit: %w", ctxErr(ctx, err))
	}
	if len(events) > 0 {
		s.committed(events[len(events)-1].Position)
	}
	return nil
}
