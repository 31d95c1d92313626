// Package idempotency keeps the responses of HTTP requests that carried an
// Idempotency-Key, for the HTTP layer's http.IdempotencyStore: Records is
// the port, with two implementations that pass one conformance suite
// (idempotencytest): Store, in a SQLite file (one node, or the nodes on one
// machine sharing a sqlite:// log), and Versioned, on any Backend that
// writes a key's records by compare-and-swap on a revision (EventStoreDB,
// where every node of a cluster sees them). Both store what they are
// given: keys arrive hashed with their scope and responses sealed, so
// neither holds them in the clear.
package idempotency

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/offerflow/offerflow/sqlitefile"

	ofhttp "github.com/offerflow/offerflow/http"
)

// Config configures a Store.
type Config struct {
	// TTL is how long a completed response is kept (24 h, the contract's
	// minimum; a shorter one is raised to it).
	TTL time.Duration
	// Lease is how long a claim stays in progress before another request
	// with the key may take it over: it frees keys whose request died with
	// its process (5 minutes; far longer than any command runs).
	Lease time.Duration
	// Now returns the current time (time.Now by default).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.TTL < 24*time.Hour {
		c.TTL = 24 * time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Records are the Idempotency-Key records of a server: the HTTP layer's
// store, plus what serve needs of it.
type Records interface {
	ofhttp.IdempotencyStore
	// Wipe forgets every completed response kept so far (claims in
	// progress stay): an erasure calls it, since replies may hold the
	// erased texts. A request retried after it runs again.
	Wipe(ctx context.Context) error
	// Close releases what the records hold open.
	Close() error
}

// Store is an http.IdempotencyStore in one SQLite file.
type Store struct {
	db  *sql.DB
	cfg Config

	mu        sync.Mutex
	lastPurge time.Time
}

var _ Records = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
	key         TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	response    BLOB,
	created_at  INTEGER NOT NULL,
	lease_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
`

// Open opens (creating if missing) the store in the SQLite file at path.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	cfg.setDefaults()
	// SecureDelete: Wipe deletes replies that may hold erased texts, so
	// zero what it frees. ImmediateTx: Begin reads and then writes; taking
	// the write lock up front keeps two claims of one key from both seeing
	// it free. One connection: SQLite has one writer at a time, and every
	// call here writes.
	db, err := sqlitefile.Open(path, sqlitefile.Settings{JournalMode: "WAL", Synchronous: "NORMAL",
		SecureDelete: true, ImmediateTx: true, MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("open idempotency store: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open idempotency store %s: %w", path, err)
	}
	return &Store{db: db, cfg: cfg}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Begin claims key for a request whose body has fingerprint. A key whose
// entry is older than TTL counts as free. A key claimed by another
// fingerprint is IdempotencyMismatch even while that request runs: the body
// tells them apart before the timing does.
func (s *Store) Begin(ctx context.Context, key, fingerprint string) (ofhttp.IdempotencyOutcome, []byte, error) {
	s.purge(ctx)
	now := s.cfg.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("idempotency begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var (
		fp         string
		done       bool
		response   []byte
		created    int64
		leaseUntil int64
	)
	err = tx.QueryRowContext(ctx, `SELECT fingerprint, done, response, created_at, lease_until
		FROM idempotency_keys WHERE key = ?`, key).Scan(&fp, &done, &response, &created, &leaseUntil)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && time.Unix(0, created).Before(now.Add(-s.cfg.TTL))):
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, done, response, created_at, lease_until)
			VALUES (?, ?, 0, NULL, ?, ?)`, key, fingerprint, now.UnixNano(), now.Add(s.cfg.Lease).UnixNano())
		if err != nil {
			return 0, nil, fmt.Errorf("idempotency claim: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return 0, nil, fmt.Errorf("idempotency claim: %w", err)
		}
		return ofhttp.IdempotencyStarted, nil, nil
	case err != nil:
		return 0, nil, fmt.Errorf("idempotency look-up: %w", err)
	case fp != fingerprint:
		return ofhttp.IdempotencyMismatch, nil, nil
	case done:
		return ofhttp.IdempotencyReplay, bytes.Clone(response), nil
	case time.Unix(0, leaseUntil).After(now):
		return ofhttp.IdempotencyInProgress, nil, nil
	}
	// The claim lapsed: its request died without settling it.
	if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET created_at = ?, lease_until = ? WHERE key = ?`,
		now.UnixNano(), now.Add(s.cfg.Lease).UnixNano(), key); err != nil {
		return 0, nil, fmt.Errorf("idempotency take over: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, nil, fmt.Errorf("idempotency take over: %w", err)
	}
	return ofhttp.IdempotencyStarted, nil, nil
}

// Complete stores the response of the request that claimed key. The entry's
// age counts from now, so the response is kept TTL after it was given.
func (s *Store) Complete(ctx context.Context, key string, response []byte) error {
	now := s.cfg.Now()
	res, err := s.db.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, response = ?, created_at = ?
		WHERE key = ? AND done = 0`, response, now.UnixNano(), key)
	if err != nil {
		return fmt.Errorf("idempotency complete: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("idempotency complete: no claim in progress for the key")
	}
	return nil
}

// Release drops the claim on key if it is still in progress.
func (s *Store) Release(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE key = ? AND done = 0`, key); err != nil {
		return fmt.Errorf("idempotency release: %w", err)
	}
	return nil
}

// Purge deletes entries older than TTL and returns how many.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`,
		s.cfg.Now().Add(-s.cfg.TTL).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("idempotency purge: %w", err)
	}
	return res.RowsAffected()
}

// purge runs Purge at most once a minute, from Begin, so that the file does
// not grow without bound and no separate timer is needed.
func (s *Store) purge(ctx context.Context) {
	s.mu.Lock()
	now := s.cfg.Now()
	due := now.Sub(s.lastPurge) >= time.Minute
	if due {
		s.lastPurge = now
	}
	s.mu.Unlock()
	if due {
		// A failed purge is retried a minute later; the claim does not
		// depend on it.
		_, _ = s.Purge(ctx)
	}
}

// Wipe deletes every kept reply, and checkpoints and truncates the
// write-ahead log, so that no reply's bytes stay in the file: an erasure
// calls it, since replies (an offer with its message, a customer with its
// name) may hold the texts erased, and which ones does not show in a row
// (its response is sealed). It costs only replays: a retried request whose
// reply is gone runs again, and the command side's idempotency seeds keep
// it from writing twice.
func (s *Store) Wipe(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE done = 1`); err != nil {
		return fmt.Errorf("idempotency wipe: %w", err)
	}
	if _, err := sqlitefile.TruncateWAL(ctx, s.db, 1, 0); err != nil {
		return fmt.Errorf("idempotency wipe: %w", err)
	}
	return nil
}
