package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// Files in the data directory. The event log is the truth; the read models
// are rebuilt from it whenever needed.
const (
	eventsFile      = "events.db"
	readModelsFile  = "readmodels.db"
	idempotencyFile = "idempotency.db"
	// treeKeyFile is the node's Ed25519 key that signs tree heads (0600).
	treeKeyFile = "treehead.key"
	// witnessFile records every leaf of the Merkle tree this node has seen
	// (see eventstore/merkle.Witness).
	witnessFile = "merkle.witness"
	// asOfDir holds the scratch read models that serve replays for ?as_of=
	// queries; serve removes it at stop, and serve, rebuild and verify
	// remove one a killed serve left (removeLeftovers).
	asOfDir = "asof"
	// keysFile holds the keys that seal customers' texts in the log
	// (eventstore/seal.Keys); destroying one erases a customer.
	keysFile = "keys.db"
)

// storeFlags are the flags every command that opens the log shares.
type storeFlags struct {
	data       string
	eventstore string
	keys       string
	secretFile string
	// logger receives the EventStoreDB client's log lines; nil discards them.
	logger *slog.Logger
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data", "data directory (created if missing)")
	fs.StringVar(&f.eventstore, "eventstore", "", "where the log is: sqlite://PATH (one SQLite file several serve processes share) or an EventStoreDB/KurrentDB connection string (esdb://...); empty: the embedded SQLite log in the data directory")
	fs.StringVar(&f.keys, "keys", "", "SQLite key store that seals customers' texts in the log (default: keys.db in the data directory, or PATH-keys.db beside a sqlite://PATH log); nodes sharing a log must share it. On esdb://, whose keys are in the cluster: a keys.db to copy into the cluster at start (one an older deployment shared), after which the flag can go")
	fs.StringVar(&f.secretFile, "secret-file", "", "the server's secret (hex, created if missing): seals Idempotency-Key replies and, on esdb://, wraps the customers' keys kept in the cluster; nodes sharing a log must share it (default: next to a sqlite:// log, else server.secret in --data; required on esdb://)")
}

// keysPath is the key store's file: beside a shared SQLite log, so that
// every node opens the texts the others sealed, as Idempotency-Key records
// are; in the data directory otherwise.
func (f *storeFlags) keysPath() string {
	if f.keys != "" {
		return f.keys
	}
	if p, ok := f.sharedSQLite(); ok && p != "" {
		return p + "-" + keysFile
	}
	return f.path(keysFile)
}

// seal wraps store, the raw log, in the store that seals customers' texts
// on append and opens them on read, with the flags' key store: every
// command that appends or shows events works through it; only what checks
// hashes (verify's chains and tree, head, import) reads the raw log. Its
// Close closes store too; on failure store is left open.
func (f *storeFlags) seal(ctx context.Context, store eventstore.Store) (*seal.Store, error) {
	keys, err := f.keyStore(ctx, store)
	if err != nil {
		return nil, err
	}
	return seal.New(store, keys), nil
}

