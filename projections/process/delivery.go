package process

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// DeliveryManager delivers dispatched offers. Handle, a Watermill handler on
// the log, turns every offer.dispatched into a row of the durable queue
// delivery_jobs; the scheduler started by Run works each due row on a
// goroutine of its own: an offer whose customer has no webhook is recorded
// delivered at once, otherwise the signed notification is sent, and a
// failed call puts the row back in the queue with the time of its next try,
// until a call is answered 2xx (delivered) or every try failed
// (delivery_failed).
//
// The queue is what keeps one customer's failing webhook, retried for about
// two minutes, from holding up every other delivery: the log handler only
// enqueues, a job waiting for its next try holds no slot, and no customer
// has more than MaxActivePerCustomer webhook calls in flight, the due jobs
// being started in turns across resellers and, within a reseller, across
// its customers; no reseller has more than MaxActivePerReseller jobs that
// may call a webhook under way. A customer without a webhook is not held to
// those shares: its deliveries are appends to the local log, as cheap as
// anyone's, and a share of 4 made 1,000 offers a second to 4 customers
// queue for seconds (issue 7).
type DeliveryManager struct {
	svc    *command.Service
	db     *sql.DB
	cfg    ProcessConfig
	log    *slog.Logger
	client *http.Client
	poison *processPoisonQueue
	wakeup
	http chan struct{} // semaphore of webhook calls in flight

	mu     sync.Mutex
	active map[string]string // event ids of the jobs under way, to their customers
	busy   map[string]int    // jobs under way per customer
	// hookless are the customers whose webhook was unset at their latest
	// try: their jobs start beyond MaxActivePerCustomer. A customer not in
	// it (unknown yet, or with a webhook) has its jobs started within its
	// share; calls bounds the webhook calls in flight per customer in any
	// case, for the jobs started while the customer was still hookless.
	hookless map[string]bool
	calls    map[string]int
	// busyReseller counts the jobs under way per reseller, so that one
	// reseller's campaign to a thousand customers whose webhooks hang
	// cannot take every slot.
	busyReseller map[string]int
	// owners are the customer and reseller of the offers whose creation
	// Handle saw lately, at most deliveryOwnersKept.
	owners map[domain.OfferID]offerOwners
	// held are jobs left pending by a failure to set them aside, with the
	// time before which they are not started again (no hot loop while the
	// database is unwell).
	held map[string]time.Time
	// ended are the jobs that ended a try since due last read the queue:
	// the rows it read of them are stale (their attempts and next_at
	// before the try), and starting one from them would make its try
	// again at once, a duplicate webhook call counted as the same try.
	ended map[string]struct{}
	// sched is what the scheduler knows of the queue between its reads.
	sched deliverySched
	// ends records the jobs' ends, those that come together in one
	// transaction.
	ends *jobEnds
	// runCtx is run's context while it runs (nil before and after): the
	// jobs startFresh starts run in it.
	runCtx context.Context
	wg     sync.WaitGroup
}

// deliverySched is what the scheduler knows of the queue between its
// reads, so that a pass reads it only when a job may have become startable
// since the last read: reading it on every wake-up (each job enqueued and
// each one finished), with the next retry's time, was the largest fixed
// cost per offer of a lightly loaded server (issue 7).
type deliverySched struct {
	// stale: something may be due that no read has seen: a job enqueued,
	// a try ended back in the queue, a customer found without a webhook
	// (its jobs start beyond the share), a retry's or a hold's time come.
	stale bool
	// backlog: the last read left due jobs unstarted for lack of room or
	// shares, or was cut at its limit; freed: a job ended since that read.
	// Both together mean a freed slot may have a job to take.
	backlog, freed bool
	// next is the earliest time a pending job not yet due at the last look
	// becomes due (zero: none): from the table, and from finish for the
	// retries and holds it schedules since.
	next time.Time
	// lastRead and lastNext are when the queue and the next retry were
	// last read: neither goes unread for longer than deliveryRescan.
	lastRead, lastNext time.Time
	// passes and reads count the scheduler's passes and the reads of the
	// queue among them, for the tests.
	passes, reads int
}

