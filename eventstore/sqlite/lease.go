package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReadLease returns the holder and revision of the lease called name in the
// file; revision 0 means it was never taken. It sees writes of every process
// sharing the file.
func (s *Store) ReadLease(ctx context.Context, name string) (holder string, revision uint64, err error) {
	if err := s.checkOpen(ctx); err != nil {
		return "", 0, fmt.Errorf("read lease %s: %w", name, err)
	}
	var rev int64
	err = s.reader.QueryRowContext(ctx, "SELECT holder, revision FROM leases WHERE name = ?", name).Scan(&holder, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read lease %s: %w", name, ctxErr(ctx, err))
	}
	return holder, uint64(rev), nil
}

// SwapLease writes holder into the lease called name if the lease is still
// at revision (0: never taken), and returns the new revision. ok is false,
// with no error, when another process wrote the lease first. An empty holder
// releases the lease.
//
// It writes through the writer pool's one connection, between group commits:
// a write every few seconds costs the log nothing measurable, and SQLite's
// lock orders it with every other process's writes.
func (s *Store) SwapLease(ctx context.Context, name string, revision uint64, holder string) (uint64, bool, error) {
	if err := s.checkOpen(ctx); err != nil {
		return 0, false, fmt.Errorf("write lease %s: %w", name, err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var (
		res sql.Result
		err error
	)
	if revision == 0 {
		res, err = s.writer.ExecContext(ctx, `INSERT INTO leases (name, holder, revision, renewed_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (name) DO NOTHING`, name, holder, now)
	} else {
		res, err = s.writer.ExecContext(ctx, `UPDATE leases SET holder = ?, revision = revision + 1, renewed_at = ?
			WHERE name = ? AND revision = ?`, holder, now, name, int64(revision))
	}
	if err != nil {
		return 0, false, fmt.Errorf("write lease %s: %w", name, ctxErr(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("write lease %s: %w", name, err)
	}
	return revision + 1, n == 1, nil
}
