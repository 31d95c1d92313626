// Package sqlite is the embedded event store: the whole log in one SQLite
// file, written through github.com/mattn/go-sqlite3 in WAL mode by a single
// writer connection, with synchronous=FULL so that an acknowledged append
// survives a power loss. It implements eventstore.Store and passes
// eventstoretest.Run.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/sqlitefile"
)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = errors.New("event store is closed")

// Config tunes a Store. The zero value is ready to use: setDefaults fills in
// every unset field.
type Config struct {
	// Synchronous is SQLite's synchronous setting for every connection:
	// "FULL" (default) syncs the WAL on every commit, so an acknowledged
	// append survives power loss; "NORMAL" is faster but may lose the last
	// commits on power loss (never on a mere process crash); "EXTRA" also
	// syncs the directory. "OFF" is refused: it may corrupt the file.
	Synchronous string
	// BusyTimeout is how long a connection waits for a lock held by another
	// process on the same file before failing. Default 5 s.
	BusyTimeout time.Duration
	// PollInterval is how often the Store looks at the file for appends
	// made by other processes (one read of the head, however many Waits are
	// blocked), and wakes every Wait when the log grew; appends made
	// through this Store wake Wait at once. Default 1 s; several processes
	// sharing one file as nodes (serve --eventstore sqlite://) use less.
	PollInterval time.Duration
	// ReadConns is the size of the read connection pool. Default 4.
	ReadConns int
	// MaxBatch is how many queued appends the writer gathers into one
	// transaction (group commit). Default 256. 1 commits every append in a
	// transaction of its own, as a store without group commit would: the
	// benchmark's baseline.
	MaxBatch int
}

