package projections

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // the driver of the read connections (mmapConnector)

	"github.com/offerflow/offerflow/sqlitefile"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the read-model database: one SQLite file holding every read model and
// the projectors' checkpoints.
//
// Writes go through one connection (SQLite has one writer at a time; one
// connection turns lock contention into Go-side queueing instead of
// SQLITE_BUSY), reads through a pool of read-only connections, which WAL lets
// run alongside the writer. The file runs with synchronous=NORMAL: in WAL mode
// a power loss may lose the last transactions but never corrupts the file,
// and a lost transaction takes its checkpoint with it, so the projector simply
// applies those events again. Read models are disposable; the log is not
// (the event store keeps its own, stricter settings).
type DB struct {
	path    string
	scratch bool // a rebuild's scratch file (see openDB)
	write   *sql.DB
	read    *sql.DB
	marks   *marks
	// onParked, set by New before anything runs, hears of each parked
	// event (a rebuild's scratch file has none: the swap keeps its list).
	onParked func(ParkedEvent)
	// folds remembers, per statement text, whether it names a table that a
	// batch folds (see namesFolded): handlers run a few dozen statements
	// thousands of times, and splitting each into words was a fortieth of
	// a rebuild's CPU.
	folds sync.Map
	// written, in a scratch file that was created empty, knows every
	// offer row the file can hold (see writtenOffers); nil elsewhere.
	written *writtenOffers
}

// OpenDB opens (creating if missing) the read-model database at path and
// brings its schema up to date.
func OpenDB(ctx context.Context, path string) (*DB, error) {
	return openDB(ctx, path, false)
}

// openDB opens the database at path; scratch opens a file that a rebuild
// fills before it is swapped in: no journal and no fsync (a crash only
// loses the scratch file, which the next rebuild starts afresh and
// RemoveScratch removes: see scratch.go), and a larger page cache for the
// big tables written in one go.
func openDB(ctx context.Context, path string, scratch bool) (*DB, error) {
	if path == "" {
		return nil, errors.New("open read models: empty path")
	}
	db := &DB{path: path, marks: newMarks(), scratch: scratch}
	// A scratch file is made empty (0600) before SQLite opens it: empty
	// is as new as missing.
	if fi, err := os.Stat(path); scratch && (errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0) {
		db.written = newWrittenOffers()
	}
	if err := db.open(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// open opens db's connection pools on db.path, migrates and loads the
// checkpoints.
func (db *DB) open(ctx context.Context) error {
	write, err := sqlitefile.Open(db.path, settings(false, db.scratch))
	if err != nil {
		return fmt.Errorf("open read models %s: %w", db.path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	db.write = write
	if err := db.migrate(ctx); err != nil {
		_ = write.Close()
		return err
	}
	// The read pool opens after the writer has created the file and switched
	// it to WAL, which read-only connections cannot do themselves.
	db.read = sql.OpenDB(mmapConnector{dsn: sqlitefile.DSN(db.path, settings(true, db.scratch))})
	db.read.SetMaxOpenConns(8)
	if err := db.loadMarks(ctx); err != nil {
		_ = db.Close()
		return err
	}
	return nil
}

func settings(readOnly, scratch bool) sqlitefile.Settings {
	// Projector statements run thousands of times; preparing each once per
	// connection instead of per call more than doubles a rebuild's speed.
	s := sqlitefile.Settings{StmtCache: 64}
	switch {
	case readOnly:
		s.ReadOnly = true
	case scratch:
		s.JournalMode, s.Synchronous, s.CacheKiB = "OFF", "OFF", 64<<10
	default:
		// The writer's commits are not held up by checkpoints of the
		// write-ahead log: the stream's badges and min_position wait
		// for them (issue 7).
		s.JournalMode, s.Synchronous, s.CheckpointApart = "WAL", "NORMAL", true
	}
	if !readOnly {
		// Erasure overwrites texts in place; secure_delete makes SQLite
		// zero what it frees instead of leaving the old bytes in free
		// pages and cells (see wipeWAL for the write-ahead log).
		// BEGIN IMMEDIATE: a projector's transaction takes the write lock
		// up front instead of failing to upgrade a read lock half-way.
		s.SecureDelete, s.ImmediateTx = true, true
	}
	return s
}

// readMmapSize is how much of the file a read connection maps into memory
// (SQLite caps it at its compile-time SQLITE_MAX_MMAP_SIZE, 2 GiB by
// default). A query of the inbox reads a dozen pages scattered over a file
// far larger than a connection's page cache; without the map each is a
// pread(2) and a copy, a fifth of the query's CPU. Read connections never
// write, so a stray write through the map cannot happen.
const readMmapSize = 1 << 31

// mmapConnector opens read connections on dsn with readMmapSize mapped.
type mmapConnector struct{ dsn string }

func (c mmapConnector) Connect(context.Context) (driver.Conn, error) {
	return c.Driver().Open(c.dsn)
}

func (mmapConnector) Driver() driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		if _, err := conn.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", readMmapSize), nil); err != nil {
			return fmt.Errorf("map the read models: %w", err)
		}
		return nil
	}}
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Path returns the file the database lives in.
func (db *DB) Path() string { return db.path }

// migrate applies the embedded migrations not yet applied, in name order,
// each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate read models: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate read models: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		base := path.Base(name)
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			script, err := migrationFiles.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(script)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, base)
			return err
		}); err != nil {
			return fmt.Errorf("migrate read models %s: %w", base, err)
		}
	}
	return nil
}

