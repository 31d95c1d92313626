package seal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/offerflow/offerflow/sqlitefile"
)

// ErrErased is returned for the key of a customer whose key was destroyed.
var ErrErased = errors.New("the customer's key was destroyed (erased)")

// errNoKey is returned for a customer that has no key and none is made.
var errNoKey = errors.New("the customer has no key")

// Keys is the key store: one random key per customer, in a SQLite file
// outside the log. Destroying a key leaves a tombstone row (no key, the
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

	mu    sync.Mutex
	cache map[string][]byte // customer -> key; nil: erased
	// gen counts the keys forgotten: what was opened under an older
	// generation may show a text that is erased now.
	gen uint64
}

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
	return &Keys{db: db, cache: map[string][]byte{}}, nil
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

// key returns customer's key. Without one, it makes one when create is
// set, and fails with errNoKey otherwise; a destroyed key is ErrErased.
func (k *Keys) key(ctx context.Context, customer string, create bool) ([]byte, error) {
	k.mu.Lock()
	key, ok := k.cache[customer]
	k.mu.Unlock()
	if ok {
		if key == nil {
			return nil, ErrErased
		}
		return key, nil
	}
	key, err := k.load(ctx, customer)
	if errors.Is(err, errNoKey) && create {
		fresh := make([]byte, KeySize)
		_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
		// Two nodes may race to make the first key: the first insert wins
		// and both use what the file holds.
		if _, err := k.db.ExecContext(ctx, `INSERT OR IGNORE INTO customer_keys (customer_id, key, created_at)
			VALUES (?, ?, ?)`, customer, fresh, time.Now().UnixNano()); err != nil {
			return nil, fmt.Errorf("make key of customer %s: %w", customer, err)
		}
		key, err = k.load(ctx, customer)
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

// load reads customer's key from the file into the cache.
func (k *Keys) load(ctx context.Context, customer string) ([]byte, error) {
	var key []byte
	err := k.db.QueryRowContext(ctx, `SELECT key FROM customer_keys WHERE customer_id = ?`, customer).Scan(&key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoKey
	case err != nil:
		return nil, fmt.Errorf("read key of customer %s: %w", customer, err)
	}
	k.mu.Lock()
	k.cache[customer] = key
	k.mu.Unlock()
	if key == nil {
		return nil, ErrErased
	}
	return key, nil
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
	k.forget(customer)
	// The commit went to the write-ahead log, which still holds the page
	// as it was before (with the key) until a checkpoint copies the new
	// one into the file and the log is truncated.
	if err := k.checkpoint(ctx); err != nil {
		return time.Time{}, fmt.Errorf("destroy key of customer %s: %w", customer, err)
	}
	return at.UTC(), nil
}

// forget marks customer's key destroyed in the cache: after Destroy, and
// when the log shows a customer.erased that another node wrote.
func (k *Keys) forget(customer string) {
	k.mu.Lock()
	k.cache[customer] = nil
	k.gen++
	k.mu.Unlock()
}

// generation returns how many keys were forgotten so far.
func (k *Keys) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

// checkpoint copies the write-ahead log into the file and truncates it. A
// reader in another process (a second node, a command-line tool) can keep
// it from completing; it is tried again for a while.
func (k *Keys) checkpoint(ctx context.Context) error {
	for try := 0; ; try++ {
		var busy, logFrames, done int
		if err := k.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint key store: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if try == 50 {
			return errors.New("checkpoint key store: the write-ahead log stays in use by another process")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Erasure is a destroyed key whose customer.erased may not be in the log
// yet.
type Erasure struct {
	Customer string
	At       time.Time
}

// Unrecorded lists the destroyed keys not yet marked Recorded: erasures
// whose event a crash may have kept from the log.
func (k *Keys) Unrecorded(ctx context.Context) ([]Erasure, error) {
	rows, err := k.db.QueryContext(ctx, `SELECT customer_id, erased_at FROM customer_keys
		WHERE erased_at IS NOT NULL AND recorded = 0 ORDER BY customer_id`)
	if err != nil {
		return nil, fmt.Errorf("list erasures: %w", err)
	}
	defer rows.Close()
	var out []Erasure
	for rows.Next() {
		var e Erasure
		var at int64
		if err := rows.Scan(&e.Customer, &at); err != nil {
			return nil, fmt.Errorf("list erasures: %w", err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
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