func (c *Config) setDefaults() {
	if c.Synchronous == "" {
		c.Synchronous = "FULL"
	}
	c.Synchronous = strings.ToUpper(c.Synchronous)
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.ReadConns == 0 {
		c.ReadConns = 4
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
}

// Validate reports the first setting that cannot be used.
func (c *Config) Validate() error {
	switch c.Synchronous {
	case "NORMAL", "FULL", "EXTRA":
	default:
		return fmt.Errorf("synchronous %q: want NORMAL, FULL or EXTRA", c.Synchronous)
	}
	if c.BusyTimeout < time.Millisecond {
		return fmt.Errorf("busy timeout %v: want at least 1ms", c.BusyTimeout)
	}
	if c.PollInterval < time.Millisecond {
		return fmt.Errorf("poll interval %v: want at least 1ms", c.PollInterval)
	}
	if c.ReadConns < 1 {
		return fmt.Errorf("read connections %d: want at least 1", c.ReadConns)
	}
	if c.MaxBatch < 1 {
		return fmt.Errorf("max batch %d: want at least 1", c.MaxBatch)
	}
	return nil
}

// Store is an event store in one SQLite file. It is safe for concurrent use
// by many goroutines, and several processes may open the same file.
type Store struct {
	cfg Config
	// writer has exactly one connection, used only by the writer goroutine
	// (run), which commits the queued appends in batches; its transactions
	// begin IMMEDIATE, so the stream version read in an append cannot go
	// stale before its insert even when another process writes the same
	// file.
	writer *sql.DB
	// conn is the writer connection's prepared statements; only the
	// writer goroutine touches it.
	conn *conn
	// reader serves ReadStream, ReadAll and Head; in WAL mode they never
	// block the writer nor wait for it.
	reader *sql.DB

	// head is a lower bound of the log's head: the highest position this
	// Store has committed or read. Wait trusts it to return early.
	head atomic.Uint64
	// headAt is when head was last the file's head for certain (a commit,
	// a read of the head), in nanoseconds since epoch; for headTrust
	// after it Wait does not read the file (see Wait).
	epoch     time.Time
	headAt    atomic.Int64
	headTrust time.Duration

	mu   sync.Mutex
	wake chan struct{} // closed and replaced after every commit

	// qmu guards the queue of appends waiting for the writer, and closing,
	// which refuses new ones once Close has begun.
	qmu     sync.Mutex
	qcond   *sync.Cond // signalled when the queue grows or closing is set
	queue   []*request
	closing bool
	// writerDone is closed when the writer goroutine has drained the queue
	// and returned; nil until it has started.
	writerDone chan struct{}
	stats      counters

	// pollDone is closed when the poller (poll) has returned.
	pollDone chan struct{}

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ eventstore.Store = (*Store)(nil)

// Open opens (creating if needed) the event store in the SQLite file at path,
// brings its schema up to date, and checks that WAL mode is in force. path
// must name a file: ":memory:" is refused, since the reader and writer pools
// would each see a different database.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open event store: path %q: want a plain file path", path)
	}
	s := &Store{cfg: cfg, wake: make(chan struct{}), closed: make(chan struct{}), epoch: time.Now(),
		headTrust: min(cfg.PollInterval/10, maxHeadTrust)}
	s.qcond = sync.NewCond(&s.qmu)
	var err error
	s.writer, err = sql.Open(sqlitefile.Driver, dsn(path, cfg, true))
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if err := s.init(ctx); err != nil {
		_ = s.writer.Close()
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	s.writerDone = make(chan struct{})
	go s.run()
	s.reader, err = sql.Open(sqlitefile.Driver, dsn(path, cfg, false))
	if err != nil {
		_ = s.writer.Close()
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	s.reader.SetMaxOpenConns(cfg.ReadConns)
	s.reader.SetMaxIdleConns(cfg.ReadConns)
	if _, err := s.Head(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	s.pollDone = make(chan struct{})
	go s.poll()
	return s, nil
}

// dsn builds the driver's connection string. The driver runs these pragmas on
// every new connection, which matters for synchronous and busy_timeout: they
// are per connection, not stored in the file.
func dsn(path string, cfg Config, writer bool) string {
	// Each connection keeps its prepared statements: the reads the command
	// side makes for every command (a stream, the head) are the same few
	// statements, and preparing one costs about as much as running it.
	s := sqlitefile.Settings{Synchronous: cfg.Synchronous, BusyTimeout: cfg.BusyTimeout, ForeignKeys: true, StmtCache: 16}
	if writer {
		// WAL is recorded in the file, so setting it on the writer is
		// enough; readers must not try to change the journal mode.
		s.JournalMode, s.ImmediateTx = "WAL", true
	} else {
		s.ReadOnly = true
	}
	return sqlitefile.DSN(path, s)
}

// init checks the writer connection and migrates the schema.
func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not wal", mode)
	}
	return migrate(ctx, s.writer)
}

// Close refuses new appends (ErrClosed), lets the writer commit the appends
// already queued and answer their callers, then closes both connection pools.
// A Wait in progress returns ErrClosed. Close may be called more than once;
// later calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.qmu.Lock()
		s.closing = true
		s.qcond.Broadcast()
		s.qmu.Unlock()
		if s.writerDone != nil {
			<-s.writerDone
		}
		if s.pollDone != nil {
			<-s.pollDone
		}
		errs := []error{s.writer.Close()}
		if s.reader != nil {
			errs = append(errs, s.reader.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close event store: %w", err)
		}
	})
	return s.closeErr
}

// checkOpen returns ErrClosed after Close, and ctx's error when it is done,
// so that a cancelled call fails before touching the file.
func (s *Store) checkOpen(ctx context.Context) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	return ctx.Err()
}

// Head returns the position of the last event in the file, 0 when empty. It
// reads the file, so it sees appends of other processes too.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.checkOpen(ctx); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	head, err := s.readHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("read head: %w", ctxErr(ctx, err))
	}
	s.observeFile(head)
	return head, nil
}

// KnownHead returns the highest position this Store has committed or read,
// without reading the file: a lower bound of its head, exact unless another
// process has appended since. A reader of the newest events (seal's tail)
// that holds every event up to it need not ask the file for more; Wait
// still does, so a follower that waits when it has them misses nothing.
func (s *Store) KnownHead() uint64 { return s.head.Load() }

