// Package projections builds offerflow's read models from the event log and
// answers the queries of the HTTP layer from them.
//
// Four projectors follow the log, each one ordered Watermill handler group
// (cqrs.EventGroupProcessor with On<Event> methods) fed by its own durable
// consumer group of a pubsub.Subscriber over the event store:
//
//   - reseller view: resellers, products, templates with items, customers
//     with offer counts by status, offers with the time of every step;
//   - customer inbox: each customer's delivered offers and its badge;
//   - licenses: what accepted offers granted each customer;
//   - audit index: every offer and grant event, for histories and the feed.
//
// Each projector writes its read model and its checkpoint in one SQLite
// transaction and skips events at or below its checkpoint, so an event is
// applied exactly once however often it is delivered. Read models are
// disposable: Rebuild drops them and replays the log through the same
// handlers. See docs/projections.md.
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// Config configures Projections. The zero value is ready to use.
type Config struct {
	// Logger receives the router's and subscribers' logs (default: none).
	Logger *slog.Logger
	// Subscriber tunes the log followers. Its ConsumerGroup must be empty:
	// each projector's group is its name.
	Subscriber pubsub.SubscriberConfig
	// BatchSize is how many events one transaction applies while catching
	// up at start (default 500). Live events are applied one by one. A
	// negative BatchSize skips the catch-up, leaving the whole backlog to
	// the subscribers (one event per transaction): slower, and only useful
	// to measure that path.
	BatchSize int
	// CloseTimeout bounds how long Close waits for a handler in flight
	// (default 30 s).
	CloseTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Subscriber.ConsumerGroup != "" {
		return errors.New("projections config: Subscriber.ConsumerGroup must be empty (each projector has its own)")
	}
	return c.Subscriber.Validate()
}

// Projections runs the projectors: it catches each up with the log, then
// keeps them following it through a Watermill router.
type Projections struct {
	db         *DB
	store      eventstore.Store
	cfg        Config
	router     *message.Router
	projectors []*projector
	byName     map[string]*projector

	mu          sync.Mutex
	subscribers []*pubsub.Subscriber
	running     bool // Run was called
	closed      bool
	stop        context.CancelFunc // cancels Run's context
	done        chan struct{}      // closed when Run returns
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
	logger := watermill.NewSlogLogger(cfg.Logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, logger)
	if err != nil {
		return nil, fmt.Errorf("new projections router: %w", err)
	}
	p := &Projections{db: db, store: store, cfg: cfg, router: router, projectors: prs,
		byName: map[string]*projector{}, done: make(chan struct{})}
	for _, pr := range prs {
		p.byName[pr.name] = pr
	}
	// The transaction wraps everything below it, so that a panic turned
	// into an error by the Recoverer rolls the transaction back.
	router.AddMiddleware(p.transactional, middleware.Recoverer)

	proc, err := cqrs.NewEventGroupProcessorWithConfig(router, cqrs.EventGroupProcessorConfig{
		GenerateSubscribeTopic: func(cqrs.EventGroupProcessorGenerateSubscribeTopicParams) (string, error) {
			return pubsub.TopicAll, nil
		},
		SubscriberConstructor: func(params cqrs.EventGroupProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			sc := cfg.Subscriber
			sc.ConsumerGroup = params.EventGroupName
			sub, err := pubsub.NewSubscriber(store, checkpointStore{db: db}, sc, logger)
			if err == nil {
				p.subscribers = append(p.subscribers, sub)
			}
			return sub, err
		},
		// Every projector sees every event; those it has no handler for
		// are acknowledged, not redelivered forever. (transactional already
		// moves the projector's position over them without calling the
		// group, so this is the safety net the conventions ask for.)
		AckOnUnknownEvent: true,
		Marshaler:         EventMarshaler{},
		Logger:            logger,
	})
	if err != nil {
		return nil, fmt.Errorf("new projections processor: %w", err)
	}
	for _, pr := range prs {
		if err := proc.AddHandlersGroup(pr.name, pr.handlers...); err != nil {
			return nil, fmt.Errorf("add projector %s: %w", pr.name, err)
		}
	}
	return p, nil
}

// transactional is the router middleware that applies a live message to its
// projector: in one transaction with the checkpoint, skipped when at or below
// the checkpoint, and only calling the handlers for types the projector
// takes.
func (p *Projections) transactional(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		pr := p.byName[message.HandlerNameFromCtx(msg.Context())]
		if pr == nil {
			return h(msg)
		}
		env, err := envelopeFromMessage(msg)
		if err != nil {
			return nil, err
		}
		err = p.db.applyBatch(msg.Context(), pr, []domain.AuditEvent{env}, func(ctx context.Context, _ int) error {
			msg.SetContext(ctx)
			_, err := h(msg)
			return err
		})
		return nil, err
	}
}

// CatchUp applies the log, up to its head when called, to every projector
// from its checkpoint, in transactions of Config.BatchSize events: much
// faster than one by one after downtime. It returns the head it reached (0,
// doing nothing, when Config.BatchSize is negative).
func (p *Projections) CatchUp(ctx context.Context) (uint64, error) {
	if p.cfg.BatchSize < 0 {
		return 0, nil
	}
	head, err := p.store.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	if _, err := replay(ctx, p.store, p.db, p.projectors, head, p.cfg.BatchSize, nil); err != nil {
		return 0, fmt.Errorf("catch up: %w", err)
	}
	return head, nil
}

// Run catches the projectors up, then follows the log until ctx ends or
// Close is called. It can be called once.
func (p *Projections) Run(ctx context.Context) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return errors.New("projections: closed")
	case p.running:
		p.mu.Unlock()
		return errors.New("projections: already running")
	}
	p.running = true
	ctx, p.stop = context.WithCancel(ctx)
	p.mu.Unlock()
	defer close(p.done)
	defer p.stop()
	if _, err := p.CatchUp(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // closed, or ctx ended, while catching up
		}
		return err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed || ctx.Err() != nil {
		return nil
	}
	if err := p.router.Run(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped while subscribing (a Subscribe that reads its
			// checkpoint fails with the context): a normal stop.
			return nil
		}
		return fmt.Errorf("projections router: %w", err)
	}
	return nil
}

// Start runs Run in the background and returns once the projectors have
// caught up with the log and follow it, or with Run's error. Later errors of
// Run are logged.
func (p *Projections) Start(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		err := p.Run(ctx)
		if err != nil {
			p.cfg.Logger.ErrorContext(ctx, "projections stopped", "err", err)
		}
		errc <- err
	}()
	select {
	case <-p.router.Running():
		return nil
	case err := <-errc:
		if err == nil {
			err = errors.New("projections stopped before running")
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops following the log, waiting (up to Config.CloseTimeout) for the
// event in flight, and returns once Run has returned. Checkpoints are durable:
// the next Run resumes after the last event applied.
func (p *Projections) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	running, stop := p.running, p.stop
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	if running {
		// Run either gets the router running or returns: stopped during
		// the catch-up, or while the router subscribed.
		select {
		case <-p.router.Running():
		case <-p.done:
		}
	}
	var err error
	if p.router.IsRunning() {
		err = p.router.Close()
	} else {
		// The router never ran, or failed to subscribe all its handlers
		// (typically because Run's context ended meanwhile). Router.Close
		// would then wait its whole CloseTimeout for the handlers that never
		// started, and fail; those that did start stopped with the router's
		// context. The subscribers hold nothing else.
		var errs []error
		for _, s := range p.subscribers {
			errs = append(errs, s.Close())
		}
		err = errors.Join(errs...)
	}
	if running {
		<-p.done
	}
	return err
}
