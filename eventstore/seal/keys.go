package seal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/offerflow/offerflow/sqlitefile"
)

// Keys is the KeyStore in a SQLite file outside the log: one random key
// per customer, for a log on one machine (or several nodes on one disk). Destroying a key leaves a tombstone row (no key, the
// time of the erasure), so that no new key is ever made for an erased
// customer and a repeated erasure reports the first one's time.
//
// The file runs with secure_delete, so that SQLite overwrites a destroyed
// key's bytes instead of leaving them in a free page, and Destroy
// checkpoints the write-ahead log and truncates it, so that no older copy
// of the page survives there either. It runs with synchronous=FULL: a key
// must be durable before the first event sealed with it is appended.
type Keys struct {
	db *sql.DB
}

var _ KeyStore = (*Keys)(nil)

const keysSchema = `
CREATE TABLE IF NOT EXISTS customer_keys (
	customer_id TEXT    PRIMARY KEY,
	key         BLOB,             -- KeySize random bytes; NULL once destroyed
	created_at  INTEGER NOT NULL, -- unix nanoseconds
	erased_at   INTEGER,          -- unix nanoseconds of the erasure, NULL while the key lives
	recorded    INTEGER NOT NULL DEFAULT 0 -- 1 once customer.erased is in the log
) WITHOUT ROWID;
`

// OpenKeys opens (creating if missing, mode 0600) the key store at path.
func OpenKeys(ctx context.Context, path string) (*Keys, error) {
	if path == "" {
		return nil, errors.New("open key store: empty path")
	}
	// Create the file private before SQLite does, whatever the umask.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open key store %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open key store %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open key store %s: %w", path, err)
	}
	// One connection: the checkpoint after a destruction must not wait for
	// a reader of our own, and key look-ups are served from the cache.
	db, err := sqlitefile.Open(path, sqlitefile.Settings{BusyTimeout: 10 * time.Second, JournalMode: "WAL",
		Synchronous: "FULL", SecureDelete: true, ImmediateTx: true, MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("open key store: %w", err)
	}
	if _, err := db.ExecContext(ctx, keysSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open key store %s: %w", path, err)
	}
	return &Keys{db: db}, nil
}

// Close checkpoints the write-ahead log into the file (truncating it) and
// closes the store.
func (k *Keys) Close() error {
	cerr := k.checkpoint(context.Background())
	if err := k.db.Close(); err != nil {
		return fmt.Errorf("close key store: %w", err)
	}
	return cerr
}

// Key returns customer's key (see KeyStore).
func (k *Keys) Key(ctx context.Context, customer string, create bool) ([]byte, bool, error) {
	key, found, err := k.load(ctx, customer)
	if err != nil || found || !create {
		return key, found && key == nil, err
	}
	fresh := make([]byte, KeySize)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	// Two nodes may race to make the first key: the first insert wins and
	// both use what the file holds.
	if _, err := k.db.ExecContext(ctx, `INSERT OR IGNORE INTO customer_keys (customer_id, key, created_at)
		VALUES (?, ?, ?)`, customer, fresh, time.Now().UnixNano()); err != nil {
		return nil, false, fmt.Errorf("make key of customer %s: %w", customer, err)
	}
	key, found, err = k.load(ctx, customer)
	if err == nil && !found {
		err = fmt.Errorf("make key of customer %s: the key inserted is not there", customer)
	}
	return key, found && key == nil, err
}

// load reads customer's row: its key (nil once destroyed) and whether
// there is one.
func (k *Keys) load(ctx context.Context, customer string) ([]byte, bool, error) {
	var key []byte
	err := k.db.QueryRowContext(ctx, `SELECT key FROM customer_keys WHERE customer_id = ?`, customer).Scan(&key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read key of customer %s: %w", customer, err)
	}
	return key, true, nil
}