// DeliveryWorkerName is the handler name under which a delivery job that
// could not be finished is set aside in the poison queue.
const DeliveryWorkerName = "process.delivery.worker"

// deliveryRescan is how often the queue is looked at without a wake-up:
// for jobs left over after a failure to record their end.
const deliveryRescan = 5 * time.Second

// offerOwners are an offer's customer and reseller, which never change.
type offerOwners struct {
	customer domain.CustomerID
	reseller domain.ResellerID
}

// deliveryOwnersKept bounds DeliveryManager.owners: offers are mostly
// dispatched right after their creation, so a short memory serves.
const deliveryOwnersKept = 10_000

// deliveryKeepDone is how long finished jobs stay in the queue table, where
// they stop a redelivered dispatch event from starting the job again (which
// would be harmless anyway: the offer is no longer waiting for it).
const deliveryKeepDone = 7 * 24 * time.Hour

// NewDeliveryManager creates the table delivery_jobs in db if missing, and
// adds the columns of later versions to an older one.
func NewDeliveryManager(ctx context.Context, svc *command.Service, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*DeliveryManager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := deliveryMigrate(ctx, db); err != nil {
		return nil, err
	}
	poison, err := newProcessPoisonQueue(ctx, db, cfg, log)
	if err != nil {
		return nil, err
	}
	return &DeliveryManager{
		svc: svc, db: db, cfg: cfg, log: log, poison: poison,
		client: newDeliveryHTTPClient(cfg.AllowInsecure, cfg.WebhookTimeout),
		wakeup: newWakeup(),
		http:   make(chan struct{}, cfg.WebhookConcurrency),
		active: map[string]string{},
		busy:   map[string]int{},
		held:   map[string]time.Time{},
		ended:  map[string]struct{}{},
		sched:  deliverySched{stale: true},
		ends:   &jobEnds{db: db},

		hookless:     map[string]bool{},
		calls:        map[string]int{},
		busyReseller: map[string]int{},
		owners:       map[domain.OfferID]offerOwners{},
	}, nil
}

func deliveryMigrate(ctx context.Context, db *sql.DB) error {
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
)`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("create delivery_jobs: %w", err)
	}
	// Added later: the customer a job is fair to (empty when its offer
	// could not be read when it was enqueued) and when it is due.
	for _, col := range []string{
		`customer_id TEXT NOT NULL DEFAULT ''`,
		`next_at INTEGER NOT NULL DEFAULT 0`, // unix milliseconds
		// The reseller whose turns the job takes (empty as customer_id is).
		`reseller_id TEXT NOT NULL DEFAULT ''`,
	} {
		name, _, _ := strings.Cut(col, " ")
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('delivery_jobs') WHERE name = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("migrate delivery_jobs: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE delivery_jobs ADD COLUMN `+col); err != nil {
			return fmt.Errorf("migrate delivery_jobs: add %s: %w", name, err)
		}
	}
	// delivery_jobs_due finds the next retry; delivery_jobs_turns each
	// customer's first due jobs.
	if _, err := db.ExecContext(ctx, `DROP INDEX IF EXISTS delivery_jobs_state;
CREATE INDEX IF NOT EXISTS delivery_jobs_due ON delivery_jobs (state, next_at);
CREATE INDEX IF NOT EXISTS delivery_jobs_turns ON delivery_jobs (state, customer_id, next_at)`); err != nil {
		return fmt.Errorf("index delivery_jobs: %w", err)
	}
	return nil
}

