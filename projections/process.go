package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// Consumer groups of the process managers. They are durable identifiers:
// renaming one replays the whole log to it (harmless, as every effect is
// idempotent, but slow on a long log).
const (
	DeliveryConsumerGroup = "process.delivery"
	ExpiryConsumerGroup   = "process.expiry"
	GrantConsumerGroup    = "process.grant"
)

// ProcessConfig configures the process managers. Zero values take the
// defaults named on each field.
type ProcessConfig struct {
	// WebhookAttempts is how often a webhook notification is tried in all
	// before the delivery is recorded as failed (default 8).
	WebhookAttempts int
	// WebhookBackoff is the wait before the first retry; each further wait
	// doubles (default 1s: 1+2+...+64 s, about 2 minutes over 8 tries).
	WebhookBackoff time.Duration
	// WebhookMaxBackoff caps a single wait (default: no cap below 24h).
	WebhookMaxBackoff time.Duration
	// WebhookJitter spreads each wait by up to this fraction either way, so
	// that many failing webhooks do not retry in lockstep (default 0: the
	// waits are exact; 0.1 is a sensible production value).
	WebhookJitter float64
	// WebhookTimeout bounds one webhook call, connection to last byte
	// (default 10s).
	WebhookTimeout time.Duration
	// WebhookMaxResponseBytes is how much of a webhook's answer is read
	// before it is dropped (default 64 KiB).
	WebhookMaxResponseBytes int64
	// WebhookConcurrency bounds the webhook calls in flight (default 64).
	WebhookConcurrency int
	// MaxActiveDeliveries bounds the delivery tries under way at once; a
	// job waiting for its next try is not one of them. More wait in the
	// durable queue (default 256).
	MaxActiveDeliveries int
	// MaxActivePerCustomer bounds the delivery tries under way at once for
	// one customer, so that no customer's failing or hanging webhook takes
	// the slots that others' deliveries need (default 4).
	MaxActivePerCustomer int
	// AllowInsecure lets webhook calls reach loopback, private and
	// link-local addresses (tests and development only; serve's
	// --allow-insecure-webhooks).
	AllowInsecure bool

	// ExpiryInterval is how often due expiries are looked for (default 1s);
	// a new offer expiring sooner wakes the loop at once.
	ExpiryInterval time.Duration

	// HandlerRetries and HandlerBackoff are the Retry middleware of the log
	// handlers, for transient failures of the stores (default 5 retries from
	// 100ms, doubling). A message that still fails goes to the poison queue.
	HandlerRetries int
	HandlerBackoff time.Duration

	// Now is the clock (default time.Now, UTC).
	Now func() time.Time

	// OnWebhookAttempt, when set, is called after every webhook call with
	// its outcome: "ok", "http_error", "transport_error" or "refused"
	// (address policy). The HTTP layer counts them for /metrics.
	OnWebhookAttempt func(outcome string)
	// OnDelivery, when set, is called when a round of delivery ends:
	// "delivered", "failed", "skipped" (withdrawn or superseded meanwhile)
	// or "poisoned".
	OnDelivery func(outcome string)
	// OnExpired, when set, is called for every offer recorded as expired.
	OnExpired func()
	// OnPoisoned, when set, is called with the handler's name for every
	// message set aside in the poison queue.
	OnPoisoned func(handler string)
}

