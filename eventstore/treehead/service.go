package treehead

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/merkle"
)

// Stream is the stream that keeps the signed tree heads, one event each.
const Stream = "treeheads"

// TypeSigned is the type of the event that records a signed tree head; its
// data is the head as the API serves it.
const TypeSigned = "tree_head.signed"

// Config holds a Service's dependencies.
type Config struct {
	Store eventstore.Store // required
	Key   *Key             // required
	// StoredHashes builds the tree from the hashes stored in the events'
	// envelopes instead of recomputing them (see merkle.Log): for serve,
	// which wrote them, and whose start-up it makes several times faster.
	StoredHashes bool
	// Witness, when set, is the witness file the service extends as the
	// log grows (see merkle.Witness).
	Witness string
	// Now is the clock of head timestamps; time.Now by default.
	Now func() time.Time
	// Logger receives what the service finds wrong with the log.
	Logger *slog.Logger
	// OnProblem, when set, is called once for each problem found (a
	// metric).
	OnProblem func()
}

// Service keeps the Merkle tree over the log up to date, signs heads, keeps
// them in Stream and answers proofs.
//
// The tree is not stored: New computes it from the whole log, and every
// call after that reads only the events appended since.
type Service struct {
	cfg     Config
	log     *merkle.Log
	witness *merkle.Witness

	// mu serialises syncing and signing; the fields below it are filled in
	// by onEvent under it.
	mu     sync.Mutex
	closed bool
	// done is closed by Close, which ends Follow.
	done chan struct{}
	// last is the newest head this key signed that the log records.
	last *domain.TreeHead
	// covered is the size of the tree up to and including the newest event
	// that is not a recorded head: a head of that size or more is current.
	covered uint64
	// version is the version of Stream's last event.
	version uint64
	// problems are the recorded heads the log no longer extends, and a
	// witness mismatch.
	problems []error
	// short is set once the log was found to hold fewer events than the
	// witness recorded (reported once).
	short bool
}

// New computes the tree over cfg.Store's whole log (progress, when not nil,
// is told the leaves so far) and returns the service. Problems reports
// what it found wrong.
func New(ctx context.Context, cfg Config, progress func(leaves uint64)) (*Service, error) {
	if cfg.Store == nil || cfg.Key == nil {
		return nil, errors.New("treehead: Store and Key are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, done: make(chan struct{})}
	if cfg.Witness != "" {
		w, err := merkle.OpenWitness(cfg.Witness)
		if err != nil {
			return nil, err
		}
		s.witness = w
	}
	s.log = merkle.NewLog(cfg.Store, !cfg.StoredHashes, s.onEvent)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.sync(ctx, progress); err != nil {
		// Not Close, which takes mu, held here.
		if s.witness != nil {
			_ = s.witness.Close()
		}
		return nil, err
	}
	return s, nil
}

// onEvent sees each event as it joins the tree (under mu, from sync).
func (s *Service) onEvent(e eventstore.Event, leaf merkle.Leaf) error {
	if s.witness != nil {
		m, err := s.witness.Observe(leaf)
		if err != nil {
			// The witness only helps to locate tampering; failing to keep
			// it must not stop the tree.
			s.dropWitness(err)
		}
		if m != nil && leaf.Index == m.Index {
			s.problem(fmt.Errorf("the log differs from this node's witness (the witness file is kept unchanged as evidence): %w", m))
		}
	}
	if e.Stream != Stream {
		s.covered = leaf.Index + 1
		return nil
	}
	s.version = e.Version
	var h domain.TreeHead
	if err := json.Unmarshal(e.Data, &h); err != nil {
		s.problem(fmt.Errorf("tree head at position %d cannot be read: %w", e.Position, err))
		return nil
	}
	if err := Extends(s.log.Tree(), h); err != nil {
		s.problem(fmt.Errorf("the log no longer extends the tree head it records at position %d: %w", e.Position, err))
		return nil
	}
	if h.KeyID == s.cfg.Key.ID() {
		s.last = &h
	}
	return nil
}

func (s *Service) problem(err error) {
	s.cfg.Logger.Error("tamper evidence", "err", err)
	s.problems = append(s.problems, err)
	if s.cfg.OnProblem != nil {
		s.cfg.OnProblem()
	}
}

// sync brings the tree up to the log's head; the caller holds mu.
func (s *Service) sync(ctx context.Context, progress func(uint64)) (uint64, error) {
	if s.closed {
		return 0, errClosed
	}
	size, err := s.log.Sync(ctx, progress)
	if s.witness != nil {
		if ferr := s.witness.Flush(); ferr != nil {
			s.dropWitness(ferr)
		}
	}
	// The witness records only events this node (or another process on
	// its data directory) read from the log, so a log that holds fewer
	// lost its last ones: no leaf of it differs from the witness, yet the
	// tail the witness saw is gone. The tree of a running node only grows,
	// so this shows at the next start, or in `offerflow head`.
	if err == nil && s.witness != nil && !s.short {
		if n := s.witness.Len(); n > size {
			s.short = true
			s.problem(fmt.Errorf("the log holds %d events, this node's witness recorded %d: the events from leaf %d on were removed (the witness file is kept unchanged as evidence): %w",
				size, n, size, ErrNotExtended))
		}
	}
	return size, err
}

// dropWitness stops keeping the witness after err; the caller holds mu.
func (s *Service) dropWitness(err error) {
	s.problem(fmt.Errorf("witness file no longer kept: %w", err))
	_ = s.witness.Close()
	s.witness = nil
}

// Problems returns what the service found wrong with the log so far.
func (s *Service) Problems() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.problems...)
}

