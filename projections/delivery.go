package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// DeliveryManager delivers dispatched offers. Handle, a Watermill handler on
// the log, turns every offer.dispatched into a row of the durable queue
// delivery_jobs; the workers started by Run work each row on its own
// goroutine: an offer whose customer has no webhook is recorded delivered at
// once, otherwise the signed notification is retried through Watermill's
// Retry middleware until it is answered 2xx (delivered) or every try failed
// (delivery_failed).
//
// The queue is what keeps one customer's failing webhook, retried for about
// two minutes, from holding up every other delivery: the log handler only
// enqueues, and the subscriber moves on.
type DeliveryManager struct {
	svc    *command.Service
	db     *sql.DB
	cfg    ProcessConfig
	log    *slog.Logger
	client *http.Client
	poison message.HandlerMiddleware
	wake   chan struct{}
	http   chan struct{} // semaphore of webhook calls in flight

	mu     sync.Mutex
	active map[string]bool // event ids of the jobs being worked on
	// held are jobs left pending by a failure to set them aside, with the
	// time before which they are not started again (no hot loop while the
	// database is unwell).
	held map[string]time.Time
	wg   sync.WaitGroup
}

// DeliveryWorkerName is the handler name under which a delivery job that
// could not be finished is set aside in the poison queue.
const DeliveryWorkerName = "process.delivery.worker"

// deliveryRescan is how often the queue is looked at without a wake-up:
// for jobs left over after a failure to record their end.
const deliveryRescan = 5 * time.Second

// deliveryKeepDone is how long finished jobs stay in the queue table, where
// they stop a redelivered dispatch event from starting the job again (which
// would be harmless anyway: the offer is no longer waiting for it).
const deliveryKeepDone = 7 * 24 * time.Hour

// NewDeliveryManager creates the table delivery_jobs in db if missing.
func NewDeliveryManager(ctx context.Context, svc *command.Service, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*DeliveryManager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	const ddl = `CREATE TABLE IF NOT EXISTS delivery_jobs (
	event_id       TEXT PRIMARY KEY, -- the offer.dispatched event: webhook-id and idempotency seed
	offer_id       TEXT NOT NULL,
	dispatch       INTEGER NOT NULL,
	position       INTEGER NOT NULL,
	correlation_id TEXT NOT NULL,
	dispatched_at  TEXT NOT NULL,
	state          TEXT NOT NULL,    -- pending, done or poisoned
	attempts       INTEGER NOT NULL, -- webhook calls made
	last_error     TEXT NOT NULL,
	outcome        TEXT NOT NULL,    -- delivered, failed, skipped or poisoned
	created_at     INTEGER NOT NULL, -- unix milliseconds
	updated_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_jobs_state ON delivery_jobs (state, created_at);`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create delivery_jobs: %w", err)
	}
	poison, err := newProcessPoisonQueue(ctx, db, cfg, log, DeliveryWorkerName)
	if err != nil {
		return nil, err
	}
	pmw, err := middleware.PoisonQueueWithFilter(poison, processPoisonTopic, func(err error) bool {
		return !errors.Is(err, context.Canceled)
	})
	if err != nil {
		return nil, fmt.Errorf("delivery poison queue: %w", err)
	}
	return &DeliveryManager{
		svc: svc, db: db, cfg: cfg, log: log, poison: pmw,
		client: newDeliveryHTTPClient(cfg.AllowInsecure, cfg.WebhookTimeout),
		wake:   make(chan struct{}, 1),
		http:   make(chan struct{}, cfg.WebhookConcurrency),
		active: map[string]bool{},
		held:   map[string]time.Time{},
	}, nil
}

// Handle enqueues the delivery of an offer.dispatched event; other events
// are acknowledged untouched. The job is keyed by the event's id, so a
// redelivered event enqueues nothing new.
func (m *DeliveryManager) Handle(msg *message.Message) error {
	if pubsub.EventType(msg) != domain.TypeOfferDispatched {
		return nil
	}
	var ev domain.OfferDispatched
	if err := processDecode(msg, &ev); err != nil {
		return err
	}
	pos, err := pubsub.Position(msg)
	if err != nil {
		return processPermanent(err)
	}
	corr := msg.Metadata.Get(pubsub.MetaCorrelationID)
	if corr == "" {
		corr = msg.UUID
	}
	at := msg.Metadata.Get(pubsub.MetaOccurredAt)
	if at == "" {
		at = ev.At.UTC().Format(time.RFC3339Nano)
	}
	now := m.cfg.Now().UnixMilli()
	if _, err := m.db.ExecContext(msg.Context(), `INSERT INTO delivery_jobs
	(event_id, offer_id, dispatch, position, correlation_id, dispatched_at, state, attempts, last_error, outcome, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, '', '', ?, ?) ON CONFLICT (event_id) DO NOTHING`,
		msg.UUID, string(ev.OfferID), ev.Dispatch, int64(pos), corr, at, now, now); err != nil {
		return fmt.Errorf("enqueue delivery of offer %s: %w", ev.OfferID, err)
	}
	m.Wake()
	return nil
}

// Wake makes the workers look at the queue now.
func (m *DeliveryManager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// deliveryJob is a row of delivery_jobs.
type deliveryJob struct {
	eventID, offerID, corr, dispatchedAt string
	dispatch                             int
	position                             int64
	attempts                             int
	lastError                            string
}

// run works the queue until ctx is done, then waits for the jobs under way
// to stop (they stay pending and resume on the next start).
func (m *DeliveryManager) run(ctx context.Context) {
	defer m.wg.Wait()
	// A job poisoned by a failure of the stores gets one more round after a
	// restart: whatever failed may have recovered.
	if _, err := m.db.ExecContext(ctx, `UPDATE delivery_jobs SET state = 'pending' WHERE state = 'poisoned'`); err != nil {
		m.log.ErrorContext(ctx, "cannot requeue poisoned deliveries", "err", err)
	}
	m.prune(ctx)
	ticker := time.NewTicker(deliveryRescan)
	defer ticker.Stop()
	lastPrune := time.Now()
	for {
		if err := m.startPending(ctx); err != nil && ctx.Err() == nil {
			m.log.ErrorContext(ctx, "cannot read the delivery queue; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-ticker.C:
			if time.Since(lastPrune) > time.Hour {
				m.prune(ctx)
				lastPrune = time.Now()
			}
		}
	}
}

func (m *DeliveryManager) prune(ctx context.Context) {
	cutoff := m.cfg.Now().Add(-deliveryKeepDone).UnixMilli()
	if _, err := m.db.ExecContext(ctx, `DELETE FROM delivery_jobs WHERE state = 'done' AND updated_at < ?`, cutoff); err != nil && ctx.Err() == nil {
		m.log.WarnContext(ctx, "cannot prune finished deliveries", "err", err)
	}
}

// startPending starts a goroutine for every pending job not yet being
// worked on, up to MaxActiveDeliveries.
func (m *DeliveryManager) startPending(ctx context.Context) error {
	m.mu.Lock()
	room := m.cfg.MaxActiveDeliveries - len(m.active)
	busy := len(m.active) + len(m.held)
	m.mu.Unlock()
	if room <= 0 {
		return nil
	}
	rows, err := m.db.QueryContext(ctx, `SELECT event_id, offer_id, dispatch, position, correlation_id, dispatched_at,
	attempts, last_error FROM delivery_jobs WHERE state = 'pending' ORDER BY created_at, event_id LIMIT ?`, room+busy)
	if err != nil {
		return fmt.Errorf("read delivery queue: %w", err)
	}
	var jobs []deliveryJob
	for rows.Next() {
		var j deliveryJob
		if err := rows.Scan(&j.eventID, &j.offerID, &j.dispatch, &j.position, &j.corr, &j.dispatchedAt,
			&j.attempts, &j.lastError); err != nil {
			rows.Close()
			return fmt.Errorf("read delivery queue: %w", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read delivery queue: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range jobs {
		if m.active[j.eventID] || len(m.active) >= m.cfg.MaxActiveDeliveries {
			continue
		}
		if until, ok := m.held[j.eventID]; ok {
			if time.Now().Before(until) {
				continue
			}
			delete(m.held, j.eventID)
		}
		m.active[j.eventID] = true
		m.wg.Go(func() { m.work(ctx, j) })
	}
	return nil
}

// work runs one job to its end, and records that end in the queue.
func (m *DeliveryManager) work(ctx context.Context, j deliveryJob) {
	st := &deliveryRun{job: j, attempts: j.attempts}
	if j.lastError != "" {
		st.lastErr = &deliveryWebhookError{msg: j.lastError}
	}
	// The payload names the job, for the poison queue should it end there.
	payload, _ := json.Marshal(domain.OfferDispatched{OfferID: domain.OfferID(j.offerID), Dispatch: j.dispatch})
	msg := message.NewMessageWithContext(ctx, j.eventID, payload)
	msg.Metadata.Set(pubsub.MetaEventType, domain.TypeOfferDispatched)
	msg.Metadata.Set(pubsub.MetaStream, command.OfferStream(domain.OfferID(j.offerID)))
	msg.Metadata.Set(pubsub.MetaPosition, strconv.FormatInt(j.position, 10))
	msg.Metadata.Set(pubsub.MetaCorrelationID, j.corr)

	// The waits are WebhookBackoff, then doubling: processRetry keeps
	// Watermill's Retry from consuming two intervals per failure.
	retry := processRetry(middleware.Retry{
		// Enough for every webhook try plus a few store hiccups; each
		// webhook failure counts against WebhookAttempts in attempt.
		MaxRetries:          m.cfg.WebhookAttempts - 1 + m.cfg.HandlerRetries,
		InitialInterval:     m.cfg.WebhookBackoff,
		MaxInterval:         m.cfg.WebhookMaxBackoff,
		Multiplier:          2,
		RandomizationFactor: m.cfg.WebhookJitter,
	})
	chain := retry(func(msg *message.Message) ([]*message.Message, error) {
		return nil, m.attempt(msg.Context(), st)
	})
	handler := m.poison(func(msg *message.Message) ([]*message.Message, error) {
		out, err := chain(msg)
		if err != nil && ctx.Err() == nil {
			st.outcome = "poisoned"
		}
		return out, err
	})
	_, err := handler(msg)

	state := "done"
	switch {
	case ctx.Err() != nil && st.outcome == "":
		state = "pending" // shut down mid-way: resume on the next start
	case err != nil:
		// The poison queue could not store it either; the rescan retries.
		m.log.ErrorContext(ctx, "delivery failed and could not be set aside", "offer_id", j.offerID, "err", err)
		state = "pending"
	case st.outcome == "poisoned":
		state = "poisoned"
	}
	if state != "pending" && m.cfg.OnDelivery != nil {
		m.cfg.OnDelivery(st.outcome)
	}
	m.finish(ctx, j.eventID, state, st, err != nil)
}

// finish records a job's state and lets go of it; the record is written
// even when ctx is done, so that a finished job is not run again.
func (m *DeliveryManager) finish(ctx context.Context, eventID, state string, st *deliveryRun, hold bool) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lastErr := ""
	if st.lastErr != nil {
		lastErr = st.lastErr.Error()
	}
	if _, err := m.db.ExecContext(wctx, `UPDATE delivery_jobs SET state = ?, outcome = ?, attempts = ?,
	last_error = ?, updated_at = ? WHERE event_id = ?`,
		state, st.outcome, st.attempts, lastErr, m.cfg.Now().UnixMilli(), eventID); err != nil {
		m.log.ErrorContext(ctx, "cannot record the end of a delivery job", "event_id", eventID, "err", err)
	}
	m.mu.Lock()
	delete(m.active, eventID)
	if hold {
		m.held[eventID] = time.Now().Add(deliveryRescan)
	}
	m.mu.Unlock()
	m.Wake() // a slot is free
}

// Jobs returns the number of delivery jobs in each state (pending, done,
// poisoned), for tests and operations.
func (m *DeliveryManager) Jobs(ctx context.Context) (map[string]int, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM delivery_jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count delivery jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count delivery jobs: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count delivery jobs: %w", err)
	}
	return out, nil
}

// deliveryBody builds the notification of an offer.
func (m *DeliveryManager) deliveryBody(ctx context.Context, st *deliveryRun, o *domain.Offer) ([]byte, error) {
	v := o.View()
	r, err := m.svc.Reseller(ctx, v.ResellerID)
	if err != nil {
		return nil, fmt.Errorf("load reseller %s: %w", v.ResellerID, err)
	}
	at, err := time.Parse(time.RFC3339Nano, st.job.dispatchedAt)
	if err != nil {
		at = v.CreatedAt
	}
	body, err := json.Marshal(deliveryNotification{
		Type:      WebhookEventType,
		Timestamp: at.UTC(),
		Data: deliveryNotificationData{
			OfferID: v.ID, CustomerID: v.CustomerID, ResellerID: v.ResellerID, ResellerName: r.Name(),
			Dispatch: st.job.dispatch, Items: v.Items, Message: v.Message, ExpiresAt: v.ExpiresAt, CreatedAt: v.CreatedAt,
		},
	})
	if err != nil {
		return nil, processPermanent(fmt.Errorf("encode notification of offer %s: %w", v.ID, err))
	}
	return body, nil
}