// keyStore opens the store of the customers' keys: in the cluster on
// EventStoreDB, where nodes on several machines find them (wrapped under
// the --secret-file every node is given), and in a SQLite file otherwise.
func (f *storeFlags) keyStore(ctx context.Context, store eventstore.Store) (seal.KeyStore, error) {
	if _, sqliteLog := f.sharedSQLite(); f.eventstore == "" || sqliteLog {
		return seal.OpenKeys(ctx, f.keysPath())
	}
	if f.secretFile == "" {
		return nil, errors.New("--eventstore esdb://...: give --secret-file, the secret the customers' keys in the cluster are wrapped under (every node's must be the same)")
	}
	es, ok := store.(*esdb.Store)
	if !ok {
		return nil, fmt.Errorf("the event store %s cannot keep the customers' keys", storeName(*f))
	}
	secret, err := loadOrCreateSecret(f.secretFile, false)
	if err != nil {
		return nil, err
	}
	keys, err := es.Keys(ctx, secret)
	if err != nil {
		return nil, err
	}
	if f.keys != "" {
		if err := importKeys(ctx, f.keys, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// importKeys copies the keys of the SQLite key store at path into the
// cluster: an esdb:// deployment from before the keys were kept there
// shared one keys.db between its nodes, and the texts sealed then open
// only with those keys. Live keys are copied as they are, erasures as
// erasures; copying again changes nothing, and a customer with another key
// in the cluster already is an error, never overwritten.
func importKeys(ctx context.Context, path string, to *esdb.Keys) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--keys: the key store to copy into the cluster: %w", err)
	}
	from, err := seal.OpenKeys(ctx, path)
	if err != nil {
		return err
	}
	defer from.Close()
	rows, err := from.All(ctx)
	if err != nil {
		return err
	}
	var recorded []string // erasures keys.db knows to be in the log
	for _, r := range rows {
		switch {
		case r.Key != nil:
			err = to.Import(ctx, r.Customer, r.Key)
		case !r.ErasedAt.IsZero():
			_, err = to.Destroy(ctx, r.Customer, r.ErasedAt)
			if r.Recorded {
				recorded = append(recorded, r.Customer)
			}
		}
		if err != nil {
			return fmt.Errorf("--keys: copy %s into the cluster: %w", path, err)
		}
	}
	// Only an erasure this copy listed as pending is marked recorded: a
	// second copy then writes nothing to the cluster.
	pending, err := to.Unrecorded(ctx)
	if err != nil {
		return fmt.Errorf("--keys: copy %s into the cluster: %w", path, err)
	}
	for _, c := range recorded {
		if _, ok := pending[c]; !ok {
			continue
		}
		if err := to.Recorded(ctx, c); err != nil {
			return fmt.Errorf("--keys: copy %s into the cluster: %w", path, err)
		}
	}
	return nil
}

// openSealed is openStore (openLog when existing) wrapped by seal.
func (f *storeFlags) openSealed(ctx context.Context, existing bool) (*seal.Store, error) {
	open := f.openStore
	if existing {
		open = f.openLog
	}
	store, err := open(ctx)
	if err != nil {
		return nil, err
	}
	s, err := f.seal(ctx, store)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return s, nil
}

// sharedLogPollInterval is how often a node on a shared SQLite log looks at
// the file for events other nodes appended: it bounds how late the live
// stream, the projections and min_position waits see them. One indexed read
// per interval per node.
const sharedLogPollInterval = 100 * time.Millisecond

// sharedSQLite returns the file an --eventstore sqlite://PATH names.
func (f *storeFlags) sharedSQLite() (string, bool) {
	p, ok := strings.CutPrefix(f.eventstore, "sqlite://")
	return p, ok
}

// shared reports whether the log is one that other nodes may share, so that
// background work must be elected and Idempotency-Key records shared.
func (f *storeFlags) shared() bool { return f.eventstore != "" }

// openStore opens the event log the flags name, creating the data directory.
func (f *storeFlags) openStore(ctx context.Context) (eventstore.Store, error) {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := secureDataDir(f.data); err != nil {
		return nil, err
	}
	if err := sqliteTempInDataDir(f.data); err != nil {
		return nil, err
	}
	if p, ok := f.sharedSQLite(); ok {
		if p == "" {
			return nil, errors.New("--eventstore sqlite://PATH: the path is missing")
		}
		s, err := sqlite.Open(ctx, p, sqlite.Config{PollInterval: sharedLogPollInterval})
		if err != nil {
			return nil, fmt.Errorf("open the shared event log: %w", err)
		}
		return s, nil
	}
	if f.eventstore != "" {
		return openESDB(ctx, f.eventstore, f.logger)
	}
	s, err := sqlite.Open(ctx, filepath.Join(f.data, eventsFile), sqlite.Config{})
	if err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	return s, nil
}

// openLog opens the event log the flags name for a command that reads an
// existing one (verify, history, export, rebuild, head): on a data directory
// that holds no log it fails with a clear message and creates nothing, not
// even the directory. A log elsewhere (EventStoreDB) is taken as it is.
func (f *storeFlags) openLog(ctx context.Context) (eventstore.Store, error) {
	shared, isShared := f.sharedSQLite()
	if f.eventstore == "" || isShared {
		p := f.path(eventsFile)
		if isShared {
			p = shared
		}
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && isShared:
			return nil, fmt.Errorf("no event log at %s (it does not exist): check --eventstore; nothing was created", p)
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("no event log in %s (%s does not exist): check --data; nothing was created", f.data, p)
		case err != nil:
			return nil, fmt.Errorf("event log %s: %w", p, err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("event log %s is not a file", p)
		}
		// Opening migrates: a file that is no SQLite database (emptied,
		// say) would become an empty log that verifies.
		if err := checkSQLiteFile(p); err != nil {
			return nil, err
		}
	}
	return f.openStore(ctx)
}

// sqliteMagic begins every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// checkSQLiteFile fails unless the file at p begins as an SQLite database.
func checkSQLiteFile(p string) error {
	file, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("event log %s: %w", p, err)
	}
	defer file.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(file, head)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return fmt.Errorf("no event log in %s: it is empty (0 bytes); nothing was changed", p)
	case errors.Is(err, io.ErrUnexpectedEOF) || (err == nil && string(head) != sqliteMagic):
		return fmt.Errorf("no event log in %s: it is not an SQLite database; nothing was changed", p)
	case err != nil:
		return fmt.Errorf("event log %s: %w", p, err)
	}
	return nil
}

func (f *storeFlags) path(name string) string { return filepath.Join(f.data, name) }
