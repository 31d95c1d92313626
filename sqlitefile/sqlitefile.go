// Package sqlitefile is how offerflow opens a SQLite file: one recipe for
// the driver's connection string (the path as an escaped file: URI, the
// pragmas the driver runs on every new connection) and the driver's
// registration. The packages that own a database (eventstore/sqlite,
// eventstore/seal, projections, projections/process, idempotency) differ
// only in the Settings their data needs, each chosen, and said why, in that
// package's own Open; cmd opens nothing itself.
package sqlitefile

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver the connection strings are for
)

// Driver is the database/sql driver name of the connection strings.
const Driver = "sqlite3"

// Memory is the path of an in-memory database: every connection to it is a
// database of its own, so a pool on it wants MaxOpenConns 1.
const Memory = ":memory:"

// Settings are what a connection is opened with. All but the journal mode
// are per connection, not stored in the file, which is why the driver sets
// them on every new one. The zero value opens a file as SQLite would, with
// a 5 s busy timeout.
type Settings struct {
	// BusyTimeout is how long a statement waits for another connection's
	// lock before it fails with SQLITE_BUSY (5 s when zero).
	BusyTimeout time.Duration
	// JournalMode ("WAL", "OFF"; empty leaves the file's) is recorded in the
	// file; a read-only connection cannot change it.
	JournalMode string
	// Synchronous is "FULL", "NORMAL" or "OFF"; empty is SQLite's FULL.
	Synchronous string
	// ImmediateTx begins every transaction with BEGIN IMMEDIATE, taking the
	// write lock up front instead of failing to upgrade a read lock half-way.
	ImmediateTx bool
	// SecureDelete makes SQLite zero what it frees (erased texts must not
	// stay behind in free pages).
	SecureDelete bool
	// ForeignKeys enforces foreign keys.
	ForeignKeys bool
	// ReadOnly makes the connection refuse writes (query_only).
	ReadOnly bool
	// StmtCache is how many prepared statements each connection keeps; 0
	// keeps the driver's default.
	StmtCache int
	// CacheKiB is each connection's page cache in KiB; 0 keeps SQLite's.
	CacheKiB int
	// MaxOpenConns bounds the pool Open returns; 0 leaves it unbounded.
	MaxOpenConns int
	// CheckpointApart, for a file in WAL mode, moves the checkpoints of
	// the write-ahead log out of the connections Open returns and into a
	// connection of its own per connection, woken by its commits (Open
	// only; DSN ignores it). SQLite's automatic checkpoint runs inside
	// the commit that takes the log past 1,000 pages, and inside every
	// commit after it while readers keep the log from starting over: it
	// copies the log into the file and fsyncs, and at 1,000 offers/s one
	// commit of the read models in twenty took 5 to 96 ms, which every
	// stream's badge and every query with min_position waited for. A
	// passive checkpoint elsewhere blocks neither the writer nor the
	// readers.
	CheckpointApart bool
}

// DSN returns the driver's connection string for the file at path (or
// Memory) with s.
func DSN(path string, s Settings) string {
	q := url.Values{}
	busy := s.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	set := func(key, value string, on bool) {
		if on {
			q.Set(key, value)
		}
	}
	set("_journal_mode", s.JournalMode, s.JournalMode != "")
	set("_synchronous", s.Synchronous, s.Synchronous != "")
	set("_txlock", "immediate", s.ImmediateTx)
	set("_secure_delete", "on", s.SecureDelete)
	set("_foreign_keys", "on", s.ForeignKeys)
	set("_query_only", "true", s.ReadOnly)
	set("_stmt_cache_size", strconv.Itoa(s.StmtCache), s.StmtCache > 0)
	set("_cache_size", strconv.Itoa(-s.CacheKiB), s.CacheKiB > 0) // negative: KiB, not pages
	name := ":memory:"
	if path != Memory {
		name = (&url.URL{Path: path}).EscapedPath()
	}
	return "file:" + name + "?" + q.Encode()
}

// Open returns a pool of connections to the SQLite file at path (created
// when missing, unless s is ReadOnly) opened with s. Like sql.Open it
// connects lazily: the first statement reports a file that cannot be
// opened.
func Open(path string, s Settings) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	var db *sql.DB
	if s.CheckpointApart {
		db = sql.OpenDB(apartConnector{dsn: DSN(path, s), ckptDSN: DSN(path, Settings{BusyTimeout: s.BusyTimeout})})
	} else {
		var err error
		if db, err = sql.Open(Driver, DSN(path, s)); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	if s.MaxOpenConns > 0 {
		db.SetMaxOpenConns(s.MaxOpenConns)
	}
	return db, nil
}