// readHead reads the position of the last event in the file: MAX over the
// integer primary key is a single b-tree lookup. Every follower waiting at
// the head reads it once per commit (Wait's first look): through
// database/sql it cost 10.6 µs of CPU, from the driver directly 6.1
// (BenchmarkFollowerReads).
func (s *Store) readHead(ctx context.Context) (uint64, error) {
	s.stats.headReads.Add(1)
	var head int64
	err := s.onReader(ctx, "SELECT COALESCE(MAX(position), 0) FROM events", nil, func(rows driver.Rows) error {
		row := make([]driver.Value, 1)
		if err := rows.Next(row); err != nil {
			return err
		}
		var ok bool
		if head, ok = row[0].(int64); !ok {
			return fmt.Errorf("head is %T, want an integer", row[0])
		}
		return nil
	})
	return uint64(head), err
}

// observe raises the cached head to pos.
func (s *Store) observe(pos uint64) {
	for {
		cur := s.head.Load()
		if pos <= cur || s.head.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// maxHeadTrust bounds how long after the head was last the file's head a
// Wait trusts it instead of reading the file (Store.headTrust, a tenth of
// PollInterval below that).
const maxHeadTrust = 10 * time.Millisecond

// observeFile raises the cached head to pos, the file's head a moment ago
// (read from it, or committed to it: positions are taken in the file's
// write transaction, after every append of every process before it).
func (s *Store) observeFile(pos uint64) {
	s.observe(pos)
	s.headAt.Store(int64(time.Since(s.epoch)))
}

// headFresh reports whether the cached head was the file's head less than
// headTrust ago.
func (s *Store) headFresh() bool {
	return time.Since(s.epoch)-time.Duration(s.headAt.Load()) < s.headTrust
}

// committed records a successful append and wakes every Wait.
func (s *Store) committed(pos uint64) {
	// The head must be raised before the wake-up, so that a woken Wait
	// finds it without reading the file.
	s.observeFile(pos)
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Store) wakeChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Wait blocks until the log holds an event with position > after, ctx is
// done (returning ctx's error), or the Store is closed (ErrClosed). An append
// through this Store wakes it at once; appends by other processes on the same
// file are noticed by the poller within Config.PollInterval, or at once
// when the file was last looked at more than a tenth of PollInterval (at
// most 10 ms) before the call.
func (s *Store) Wait(ctx context.Context, after uint64) error {
	readFile := true
	for {
		// Take the wake channel before looking at the head: an append (or
		// the poller's finding) that lands after the look closes this very
		// channel (or a later one, after this one was closed), so no
		// wake-up is missed.
		wake := s.wakeChan()
		if err := s.checkOpen(ctx); err != nil {
			return err
		}
		if s.head.Load() > after {
			return nil
		}
		// The first look reads the file: another process may have
		// appended since the cached head was last raised. Unless it was
		// the file's head a moment ago: the followers woken by a commit
		// all come back to wait within milliseconds of it, and each read
		// the head once per commit (issue 7: at 100 offers/s, half of
		// what following the log cost). An append by another process in
		// that moment is seen by the poller.
		if readFile && s.headFresh() {
			readFile = false
		}
		if readFile {
			readFile = false
			head, err := s.Head(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("wait after %d: %w", after, err)
			}
			if head > after {
				return nil
			}
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return ErrClosed
		}
	}
}

// poll is the Store's one poller: every PollInterval it reads the file's
// head and, when another process has appended past what this Store has
// seen, wakes every Wait. One goroutine per Store rather than a timer per
// Wait keeps the cost of following other processes at one indexed read per
// interval, whatever the number of live streams and subscribers. It
// returns when the Store closes.
func (s *Store) poll() {
	defer close(s.pollDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		// An error here (the file busy past the timeout, the store
		// closing) is not the waiters' to see: the next tick tries again.
		head, err := s.readHead(ctx)
		if err != nil {
			continue
		}
		if head > s.head.Load() {
			s.committed(head)
		} else {
			s.observeFile(head)
		}
	}
}

// ctxErr prefers ctx's error when ctx is done: the driver may report an
// interrupted statement in its own words, and callers test for
// context.Canceled.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