// Key returns the public key that verifies the heads.
func (s *Service) Key() domain.TreeKey { return s.cfg.Key.Public() }

// Sign returns a head over the whole log as it is now, without recording
// it (offerflow head).
func (s *Service) Sign(ctx context.Context) (domain.TreeHead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size, err := s.sync(ctx, nil)
	if err != nil {
		return domain.TreeHead{}, err
	}
	return s.sign(size)
}

func (s *Service) sign(size uint64) (domain.TreeHead, error) {
	root, err := s.log.Tree().Root(size)
	if err != nil {
		return domain.TreeHead{}, err
	}
	return s.cfg.Key.Sign(size, root, s.cfg.Now()), nil
}

// Head returns the current signed head: the newest one this key recorded
// when nothing but heads was appended since, or else a new head over the
// whole log, which it records in Stream first (unless the log is empty).
func (s *Service) Head(ctx context.Context) (domain.TreeHead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		size, err := s.sync(ctx, nil)
		if err != nil {
			return domain.TreeHead{}, err
		}
		if s.last != nil && s.last.Size >= s.covered {
			return *s.last, nil
		}
		h, err := s.sign(size)
		if err != nil || size == 0 {
			// An empty log has nothing to protect, and recording the head
			// would make it non-empty (which import refuses).
			return h, err
		}
		err = s.record(ctx, h)
		if errors.Is(err, eventstore.ErrWrongVersion) && attempt < 5 {
			continue // another node recorded a head: read it and decide again
		}
		if err != nil {
			return domain.TreeHead{}, err
		}
		s.last = &h
		return h, nil
	}
}

// record appends h to Stream.
func (s *Service) record(ctx context.Context, h domain.TreeHead) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode tree head: %w", err)
	}
	_, err = s.cfg.Store.Append(ctx, Stream, s.version, eventstore.NewEvent{
		ID: uuid.Must(uuid.NewV7()).String(), Type: TypeSigned, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{Actor: domain.SystemActor("treehead"),
			OccurredAt: h.Timestamp},
	})
	if err != nil {
		return fmt.Errorf("record tree head of size %d: %w", h.Size, err)
	}
	return nil
}

// Run signs and records a head every interval while the log grows, until
// ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := s.Head(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("sign tree head", "err", err)
			}
		}
	}
}

// Follow keeps the tree, and with it the witness, up with the log until
// ctx ends: it syncs once the log holds events the tree lacks, at most once
// every pause, so that the witness records each event within about pause
// of its append rather than at the next head. A log that later loses its
// last events then still differs from the witness (verify, the next
// start). It returns ctx's error, or nil once the service is closed.
func (s *Service) Follow(ctx context.Context, pause time.Duration) error {
	// Close ends it too, also while it waits for the log.
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-s.done:
			stop()
		case <-fctx.Done():
		}
	}()
	for {
		size, err := s.synced(fctx)
		if err != nil && fctx.Err() == nil && !errors.Is(err, errClosed) {
			s.cfg.Logger.Error("follow the log into the tree", "err", err)
		}
		if err == nil {
			var last uint64
			if size > 0 {
				last, _ = s.log.Position(size - 1)
			}
			err = s.cfg.Store.Wait(fctx, last)
		}
		if errors.Is(err, errClosed) {
			return nil
		}
		select {
		case <-fctx.Done():
			// ctx's end, or Close.
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Consistency returns the consistency proof between the trees of sizes
// from and to, 1 <= from <= to <= the log's size; other sizes are invalid.
func (s *Service) Consistency(ctx context.Context, from, to uint64) ([]string, error) {
	size, err := s.synced(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case from < 1:
		return nil, domain.Invalid("from", "from must be at least 1")
	case to > size:
		return nil, domain.Invalid("to", "to must be at most the log's size, %d", size)
	case from > to:
		return nil, domain.Invalid("from", "from must be at most to")
	}
	p, err := s.log.Tree().Consistency(from, to)
	if err != nil {
		return nil, err
	}
	return hexAll(p), nil
}

// Inclusion returns the root of the tree of the given size and the
// inclusion proof of each of events in it; events beyond that tree are
// left out. A size of 0 or beyond the log is invalid.
func (s *Service) Inclusion(ctx context.Context, size uint64, events []domain.Envelope) (string, []domain.LeafProof, error) {
	n, err := s.synced(ctx)
	if err != nil {
		return "", nil, err
	}
	if size < 1 || size > n {
		return "", nil, domain.Invalid("size", "size must be between 1 and the log's size, %d", n)
	}
	root, err := s.log.Tree().Root(size)
	if err != nil {
		return "", nil, err
	}
	out := []domain.LeafProof{}
	for _, e := range events {
		i, ok := s.log.LeafIndex(e.Position)
		if !ok || i >= size {
			continue
		}
		p, err := s.log.Tree().Inclusion(i, size)
		if err != nil {
			return "", nil, err
		}
		out = append(out, domain.LeafProof{Position: e.Position, Stream: e.Stream, Version: e.Version, Hash: e.Hash, LeafIndex: i, Proof: hexAll(p)})
	}
	return hex.EncodeToString(root), out, nil
}

func (s *Service) synced(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync(ctx, nil)
}

func hexAll(p [][]byte) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// errClosed is what the service answers once closed: a background signer
// that outlives Close must not write to the closed witness file.
var errClosed = errors.New("tree head service closed")

// Close closes the witness file. It waits for a sync under way, since the
// periodic signer may still be running when the node shuts down.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	if s.witness != nil {
		return s.witness.Close()
	}
	return nil
}
