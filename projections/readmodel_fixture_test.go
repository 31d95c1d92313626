package projections_test

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/projections"
)

// rmClock is the command side's clock in read-model tests: it stands still
// unless advanced, so timestamps are exact.
type rmClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *rmClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *rmClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// rmEnv is an event store written through command.Service and a read-model
// database, both real SQLite files in a temporary directory.
type rmEnv struct {
	dir   string
	store *seal.Store // sealing customers' texts, as serve's
	svc   *command.Service
	clock *rmClock
	db    *projections.DB
}

func newRMEnv(tb testing.TB) *rmEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	// NORMAL: the tests do not survive power loss, and FULL would spend
	// their time in fsync.
	raw, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		_ = raw.Close()
		tb.Fatal(err)
	}
	store := seal.New(raw, keys)
	tb.Cleanup(func() { _ = store.Close() })
	clock := &rmClock{now: time.Date(2025, 1, 31, 9, 0, 0, 0, time.UTC)}
	svc := command.NewService(command.NewHandler(store, command.Config{Now: clock.Now})).WithKeys(keys)
	e := &rmEnv{dir: dir, store: store, svc: svc, clock: clock}
	e.db = rmOpenDB(tb, filepath.Join(dir, "read.db"))
	return e
}

func rmOpenDB(tb testing.TB, path string) *projections.DB {
	tb.Helper()
	db, err := projections.OpenDB(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// run starts the projectors over the store into db; they stop at the end of
// the test (or earlier, through the returned value's Close).
func (e *rmEnv) run(tb testing.TB, db *projections.DB, cfg projections.Config) *projections.Projections {
	tb.Helper()
	if reflect.ValueOf(cfg.Subscriber).IsZero() {
		cfg.Subscriber = pubsub.SubscriberConfig{PollInterval: 50 * time.Millisecond, NackResendDelay: 10 * time.Millisecond}
	}
	p, err := projections.New(db, e.store, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func (e *rmEnv) head(tb testing.TB) uint64 {
	tb.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// waitHead waits until db has applied the whole log.
func (e *rmEnv) waitHead(tb testing.TB, db *projections.DB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := db.WaitFor(ctx, e.head(tb)); err != nil {
		tb.Fatalf("%v; positions %v", err, db.Positions(ctx))
	}
}

func rmFingerprint(tb testing.TB, db *projections.DB) map[string]string {
	tb.Helper()
	fp, err := db.Fingerprint(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return fp
}

// rmRebuilt rebuilds the read models of e's log into a fresh database and
// returns it.
func (e *rmEnv) rebuilt(tb testing.TB, name string) *projections.DB {
	tb.Helper()
	db := rmOpenDB(tb, filepath.Join(e.dir, name))
	res, err := projections.Rebuild(context.Background(), e.store, db, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Head != e.head(tb) || !db.CaughtUp(context.Background(), res.Head) {
		tb.Fatalf("rebuilt up to %d, head is %d, positions %v", res.Head, e.head(tb), db.Positions(context.Background()))
	}
	return db
}

func rmMust[T any](tb testing.TB) func(v T, _ command.Result, err error) T {
	return func(v T, _ command.Result, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func rmMeta(a domain.Actor) command.Meta { return command.Meta{Actor: a} }

func rmReseller(id domain.ResellerID) domain.Actor {
	return domain.Actor{Role: domain.RoleReseller, Tenant: string(id), Subject: "reseller-user"}
}

func rmCustomer(id domain.CustomerID) domain.Actor {
	return domain.Actor{Role: domain.RoleCustomer, Tenant: string(id), Subject: "customer-admin"}
}

func rmOperator() domain.Actor { return domain.Actor{Role: domain.RoleOperator, Subject: "operator"} }

func rmSystem() domain.Actor { return domain.SystemActor("test") }
