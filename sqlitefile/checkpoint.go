package sqlitefile

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

// checkpointFrames is how many frames the write-ahead log gathers between
// two checkpoints apart, as SQLite's automatic checkpoint (1,000 pages)
// does.
const checkpointFrames = 1000

// The bounds of the wait between two checkpoints apart.
const (
	checkpointMinWait = 10 * time.Millisecond
	checkpointMaxWait = 10 * time.Second
)

// apartConnector opens write connections whose write-ahead log is
// checkpointed from a connection of its own (Settings.CheckpointApart).
type apartConnector struct {
	dsn     string // the write connection's
	ckptDSN string // the checkpointing connection's
}

func (c apartConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// Connect opens a write connection with SQLite's automatic checkpoint off
// and a checkpointer that every commit wakes; closing the connection stops
// the checkpointer.
func (c apartConnector) Connect(context.Context) (driver.Conn, error) {
	ck := &checkpointer{poke: make(chan struct{}, 1), done: make(chan struct{})}
	d := &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		if _, err := conn.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
			return fmt.Errorf("sqlite: turn off the automatic checkpoint: %w", err)
		}
		conn.RegisterCommitHook(func() int {
			ck.committed()
			return 0
		})
		return nil
	}}
	conn, err := d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	ck.db = sql.OpenDB(plainConnector{c.ckptDSN})
	ck.db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	ck.cancel = cancel
	go ck.run(ctx)
	return &apartConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), ckpt: ck}, nil
}

// apartConn is a write connection with its checkpointer. The embedded
// connection keeps every optional interface database/sql looks for.
type apartConn struct {
	*sqlite3.SQLiteConn
	ckpt *checkpointer
}

// Close stops the checkpointer before the connection closes, so that the
// last connection's close checkpoints and removes the log as usual.
func (c *apartConn) Close() error {
	err := c.ckpt.stop()
	if cerr := c.SQLiteConn.Close(); cerr != nil {
		return cerr
	}
	return err
}

// checkpointer runs passive checkpoints of one write connection's file
// after its commits, at most once per wait. It halves the wait when a
// checkpoint found more than twice checkpointFrames in the log and doubles
// it when it found less than half: about checkpointFrames per checkpoint,
// as SQLite's own, at any rate of commits.
type checkpointer struct {
	db     *sql.DB
	poke   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// committed wakes the checkpointer. It never blocks: it runs inside
// SQLite's commit hook, which may call no SQLite function.
func (c *checkpointer) committed() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	wait := checkpointMinWait
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		}
		if d := time.Until(last.Add(wait)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		var busy, frames, copied int
		err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		last = time.Now()
		switch {
		case err != nil:
			// As when SQLite's own checkpoint fails: the log grows until
			// a later one succeeds, or the last connection's close.
			wait = checkpointMaxWait
		case frames > 2*checkpointFrames:
			wait = max(wait/2, checkpointMinWait)
		case frames < checkpointFrames/2:
			wait = min(wait*2, checkpointMaxWait)
		}
	}
}

func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}

// plainConnector opens connections on dsn as sql.Open would.
type plainConnector struct{ dsn string }

func (c plainConnector) Connect(context.Context) (driver.Conn, error) {
	return c.Driver().Open(c.dsn)
}

func (plainConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }
