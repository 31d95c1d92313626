// Package process holds offerflow's process managers: delivery (offers into
// customers' inboxes, with signed webhook notifications retried with
// backoff), expiry, license grant, campaigns (each campaign's offers),
// revision (the successor of a revised offer) and reminder (of an
// approaching expiry). Each follows the offers' streams in
// batches through a pubsub.Subscriber of its own consumer group and turns
// facts in the log into further facts, through commands with deterministic
// event ids, so that a redelivered event never has a second effect. Their
// own state (delivery queue, pending expiries, poison queue, checkpoints)
// is kept in a database apart from the read models. See docs/delivery.md.
package process

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

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
	RevisionConsumerGroup = "process.revision"
	ReminderConsumerGroup = "process.reminder"
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
	// WebhookConcurrency bounds the webhook calls in flight (default:
	// MaxActiveDeliveries, so that no try waits for a call while it holds a
	// delivery slot that another customer's delivery needs).
	WebhookConcurrency int
	// MaxActiveDeliveries bounds the delivery tries under way at once; a
	// job waiting for its next try is not one of them. More wait in the
	// durable queue (default 256).
	MaxActiveDeliveries int
	// MaxActivePerCustomer bounds the webhook calls in flight at once for
	// one customer, and the delivery tries under way at once for a customer
	// that has (or may have) a webhook, so that no customer's failing or
	// hanging webhook takes the slots that others' deliveries need (default
	// 4). A customer whose webhook was unset at its latest try has its
	// deliveries (appends to the log) started beyond it, within
	// MaxActiveDeliveries.
	MaxActivePerCustomer int
	// MaxActivePerReseller bounds the delivery tries under way at once for
	// the customers of one reseller, so that a campaign to a thousand
	// customers whose webhooks hang cannot take the slots other resellers'
	// deliveries need (default: half of MaxActiveDeliveries, at least 1).
	MaxActivePerReseller int
	// AllowInsecure lets webhook calls reach loopback, private and
	// link-local addresses (tests and development only; serve's
	// --allow-insecure-webhooks).
	AllowInsecure bool

	// ExpiryInterval is how often due expiries (and reminders) are looked
	// for (default 1s); a new offer expiring sooner wakes the loop at once.
	ExpiryInterval time.Duration

	// ReminderBefore is the reminder window: an undecided offer is reminded
	// of its expiry, once, when less than this is left (default 72h;
	// serve's --reminder-before).
	ReminderBefore time.Duration

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
	if c.MaxActiveDeliveries == 0 {
		c.MaxActiveDeliveries = 256
	}
	if c.WebhookConcurrency == 0 {
		c.WebhookConcurrency = c.MaxActiveDeliveries
	}
	if c.MaxActivePerCustomer == 0 {
		c.MaxActivePerCustomer = 4
	}
	if c.MaxActivePerReseller == 0 {
		c.MaxActivePerReseller = max(c.MaxActiveDeliveries/2, 1)
	}
	if c.ExpiryInterval == 0 {
		c.ExpiryInterval = time.Second
	}
	if c.ReminderBefore == 0 {
		c.ReminderBefore = 72 * time.Hour
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
		c.ExpiryInterval < 0 || c.HandlerBackoff < 0 || c.ReminderBefore < 0:
		return errors.New("process config: durations must not be negative")
	case c.WebhookJitter < 0 || c.WebhookJitter >= 1:
		return fmt.Errorf("process config: WebhookJitter %g is not in [0, 1)", c.WebhookJitter)
	case c.WebhookMaxResponseBytes < 0 || c.WebhookConcurrency < 0 || c.MaxActiveDeliveries < 0 ||
		c.MaxActivePerCustomer < 0 || c.MaxActivePerReseller < 0 || c.HandlerRetries < 0:
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

// Processes runs the delivery, expiry, license-grant, revision and reminder
// process managers: Watermill handlers following the log in batches, each
// in its own consumer group, plus the delivery workers and the expiry and
// reminder loops, on one router runner.
type Processes struct {
	cfg    ProcessConfig
	log    *slog.Logger
	db     *sql.DB
	run    *pubsub.Runner
	poison *processPoisonQueue
	// checkpoints is set when the groups' checkpoints live in db, so that
	// a batch's writes and its checkpoint commit together.
	checkpoints *pubsub.SQLCheckpoints

	delivery *DeliveryManager
	expiry   *ExpiryManager
	grant    *reaction
	campaign *CampaignManager
	revision *reaction
	reminder *ReminderManager
}

// processTopic is what the managers follow: the offers' streams; the
// campaign process follows campaignTopic, the campaigns' streams.
const (
	processTopic  = "offer"
	campaignTopic = "campaign"
)

// processBatch bounds the events one message of the managers carries.
const processBatch = 256

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
	p := &Processes{cfg: cfg, log: deps.Logger, db: deps.DB}
	if deps.Checkpoints == nil {
		cp, err := pubsub.NewSQLCheckpoints(ctx, deps.DB)
		if err != nil {
			return nil, fmt.Errorf("new processes: %w", err)
		}
		deps.Checkpoints, p.checkpoints = cp, cp
	}
	var err error
	if p.poison, err = newProcessPoisonQueue(ctx, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}
	if p.delivery, err = NewDeliveryManager(ctx, deps.Service, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}
	if p.expiry, err = NewExpiryManager(ctx, deps.Service, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}
	p.grant = newGrantManager(deps.Service, deps.Logger)
	p.campaign = NewCampaignManager(deps.Service, deps.Logger)
	p.revision = newRevisionManager(deps.Service, deps.Logger)
	if p.reminder, err = NewReminderManager(ctx, deps.Service, deps.DB, cfg, deps.Logger); err != nil {
		return nil, err
	}

	// Watermill's Info lines (handler started, router closing) are routine
	// here; they go to Debug so that the process log stays about offers.
	wlog := watermill.NewSlogLoggerWithLevelMapping(deps.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	if p.run, err = pubsub.NewRunner("processes", 15*time.Second, wlog); err != nil {
		return nil, err
	}
	p.run.Loop(p.delivery.run)
	p.run.Loop(p.expiry.run)
	p.run.Loop(p.reminder.run)
	handlers := []struct {
		name, group, topic string
		fn                 func(context.Context, eventstore.Event) error
		// inTx: the handler writes only to the managers' database. The
		// grant manager writes to the log, which no SQLite transaction
		// of ours can span, and must not hold the managers' one
		// connection while it appends.
		inTx bool
	}{
		{"process.delivery", DeliveryConsumerGroup, processTopic, p.delivery.Handle, true},
		{"process.expiry", ExpiryConsumerGroup, processTopic, p.expiry.Handle, true},
		{"process.grant", GrantConsumerGroup, processTopic, p.grant.Handle, false},
		// The campaign process follows the campaigns' streams and writes
		// offers to the log, like the grant manager.
		{"process.campaign", CampaignConsumerGroup, campaignTopic, p.campaign.Handle, false},
		{"process.revision", RevisionConsumerGroup, processTopic, p.revision.Handle, false},
		{"process.reminder", ReminderConsumerGroup, processTopic, p.reminder.Handle, true},
	}
	for _, h := range handlers {
		sc := pubsub.SubscriberConfig{ConsumerGroup: h.group, MaxBatch: processBatch}
		if err := p.run.Follow(h.name, h.topic, deps.Store, deps.Checkpoints, sc,
			p.handler(h.name, h.group, h.fn, h.inTx)); err != nil {
			return nil, errors.Join(fmt.Errorf("new processes: %w", err), p.run.Close())
		}
	}
	return p, nil
}

// handler is the router handler of one manager: it hands each event of the
// batch a message carries to handle, retrying failures of the stores with backoff and setting aside
// an event that keeps failing, so that the manager moves on. With inTx (and
// the checkpoints in the managers' database) the handler's writes, the
// poison records and the group's checkpoint commit in one transaction: one
// commit per batch, and a crash mid-batch keeps none of it (the batch comes
// again; every handler is idempotent besides).
func (p *Processes) handler(name, group string, handle func(context.Context, eventstore.Event) error, inTx bool) message.NoPublishHandlerFunc {
	each := func(ctx context.Context, events []eventstore.Event) error {
		for _, ev := range events {
			err := retryStores(ctx, p.cfg, func() error { return handle(ctx, ev) })
			if err == nil {
				continue
			}
			// Shutting down is not poison: the batch comes again after a
			// restart.
			if ctx.Err() != nil {
				return err
			}
			if err := p.poison.setAside(ctx, poisonRecordOf(name, ev), err); err != nil {
				return err
			}
		}
		return nil
	}
	return func(msg *message.Message) error {
		events, err := pubsub.Events(msg)
		if err != nil {
			return err
		}
		ctx := msg.Context()
		committed := false
		if group == DeliveryConsumerGroup {
			// The jobs the batch enqueues start once it commits; those
			// of a batch that did not (an error, a panic) are left to
			// the scheduler.
			fresh := &freshJobs{}
			ctx = context.WithValue(ctx, freshJobsKey{}, fresh)
			defer func() {
				if committed {
					p.delivery.startFresh(fresh.jobs)
				} else {
					p.delivery.requeue(fresh.jobs)
				}
			}()
		}
		if !inTx || p.checkpoints == nil {
			err = each(ctx, events)
			committed = err == nil
			return err
		}
		last, err := pubsub.Position(msg)
		if err != nil {
			return err
		}
		err = p.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := each(ctx, events); err != nil {
				return err
			}
			return p.checkpoints.SaveTx(ctx, tx, group, processTopic, last)
		})
		committed = err == nil
		return err
	}
}

// inTx runs fn in a transaction of the managers' database, which ctx
// carries to the handlers (processExec), and commits it when fn succeeds.
// The deferred Rollback also ends the transaction when fn panics, so the
// one connection is not left inside it (after a Commit it does nothing).
func (p *Processes) inTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("processes: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(context.WithValue(ctx, processTxKey{}, tx), tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("processes: commit: %w", err)
	}
	return nil
}

// Run runs the handlers, the delivery workers and the expiry loop until ctx
// is done or Close is called. It may be called once, and not after Close.
func (p *Processes) Run(ctx context.Context) error { return p.run.Run(ctx) }

// Running is closed once the handlers subscribed to the log.
func (p *Processes) Running() <-chan struct{} { return p.run.Running() }

// Close stops Run, waits for it, and releases the subscribers. Deliveries in
// flight stop where they are and resume from the durable queue on the next
// start. Processes that never ran close at once. It is safe to call more
// than once.
func (p *Processes) Close() error { return p.run.Close() }
