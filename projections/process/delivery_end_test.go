package process_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// endCounter counts the committed transactions that updated rows of
// delivery_jobs (the jobs' ends; an enqueue inserts).
type endCounter struct {
	mu      sync.Mutex
	updated bool // the transaction under way updated delivery_jobs
	commits atomic.Int32
}

// hookedConnector opens connections to dsn with SQLite's update, commit
// and rollback hooks feeding c: the real database, watched.
type hookedConnector struct {
	dsn string
	c   *endCounter
}

func (h hookedConnector) Connect(context.Context) (driver.Conn, error) {
	d := &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		conn.RegisterUpdateHook(func(op int, _, table string, _ int64) {
			if op == sqlite3.SQLITE_UPDATE && table == "delivery_jobs" {
				h.c.mu.Lock()
				h.c.updated = true
				h.c.mu.Unlock()
			}
		})
		conn.RegisterCommitHook(func() int {
			h.c.mu.Lock()
			if h.c.updated {
				h.c.commits.Add(1)
			}
			h.c.updated = false
			h.c.mu.Unlock()
			return 0
		})
		conn.RegisterRollbackHook(func() {
			h.c.mu.Lock()
			h.c.updated = false
			h.c.mu.Unlock()
		})
		return nil
	}}
	return d.Open(h.dsn)
}

func (h hookedConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// TestDelivery_JobEndsShareATransaction: jobs that end together record
// their ends in one transaction of the managers' one connection, not one
// each: at 1,000 offers/s a thousand transactions a second, for which
// every handler's batch and every read of the queue waited their turn
// (issue 7). Every delivery's append is held until all of them are under
// way, then let go at once; the ends must take fewer transactions than
// half the jobs, and every job must still be recorded done.
func TestDelivery_JobEndsShareATransaction(t *testing.T) {
	gate := &gatedStore{open: make(chan struct{})}
	e := newProcessEnv(t, nil, func(s eventstore.Store) eventstore.Store {
		gate.Store = s
		return gate
	})
	var ends endCounter
	db := sql.OpenDB(hookedConnector{dsn: "file:" + filepath.Join(t.TempDir(), "process.db") + "?_busy_timeout=5000&_journal_mode=WAL", c: &ends})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	e.db = db
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate.open) }) })
	p := e.start(t, fastRetries(3))

	// The first job teaches the scheduler that the customer has no
	// webhook, so that the others all start beyond the customer's share.
	first := e.createOffer(t, nil)
	processWait(t, eventually, func() bool { return gate.held.Load() == 1 }, "the first delivery")
	const offers = 40
	for range offers {
		e.createOffer(t, nil)
	}
	processWait(t, eventually, func() bool { return gate.held.Load() == offers+1 },
		"every delivery to be under way at once")
	before := ends.commits.Load()
	release.Do(func() { close(gate.open) })
	e.waitIdle(t, p)
	e.waitStatus(t, first, domain.StatusWaitingForConfirmation, eventually)
	jobs, err := p.Delivery().Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if jobs["done"] != offers+1 {
		t.Errorf("jobs by state %v, want %d done", jobs, offers+1)
	}
	if n := ends.commits.Load() - before; n*2 >= offers {
		t.Errorf("%d transactions recorded the ends of %d jobs that ended together, want fewer than half as many", n, offers)
	}
}
