package projections

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// PastConfig configures Past. The zero value is ready to use.
type PastConfig struct {
	// MaxEvents bounds the events one request may replay (or scan, to find
	// the position of a time) before it is refused: the cost of a past
	// query grows with its position, and one request must not occupy the
	// node for minutes (default 250,000: about ten seconds at the rate a
	// rebuild applies events).
	MaxEvents uint64
	// Cache is how many replayed read models are kept, by position, for
	// the next query at the same position (the next page of a list, the
	// other lists of one audit) or at a later one, which continues from
	// the closest kept below it (default 4).
	Cache int
	// Generation is the generation of the customers' keys the log's texts
	// are opened with (seal.Keyring.Generation; nil: one that never
	// changes). It moves on when a key is forgotten, at an erasure: a
	// replay made under an older generation may hold the erased texts, so
	// it is neither served nor continued from (see Past.Expire).
	Generation func() uint64
}

func (c *PastConfig) setDefaults() {
	if c.MaxEvents == 0 {
		c.MaxEvents = 250_000
	}
	if c.Cache <= 0 {
		c.Cache = 4
	}
	if c.Generation == nil {
		c.Generation = func() uint64 { return 0 }
	}
}

// pastTries bounds how often At replays again because keys were forgotten
// while it replayed (an erasure each time).
const pastTries = 3

// pastPage is how many events a replay reads and applies at a time.
const pastPage = 1000

// Past answers the read models' queries as they stood at an earlier
// position of the log: it replays the log from its start up to that
// position into a scratch database of its own, through the same batched
// apply (every projector, one transaction per batch) as the live read
// models and a rebuild, so a past read model is the live one's code run on
// a prefix of the log. Replays run one at a time; what they built is kept
// by position (PastConfig.Cache) and removed on Close.
type Past struct {
	store eventstore.Store
	dir   string
	cfg   PastConfig
	lock  *scratchLock // on dir, released by Close

	build sync.Mutex // held by the one replay in progress

	mu      sync.Mutex // guards what follows
	entries []*pastEntry
	seq     int
	closed  bool
}

// pastEntry is one replayed read model. refs counts the queries reading it;
// a dropped entry (evicted, or taken to be replayed further) is closed when
// the last of them releases it.
type pastEntry struct {
	position uint64
	gen      uint64 // the keys' generation the replay opened texts under
	db       *DB
	refs     int
	dropped  bool
	used     time.Time
}

// NewPast returns a Past that replays store into scratch files in dir,
// which it creates; dir should be private to it (Close removes it). A dir
// a killed process left is removed first; one another live Past holds is
// an error (ErrScratchInUse). dir stays locked until Close, so that the
// other processes' RemoveScratch leave it alone while it exists and remove
// it once this process is gone, however it ends.
func NewPast(store eventstore.Store, dir string, cfg PastConfig) (*Past, error) {
	cfg.setDefaults()
	if _, err := RemoveScratch(dir); err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	lock, err := lockScratchDir(dir)
	if err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	return &Past{store: store, dir: dir, cfg: cfg, lock: lock}, nil
}

