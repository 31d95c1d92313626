// Package projections builds offerflow's read models from the event log and
// answers the queries of the HTTP layer from them.
//
// Four projectors follow the log, each an ordered group of On<Event>
// handlers (cqrs.GroupEventHandler), all fed by one durable consumer group
// of a pubsub.Subscriber over the event store that delivers batches of
// events:
//
//   - reseller view: resellers, products, templates with items, customers
//     with offer counts by status, offers with the time of every step;
//   - customer inbox: each customer's delivered offers and its badge;
//   - licenses: what accepted offers granted each customer;
//   - audit index: every offer and grant event, for histories and the feed.
//
// A batch is applied to every projector in one SQLite transaction that
// also moves each projector's checkpoint, and a projector skips events at
// or below its checkpoint, so an event is applied exactly once however
// often it is delivered. The same batched path serves the live log,
// catch-up and Rebuild, which replays the log into a scratch file and swaps
// it in. See docs/projections.md.
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// Config configures Projections. The zero value is ready to use.
type Config struct {
	// Logger receives the router's and subscribers' logs (default: none).
	Logger *slog.Logger
	// Subscriber tunes the log follower. Its ConsumerGroup and MaxBatch
	// must be unset: the group is ReadModelsConsumerGroup and the batch
	// bound is BatchSize.
	Subscriber pubsub.SubscriberConfig
	// BatchSize bounds how many events one transaction applies (default
	// 1000). A batch is whatever the log holds past the checkpoint, up to
	// this bound: one event when events trickle in, full batches while
	// catching up or under load. 1 applies every event in a transaction of
	// its own (only useful to measure that).
	BatchSize int
	// OnParked, when set, is called with ReadModelsConsumerGroup for every
	// event the read models park (a metric hooks in here).
	OnParked func(handler string)
	// CloseTimeout bounds how long Close waits for a batch in flight
	// (default 30 s).
	CloseTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Subscriber.ConsumerGroup != "" || c.Subscriber.MaxBatch != 0 {
		return errors.New("projections config: Subscriber.ConsumerGroup and MaxBatch must be unset (see BatchSize)")
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("projections config: BatchSize %d is negative", c.BatchSize)
	}
	return c.Subscriber.Validate()
}

// subscriberConfig is the subscription of the read models of prs, which
// prepares each batch for them while the one before is applied.
func (c Config) subscriberConfig(prs []*projector) pubsub.SubscriberConfig {
	sc := c.Subscriber
	sc.ConsumerGroup = ReadModelsConsumerGroup
	sc.MaxBatch = max(c.BatchSize, 1)
	sc.Prepare = preparer(prs)
	return sc
}

// Projections runs the projectors: one Watermill handler, fed batches of
// the log by a pubsub.Subscriber from the lowest projector checkpoint,
// applies each batch to every projector in one transaction.
type Projections struct {
	db         *DB
	store      eventstore.Store
	cfg        Config
	projectors []*projector
	run        *pubsub.Runner
}

// New wires the projectors over store into db. Nothing runs before Run or
// Start.
func New(db *DB, store eventstore.Store, cfg Config) (*Projections, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prs, err := projectors()
	if err != nil {
		return nil, err
	}
	db.onParked = func(p ParkedEvent) {
		cfg.Logger.Error("read models parked an event that keeps failing; they go on without it",
			"position", p.Position, "event_type", p.Type, "stream", p.Stream, "event_id", p.EventID,
			"tries", p.Tries, "err", p.Error)
		if cfg.OnParked != nil {
			cfg.OnParked(ReadModelsConsumerGroup)
		}
	}
	logger := watermill.NewSlogLogger(cfg.Logger)
	run, err := pubsub.NewRunner("projections", cfg.CloseTimeout, logger)
	if err != nil {
		return nil, err
	}
	// An event that fails, or makes a handler panic, is tried again alone
	// and, failing still, parked (see DB.apply). Any other panic unwinds
	// through the batch's transaction, which rolls it back; the Recoverer
	// then turns it into a Nack, and the batch comes again.
	if err := run.Follow(ReadModelsConsumerGroup, pubsub.TopicAll, store, checkpointStore{db: db},
		cfg.subscriberConfig(prs), db.handleMessage(prs), middleware.Recoverer); err != nil {
		return nil, fmt.Errorf("new projections: %w", err)
	}
	return &Projections{db: db, store: store, cfg: cfg, projectors: prs, run: run}, nil
}

// CatchUp applies the log, up to its head when called, to every projector
// from its checkpoint, through the same batched handler as Run, and returns
// that head. Run it while Run is not running.
func (p *Projections) CatchUp(ctx context.Context) (uint64, error) {
	head, err := p.store.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	sub, err := pubsub.NewSubscriber(p.store, checkpointStore{db: p.db}, p.cfg.subscriberConfig(p.projectors),
		watermill.NewSlogLogger(p.cfg.Logger))
	if err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	defer sub.Close()
	if _, err := drain(ctx, sub, []lane{{db: p.db, prs: p.projectors}}, head, nil); err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	return head, nil
}

// Run follows the log until ctx ends or Close is called; a backlog is
// applied in full batches. It can be called once.
func (p *Projections) Run(ctx context.Context) error { return p.run.Run(ctx) }

// Start runs Run in the background and returns once the projectors have
// caught up with the log as it was when Start was called and follow it, or
// with Run's error. Later errors of Run are logged.
func (p *Projections) Start(ctx context.Context) error {
	head, err := p.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("start projections: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		err := p.Run(ctx)
		if err != nil {
			p.cfg.Logger.ErrorContext(ctx, "projections stopped", "err", err)
		}
		errc <- err
	}()
	select {
	case <-p.run.Running():
	case err := <-errc:
		if err == nil {
			err = errors.New("projections stopped before running")
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	caught := make(chan error, 1)
	go func() { caught <- p.db.WaitFor(ctx, head) }()
	select {
	case err := <-caught:
		return err
	case err := <-errc:
		if err == nil {
			err = errors.New("projections stopped while catching up")
		}
		return err
	}
}

// Close stops following the log, waiting (up to Config.CloseTimeout) for the
// batch in flight, and returns once Run has returned. Checkpoints are
// durable: the next Run resumes after the last batch committed.
func (p *Projections) Close() error { return p.run.Close() }