// migratedTables returns the tables the migrations create, found by applying
// them to an empty in-memory database, so that the list cannot drift from
// the migrations.
func migratedTables(ctx context.Context) ([]string, error) {
	mem, err := sqlitefile.Open(sqlitefile.Memory, sqlitefile.Settings{MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("list read-model tables: %w", err)
	}
	defer mem.Close()
	scratch := &DB{write: mem}
	if err := scratch.migrate(ctx); err != nil {
		return nil, fmt.Errorf("list read-model tables: %w", err)
	}
	rows, err := mem.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list read-model tables: %w", err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list read-model tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list read-model tables: %w", err)
	}
	return tables, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// querier is what a read query runs on: the read pool, or one read
// transaction when a query takes several statements.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// snapshot runs fn in one read transaction, so that a query made of several
// statements (a page and its items, a page and its counts) sees one state of
// the read models even while projectors commit.
func (db *DB) snapshot(ctx context.Context, fn func(querier) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to commit
	return fn(tx)
}

// inTx runs fn in a write transaction and commits it when fn succeeds. A
// panic in fn rolls the transaction back as it goes by, so that the one
// writer connection is not left inside it.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// marks holds, in memory, the checkpoint of every projector as last
// committed, and wakes waiters when one moves. The database stays the truth:
// marks are loaded from it at open and after a rebuild, and only moved after
// a commit.
type marks struct {
	mu      sync.Mutex
	pos     map[string]uint64 // applied: every event up to here is in the read model
	changed chan struct{}     // closed and replaced on every move of pos
}

func newMarks() *marks {
	return &marks{pos: map[string]uint64{}, changed: make(chan struct{})}
}

// set records projector at position p and wakes every waiter.
func (m *marks) set(projector string, p uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pos[projector] = p
	close(m.changed)
	m.changed = make(chan struct{})
}

// raise moves projector up to p (never down) and wakes every waiter when
// it moved.
func (m *marks) raise(projector string, p uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p <= m.pos[projector] {
		return
	}
	m.pos[projector] = p
	close(m.changed)
	m.changed = make(chan struct{})
}

// reset forgets every position (after a rebuild dropped them).
func (m *marks) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pos = map[string]uint64{}
	close(m.changed)
	m.changed = make(chan struct{})
}

// min returns the lowest position among projectors and a channel closed at
// the next move.
func (m *marks) min(projectors []string) (uint64, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var low uint64
	for i, p := range projectors {
		if v := m.pos[p]; i == 0 || v < low {
			low = v
		}
	}
	return low, m.changed
}

// get returns projector's position.
func (m *marks) get(projector string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos[projector]
}

func (m *marks) snapshot() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.pos))
	for k, v := range m.pos {
		out[k] = v
	}
	return out
}

func (db *DB) loadMarks(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT projector, position FROM checkpoints`)
	if err != nil {
		return fmt.Errorf("load checkpoints: %w", err)
	}
	defer rows.Close()
	db.marks.reset()
	for rows.Next() {
		var name string
		var p int64
		if err := rows.Scan(&name, &p); err != nil {
			return fmt.Errorf("load checkpoints: %w", err)
		}
		db.marks.set(name, uint64(p))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load checkpoints: %w", err)
	}
	return nil
}

// wipeWAL checkpoints the write-ahead log into the file and truncates it,
// after a batch that erased texts: until then the log still holds the
// pages as they were before, texts and all. Readers of the file (this
// process's queries, another process) can keep the checkpoint from
// finishing; it is tried a few times, then left to the next erasure and
// to Close, where SQLite checkpoints and removes the log.
func (db *DB) wipeWAL(ctx context.Context) {
	_, _ = sqlitefile.TruncateWAL(ctx, db.write, 20, 50*time.Millisecond)
}