// At returns the read models as they stood once the log held every event up
// to position (0: before the first event, so empty), and a release function
// to call once the caller's queries are done. A position beyond the log's
// head is invalid (field as_of), as is one that would take replaying more
// than PastConfig.MaxEvents events.
func (p *Past) At(ctx context.Context, position uint64) (*DB, func(), error) {
	head, err := p.store.Head(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read models as of %d: %w", position, err)
	}
	if position > head {
		return nil, nil, domain.Invalid("as_of", "as_of %d lies beyond the log's head, position %d", position, head)
	}
	if e := p.hold(position); e != nil {
		return e.db, p.releaser(e), nil
	}
	p.build.Lock()
	defer p.build.Unlock()
	for range pastTries {
		// Another request may have built it while this one waited.
		if e := p.hold(position); e != nil {
			return e.db, p.releaser(e), nil
		}
		// Taken before anything is read: a key forgotten meanwhile makes
		// this replay one that may hold an erased text.
		gen := p.cfg.Generation()
		db, err := p.base(ctx, position, gen)
		if err != nil {
			return nil, nil, err
		}
		if err := p.replay(ctx, db, position); err != nil {
			return nil, nil, errors.Join(err, p.discard(db))
		}
		if p.cfg.Generation() != gen {
			// Texts opened before the forgetting may be in it: replayed
			// again from the start under the keys as they are now.
			if err := p.discard(db); err != nil {
				return nil, nil, fmt.Errorf("past read models: %w", err)
			}
			continue
		}
		e, err := p.keep(position, gen, db)
		if err != nil {
			return nil, nil, err
		}
		return e.db, p.releaser(e), nil
	}
	return nil, nil, fmt.Errorf("read models as of %d: customers' keys were forgotten (erasures) during each of %d replays", position, pastTries)
}

// PositionAt returns the position the log had reached at time t: that of
// the last event of the longest prefix of the log whose events all
// occurred at or before t (0 when the first event is later). Events are
// stamped by the clock of the node that appended them, so the log's times
// may step back a little where nodes' clocks differ; a prefix keeps the
// answer a state the log actually passed through. Scanning more than
// PastConfig.MaxEvents events is refused (field as_of).
func (p *Past) PositionAt(ctx context.Context, t time.Time) (uint64, error) {
	var (
		at      uint64
		scanned uint64
	)
	for {
		evs, err := p.store.ReadAll(ctx, at, pastPage)
		if err != nil {
			return 0, fmt.Errorf("read models as of %s: read log after %d: %w", t.Format(time.RFC3339), at, err)
		}
		for _, e := range evs {
			if e.Metadata.OccurredAt.After(t) {
				return at, nil
			}
			if scanned++; scanned > p.cfg.MaxEvents {
				return 0, p.tooCostly()
			}
			at = e.Position
		}
		if len(evs) < pastPage {
			return at, nil
		}
	}
}

func (p *Past) tooCostly() error {
	return domain.Invalid("as_of", "as_of lies more than %d events into the log, more than one request may replay", p.cfg.MaxEvents)
}

// hold returns the kept entry at position, counting the caller as its
// reader, or nil. Entries made under an older generation of the keys are
// dropped first.
func (p *Past) hold(position uint64) *pastEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Nothing reports the error to: the file is scratch, and the next
	// Close or start removes the directory.
	_ = p.expire()
	for _, e := range p.entries {
		if e.position == position {
			e.refs++
			e.used = time.Now()
			return e
		}
	}
	return nil
}

// base returns the database to replay up to position: the kept entry
// closest below it that nobody reads and that was made under the keys'
// generation gen (taken out of the cache, as it will move on), or a new
// empty one.
func (p *Past) base(ctx context.Context, position, gen uint64) (*DB, error) {
	p.mu.Lock()
	best := -1
	for i, e := range p.entries {
		if e.position < position && e.refs == 0 && e.gen == gen && (best < 0 || e.position > p.entries[best].position) {
			best = i
		}
	}
	if best >= 0 {
		e := p.entries[best]
		p.entries = append(p.entries[:best], p.entries[best+1:]...)
		p.mu.Unlock()
		return e.db, nil
	}
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("past read models: closed")
	}
	p.seq++
	path := filepath.Join(p.dir, "asof-"+strconv.Itoa(p.seq)+".db")
	p.mu.Unlock()
	if err := removeDBFiles(path); err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	// Made 0600 here, not by SQLite with the umask: it holds the texts
	// opened. The directory's lock (NewPast) covers it.
	if err := createEmptyPrivate(path); err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	return openDB(ctx, path, true)
}