// Destroy destroys customer's key as of at, leaving a tombstone, and
// returns the time of the first erasure (at, unless it was destroyed
// before). A customer without a key gets the tombstone alone, so that none
// is ever made for it.
func (k *Keys) Destroy(ctx context.Context, customer string, at time.Time) (time.Time, error) {
	tx, err := k.db.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("destroy key of customer %s: %w", customer, err)
	}
	defer func() { _ = tx.Rollback() }()
	var erased sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT erased_at FROM customer_keys WHERE customer_id = ?`, customer).Scan(&erased)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_keys (customer_id, key, created_at, erased_at) VALUES (?, NULL, ?, ?)`,
			customer, at.UnixNano(), at.UnixNano())
	case err == nil && !erased.Valid:
		_, err = tx.ExecContext(ctx, `UPDATE customer_keys SET key = NULL, erased_at = ? WHERE customer_id = ?`, at.UnixNano(), customer)
	case err == nil:
		at = time.Unix(0, erased.Int64).UTC()
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("destroy key of customer %s: %w", customer, err)
	}
	if err := tx.Commit(); err != nil {
		return time.Time{}, fmt.Errorf("destroy key of customer %s: %w", customer, err)
	}
	// The commit went to the write-ahead log, which still holds the page
	// as it was before (with the key) until a checkpoint copies the new
	// one into the file and the log is truncated.
	if err := k.checkpoint(ctx); err != nil {
		return time.Time{}, fmt.Errorf("destroy key of customer %s: %w", customer, err)
	}
	return at.UTC(), nil
}

// checkpoint copies the write-ahead log into the file and truncates it. A
// reader in another process (a second node, a command-line tool) can keep
// it from completing; it is tried again for a while.
func (k *Keys) checkpoint(ctx context.Context) error {
	done, err := sqlitefile.TruncateWAL(ctx, k.db, 51, 100*time.Millisecond)
	if err != nil {
		return fmt.Errorf("checkpoint key store: %w", err)
	}
	if !done {
		return errors.New("checkpoint key store: the write-ahead log stays in use by another process")
	}
	return nil
}

// Unrecorded lists the destroyed keys not yet marked Recorded (see
// KeyStore).
func (k *Keys) Unrecorded(ctx context.Context) (map[string]time.Time, error) {
	rows, err := k.db.QueryContext(ctx, `SELECT customer_id, erased_at FROM customer_keys
		WHERE erased_at IS NOT NULL AND recorded = 0`)
	if err != nil {
		return nil, fmt.Errorf("list erasures: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			customer string
			at       int64
		)
		if err := rows.Scan(&customer, &at); err != nil {
			return nil, fmt.Errorf("list erasures: %w", err)
		}
		out[customer] = time.Unix(0, at).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list erasures: %w", err)
	}
	return out, nil
}

// Recorded marks customer's erasure as stored in the log.
func (k *Keys) Recorded(ctx context.Context, customer string) error {
	if _, err := k.db.ExecContext(ctx, `UPDATE customer_keys SET recorded = 1 WHERE customer_id = ?`, customer); err != nil {
		return fmt.Errorf("mark erasure of customer %s: %w", customer, err)
	}
	return nil
}

// KeyRecord is one customer's row of the file: its key, or its tombstone
// (Key nil, ErasedAt set).
type KeyRecord struct {
	Customer string
	Key      []byte
	ErasedAt time.Time
	Recorded bool // the erasure's customer.erased is in the log
}

// All returns every row of the file, for moving the keys to another store
// (an EventStoreDB cluster's).
func (k *Keys) All(ctx context.Context) ([]KeyRecord, error) {
	rows, err := k.db.QueryContext(ctx, `SELECT customer_id, key, erased_at, recorded FROM customer_keys ORDER BY customer_id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []KeyRecord
	for rows.Next() {
		var (
			r      KeyRecord
			erased sql.NullInt64
		)
		if err := rows.Scan(&r.Customer, &r.Key, &erased, &r.Recorded); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		if erased.Valid {
			r.ErasedAt = time.Unix(0, erased.Int64).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}