func (c *ProcessConfig) setDefaults() {
	if c.WebhookAttempts == 0 {
		c.WebhookAttempts = 8
	}
	if c.WebhookBackoff == 0 {
		c.WebhookBackoff = time.Second
	}
	if c.WebhookMaxBackoff == 0 {
		c.WebhookMaxBackoff = 24 * time.Hour
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = 10 * time.Second
	}
	if c.WebhookMaxResponseBytes == 0 {
		c.WebhookMaxResponseBytes = 64 << 10
	}
	if c.WebhookConcurrency == 0 {
		c.WebhookConcurrency = 64
	}
	if c.MaxActiveDeliveries == 0 {
		c.MaxActiveDeliveries = 256
	}
	if c.MaxActivePerCustomer == 0 {
		c.MaxActivePerCustomer = 4
	}
	if c.ExpiryInterval == 0 {
		c.ExpiryInterval = time.Second
	}
	if c.HandlerRetries == 0 {
		c.HandlerRetries = 5
	}
	if c.HandlerBackoff == 0 {
		c.HandlerBackoff = 100 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
}

// Validate reports a configuration that cannot work.
func (c ProcessConfig) Validate() error {
	switch {
	case c.WebhookAttempts < 0:
		return fmt.Errorf("process config: WebhookAttempts %d is negative", c.WebhookAttempts)
	case c.WebhookAttempts > 100:
		return fmt.Errorf("process config: WebhookAttempts %d is more than 100", c.WebhookAttempts)
	case c.WebhookBackoff < 0 || c.WebhookMaxBackoff < 0 || c.WebhookTimeout < 0 ||
		c.ExpiryInterval < 0 || c.HandlerBackoff < 0:
		return errors.New("process config: durations must not be negative")
	case c.WebhookJitter < 0 || c.WebhookJitter >= 1:
		return fmt.Errorf("process config: WebhookJitter %g is not in [0, 1)", c.WebhookJitter)
	case c.WebhookMaxResponseBytes < 0 || c.WebhookConcurrency < 0 || c.MaxActiveDeliveries < 0 ||
		c.MaxActivePerCustomer < 0 || c.HandlerRetries < 0:
		return errors.New("process config: sizes must not be negative")
	}
	return nil
}

// ProcessDeps are what the process managers work with.
type ProcessDeps struct {
	// Service makes every write; required.
	Service *command.Service
	// Store is the log the managers follow (default: the Service's store).
	Store eventstore.Store
	// DB is a SQLite database for the managers' own tables (delivery_jobs,
	// expiry_pending, process_poison) and, unless Checkpoints is set, their
	// consumer-group checkpoints. serve keeps it in a file apart from the
	// read models: its rows are work in progress (webhook tries made, jobs
	// set aside) that a replay of the log cannot restore, unlike a read
	// model.
	DB *sql.DB
	// Checkpoints keeps the consumer groups' positions (default:
	// pubsub.NewSQLCheckpoints over DB).
	Checkpoints pubsub.CheckpointStore
	// Logger receives the managers' logs (default: discarded).
	Logger *slog.Logger
}

// Processes runs the delivery, expiry and license-grant process managers:
// Watermill handlers following the log, each in its own consumer group, with
// Retry and PoisonQueue middleware, plus the delivery workers and the expiry
// loop.
type Processes struct {
	cfg    ProcessConfig
	log    *slog.Logger
	router *message.Router
	subs   []*pubsub.Subscriber
	poison *processPoisonQueue

	delivery *DeliveryManager
	expiry   *ExpiryManager
	grant    *GrantManager

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewProcesses creates the managers' tables if missing and wires their
// handlers. Nothing runs until Run.
func NewProcesses(ctx context.Context, deps ProcessDeps, cfg ProcessConfig) (*Processes, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if deps.Service == nil || deps.DB == nil {
		return nil, errors.New("new processes: Service and DB are required")
	}
	if deps.Store == nil {
		deps.Store = deps.Service.Handler().Store()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Checkpoints == nil {
		cp, err := pubsub.NewSQLCheckpoints(ctx, deps.DB)
		if err != nil {
			return nil, fmt.Errorf("new processes: %w", err)
		}
		deps.Checkpoints = cp
	}
	poison, err := newProcessPoisonQueue(ctx, deps.DB, cfg, deps.Logger, "")
	if err != nil {
		return nil, err
	}
	p := &Processes{cfg: cfg, log: deps.Logger, poison: poison, done: make(chan struct{})}
	if p.delivery, err = NewDeliveryManager(ctx, deps.Service, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}
	if p.expiry, err = NewExpiryManager(ctx, deps.Service, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}
	p.grant = NewGrantManager(deps.Service, deps.Logger)

	// Watermill's Info lines (handler started, router closing) are routine
	// here; they go to Debug so that the process log stays about offers.
	wlog := watermill.NewSlogLoggerWithLevelMapping(deps.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	p.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("new processes: %w", err)
	}
	poisonMW, err := p.poisonMiddleware()
	if err != nil {
		return nil, err
	}
	handlers := []struct {
		name, group string
		fn          message.NoPublishHandlerFunc
	}{
		{"process.delivery", DeliveryConsumerGroup, p.delivery.Handle},
		{"process.expiry", ExpiryConsumerGroup, p.expiry.Handle},
		{"process.grant", GrantConsumerGroup, p.grant.Handle},
	}
	for _, h := range handlers {
		sub, err := pubsub.NewSubscriber(deps.Store, deps.Checkpoints, pubsub.SubscriberConfig{ConsumerGroup: h.group}, wlog)
		if err != nil {
			p.closeSubscribers()
			return nil, fmt.Errorf("new processes: %w", err)
		}
		p.subs = append(p.subs, sub)
		rh := p.router.AddConsumerHandler(h.name, "offer", sub, h.fn)
		// Poison outside Retry: a message is set aside only after its retries.
		rh.AddMiddleware(poisonMW, handlerRetry(p.cfg))
	}
	return p, nil
}

// Delivery returns the delivery manager.
func (p *Processes) Delivery() *DeliveryManager { return p.delivery }

// Expiry returns the expiry manager.
func (p *Processes) Expiry() *ExpiryManager { return p.expiry }

// Grant returns the license-grant manager.
func (p *Processes) Grant() *GrantManager { return p.grant }

// Run runs the handlers, the delivery workers and the expiry loop until ctx
// is done or Close is called. It may be called once, and not after Close.
func (p *Processes) Run(ctx context.Context) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return errors.New("processes: closed")
	case p.started:
		p.mu.Unlock()
		return errors.New("processes: Run called twice")
	}
	p.started = true
	ctx, p.cancel = context.WithCancel(ctx)
	p.mu.Unlock()
	defer close(p.done)
	defer p.cancel()

	var wg sync.WaitGroup
	wg.Go(func() { p.delivery.run(ctx) })
	wg.Go(func() { p.expiry.run(ctx) })
	err := p.router.Run(ctx)
	// A Subscribe that reads its checkpoint fails with the context: the
	// router's error then only says that Run was stopped while starting.
	stopped := ctx.Err() != nil
	p.cancel()
	wg.Wait()
	if err != nil && !stopped {
		return fmt.Errorf("processes: %w", err)
	}
	return nil
}

// Running is closed once the handlers subscribed to the log.
func (p *Processes) Running() <-chan struct{} { return p.router.Running() }

// Close stops Run, waits for it, and releases the subscribers. Deliveries in
// flight stop where they are and resume from the durable queue on the next
// start. Processes that never ran close at once. It is safe to call more
// than once.
func (p *Processes) Close() error {
	p.mu.Lock()
	started, cancel := p.started, p.cancel
	p.closed = true
	p.mu.Unlock()
	if !started {
		// The router never ran, and Router.Close would wait its whole
		// CloseTimeout for handlers that were added but never started.
		p.closeSubscribers()
		return nil
	}
	cancel()
	<-p.done
	var err error
	// A router whose Run failed to subscribe every handler (its context
	// ended meanwhile) never ran: Router.Close would wait its whole
	// CloseTimeout for the handlers that never started, and fail. Those
	// that did start stopped with the router's context.
	if p.router.IsRunning() {
		err = p.router.Close()
	}
	p.closeSubscribers()
	if err != nil {
		return fmt.Errorf("close processes: %w", err)
	}
	return nil
}

func (p *Processes) closeSubscribers() {
	for _, s := range p.subs {
		_ = s.Close() // Subscriber.Close never fails
	}
}

// Poisoned lists the messages set aside in the poison queue, newest first.
func (p *Processes) Poisoned(ctx context.Context, limit int) ([]PoisonedMessage, error) {
	return p.poison.list(ctx, limit)
}

// handlerRetry is the Retry middleware of the log handlers and of a
// delivery try: a handful of quick retries for a busy or briefly
// unavailable store. Errors marked permanent (undecodable events) are not
// retried.
func handlerRetry(cfg ProcessConfig) message.HandlerMiddleware {
	return processRetry(middleware.Retry{
		MaxRetries:      cfg.HandlerRetries,
		InitialInterval: cfg.HandlerBackoff,
		MaxInterval:     time.Minute,
		Multiplier:      2,
	})
}

// poisonMiddleware sets a message that kept failing aside in the durable
// poison table, so that the handler can move on; an error caused by
// shutting down is not poison (the message comes again after a restart).
func (p *Processes) poisonMiddleware() (message.HandlerMiddleware, error) {
	mw, err := middleware.PoisonQueueWithFilter(p.poison, processPoisonTopic, func(err error) bool {
		return !errors.Is(err, context.Canceled)
	})
	if err != nil {
		return nil, fmt.Errorf("poison queue: %w", err)
	}
	return mw, nil
}