// Handle enqueues the delivery of an offer.dispatched event; other events
// are acknowledged untouched. The job is keyed by the event's id, so a
// redelivered event enqueues nothing new.
func (m *DeliveryManager) Handle(ctx context.Context, e eventstore.Event) error {
	switch e.Type {
	case domain.TypeOfferCreated:
		// The customer and reseller of the offer, for its dispatch a
		// moment later:
		// reading the offer's stream for it was a twentieth of the
		// server's CPU per offer sent (issue 7). An offer's customer never
		// changes, so a kept one is never stale.
		var ev struct {
			OfferID    domain.OfferID    `json:"offer_id"`
			CustomerID domain.CustomerID `json:"customer_id"`
			ResellerID domain.ResellerID `json:"reseller_id"`
		}
		if err := json.Unmarshal(e.Data, &ev); err == nil && ev.OfferID != "" && ev.CustomerID != "" && ev.ResellerID != "" {
			m.mu.Lock()
			if len(m.owners) >= deliveryOwnersKept {
				clear(m.owners) // the next dispatches read their offers instead
			}
			m.owners[ev.OfferID] = offerOwners{customer: ev.CustomerID, reseller: ev.ResellerID}
			m.mu.Unlock()
		}
		return nil
	case domain.TypeOfferDispatched:
	default:
		return nil
	}
	var ev domain.OfferDispatched
	if err := processDecode(e, &ev); err != nil {
		return err
	}
	pos, corr := e.Position, processCorrelation(e)
	at := e.Metadata.OccurredAt
	if at.IsZero() {
		at = ev.At
	}
	// The customer makes the job's share of the slots. An offer that
	// cannot be read now is queued all the same: its job finds out why, and
	// sets it aside if it must.
	m.mu.Lock()
	owners, known := m.owners[ev.OfferID]
	m.mu.Unlock()
	customer, reseller := owners.customer, owners.reseller
	if !known {
		if o, _, err := m.svc.Offer(ctx, domain.SystemActor("delivery"), ev.OfferID, 0, time.Time{}); err == nil {
			customer, reseller = o.Customer(), o.Reseller()
		} else {
			m.log.WarnContext(ctx, "cannot read the offer of a dispatch; queued without its customer",
				"offer_id", ev.OfferID, "err", err)
		}
	}
	now := m.cfg.Now().UnixMilli()
	job := deliveryJob{eventID: e.ID, offerID: string(ev.OfferID), customerID: string(customer), resellerID: string(reseller),
		corr: corr, dispatchedAt: at.UTC().Format(time.RFC3339Nano), dispatch: ev.Dispatch, position: int64(pos),
		nextAt: now, createdAt: now}
	res, err := processExec(ctx, m.db).ExecContext(ctx, `INSERT INTO delivery_jobs
	(event_id, offer_id, customer_id, reseller_id, dispatch, position, correlation_id, dispatched_at, state, attempts, last_error, outcome,
	 created_at, updated_at, next_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, '', '', ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
		job.eventID, job.offerID, job.customerID, job.resellerID, job.dispatch, job.position, job.corr, job.dispatchedAt, now, now, now)
	if err != nil {
		return fmt.Errorf("enqueue delivery of offer %s: %w", ev.OfferID, err)
	}
	// A new job enqueued by the managers' handler starts once its batch
	// commits (startFresh), without waiting for the scheduler to read it
	// back from the queue.
	if fresh, ok := ctx.Value(freshJobsKey{}).(*freshJobs); ok {
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			fresh.jobs = append(fresh.jobs, job)
			return nil
		}
	}
	// Marked before the row commits, if ctx carries a transaction: the
	// pass this wakes then waits for the database's one connection, which
	// the transaction holds, and reads the row once committed.
	m.mu.Lock()
	m.sched.stale = true
	m.mu.Unlock()
	m.Wake()
	return nil
}

// deliveryJob is a row of delivery_jobs.
type deliveryJob struct {
	eventID, offerID, customerID, resellerID, corr, dispatchedAt string
	dispatch                                                     int
	position                                                     int64
	attempts                                                     int
	lastError                                                    string
	nextAt                                                       int64 // unix milliseconds
	createdAt                                                    int64 // unix milliseconds: breaks ties of nextAt
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
	body, err := json.Marshal(webhookNotification[deliveryNotificationData]{
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