// replay applies the log after db's checkpoints up to position to db, a
// page at a time, through the live read models' apply (an event that keeps
// failing is parked in db, as the live read models would park it).
func (p *Past) replay(ctx context.Context, db *DB, position uint64) error {
	prs, err := projectors()
	if err != nil {
		return err
	}
	at, _ := db.marks.min(ProjectorNames())
	var n uint64
	for at < position {
		evs, err := p.store.ReadAll(ctx, at, pastPage)
		if err != nil {
			return fmt.Errorf("read models as of %d: read log after %d: %w", position, at, err)
		}
		k := 0
		for k < len(evs) && evs[k].Position <= position {
			k++
		}
		if k == 0 {
			return nil // no more events up to position
		}
		if n += uint64(k); n > p.cfg.MaxEvents {
			return p.tooCostly()
		}
		if err := db.apply(ctx, prs, evs[:k]); err != nil {
			return fmt.Errorf("read models as of %d: %w", position, err)
		}
		at = evs[k-1].Position
	}
	return nil
}

// keep adds db, replayed up to position, to the cache, dropping the least
// recently used entries beyond PastConfig.Cache, and returns its entry held
// for the caller.
func (p *Past) keep(position, gen uint64, db *DB) (*pastEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.Join(errors.New("past read models: closed"), p.discard(db))
	}
	e := &pastEntry{position: position, gen: gen, db: db, refs: 1, used: time.Now()}
	p.entries = append(p.entries, e)
	var errs []error
	for len(p.entries) > p.cfg.Cache {
		oldest := 0
		for i, x := range p.entries {
			if x.used.Before(p.entries[oldest].used) {
				oldest = i
			}
		}
		x := p.entries[oldest]
		p.entries = append(p.entries[:oldest], p.entries[oldest+1:]...)
		errs = append(errs, p.drop(x))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("past read models: %w", err)
	}
	return e, nil
}

// drop marks e dropped and discards its database unless someone still
// reads it (then the last release does). p.mu must be held.
func (p *Past) drop(e *pastEntry) error {
	e.dropped = true
	if e.refs > 0 {
		return nil
	}
	return p.discard(e.db)
}

// releaser returns the function that ends the caller's hold on e.
func (p *Past) releaser(e *pastEntry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			e.refs--
			if e.refs == 0 && e.dropped {
				// Nothing reports the error to: the file is scratch, and the
				// next Close or start removes the directory.
				_ = p.discard(e.db)
			}
		})
	}
}

// Expire drops every kept read model made under an older generation of the
// customers' keys (PastConfig.Generation), removing its files at once, or
// once its last reader is done: after an erasure, the scratch files keep
// none of the erased texts (see seal.Keyring.OnForget), where they would
// otherwise stay until the next past query or Close.
func (p *Past) Expire() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.expire(); err != nil {
		return fmt.Errorf("past read models: %w", err)
	}
	return nil
}

// expire is Expire with p.mu held.
func (p *Past) expire() error {
	gen := p.cfg.Generation()
	var errs []error
	kept := p.entries[:0]
	for _, e := range p.entries {
		if e.gen == gen {
			kept = append(kept, e)
			continue
		}
		errs = append(errs, p.drop(e))
	}
	clear(p.entries[len(kept):])
	p.entries = kept
	return errors.Join(errs...)
}

// discard closes db and removes its files.
func (p *Past) discard(db *DB) error {
	return errors.Join(db.Close(), removeDBFiles(db.path))
}

// Close discards every kept read model (those still read, once released)
// and removes the directory once it is empty.
func (p *Past) Close() error {
	p.build.Lock()
	defer p.build.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for _, e := range p.entries {
		errs = append(errs, p.drop(e))
	}
	p.entries = nil
	if err := os.Remove(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A directory still holding files in use is left to the next start
		// (RemoveScratch, once the lock is released below); anything else
		// is reported.
		if left, _ := os.ReadDir(p.dir); len(left) == 0 {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, p.lock.Close())...)
}
