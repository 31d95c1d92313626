package process

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// ExpiringEventType is the "type" of the notification sent to a customer's
// webhook when an offer in its inbox is reminded of its expiry.
const ExpiringEventType = "offer.expiring"

// ReminderManager reminds customers, once per offer, that an undecided
// offer expires soon: when less than ReminderBefore is left it records
// offer.reminded (with the seed "remind:<offer id>", so a redelivered event
// or a repeated pass never reminds twice, and the domain refuses a second
// reminder besides), and for every offer.reminded it notifies the
// customer's webhook with an offer.expiring notification, retried like a
// delivery.
//
// Like the expiry manager it keeps what is due in durable tables fed from
// the log by Handle (reminder_pending: offers to remind, reminder_notices:
// notifications to send), and a loop in Run works the due rows, so neither
// a restart nor a redelivered batch loses or repeats one.
type ReminderManager struct {
	svc    *command.Service
	db     *sql.DB
	due    *offerDeadlines
	cfg    ProcessConfig
	log    *slog.Logger
	client *http.Client
	wakeup
	// passing serializes the passes of the loop and of RemindDue, so that
	// no notice is sent twice by two passes at once.
	passing sync.Mutex
}

// NewReminderManager creates the tables reminder_pending and
// reminder_notices in db if missing.
func NewReminderManager(ctx context.Context, svc *command.Service, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*ReminderManager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A decided, withdrawn, expired or superseded offer needs no reminder,
	// nor does one reminded already (Handle queues its notice).
	due := &offerDeadlines{db: db, table: "reminder_pending", what: "reminder", before: cfg.ReminderBefore,
		notYet: domain.ErrOfferNotInReminderWindow, log: log,
		closing: []string{domain.TypeOfferAccepted, domain.TypeOfferRejected, domain.TypeOfferWithdrawn,
			domain.TypeOfferExpired, domain.TypeOfferSuperseded, domain.TypeOfferReminded}}
	if err := due.create(ctx); err != nil {
		return nil, err
	}
	const ddl = `CREATE TABLE IF NOT EXISTS reminder_notices (
	event_id       TEXT PRIMARY KEY, -- the offer.reminded event: the webhook-id
	offer_id       TEXT NOT NULL,
	reminded_at    TEXT NOT NULL,    -- RFC 3339, the notification's timestamp
	correlation_id TEXT NOT NULL,
	state          TEXT NOT NULL,    -- pending or done
	outcome        TEXT NOT NULL,    -- notified, failed, skipped (no webhook, not delivered, decided)
	attempts       INTEGER NOT NULL,
	last_error     TEXT NOT NULL,
	next_at        INTEGER NOT NULL  -- unix milliseconds
);
CREATE INDEX IF NOT EXISTS reminder_notices_due ON reminder_notices (state, next_at);`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create reminder_notices: %w", err)
	}
	return &ReminderManager{svc: svc, db: db, due: due, cfg: cfg, log: log,
		client: newDeliveryHTTPClient(cfg.AllowInsecure, cfg.WebhookTimeout), wakeup: newWakeup()}, nil
}

// Handle keeps the tables in step with the log: an offer created with an
// expires_at is to be reminded, one decided, withdrawn, expired, superseded
// or reminded no longer; a reminder is to be notified. Handling an event
// again changes nothing.
func (m *ReminderManager) Handle(ctx context.Context, e eventstore.Event) error {
	scheduled, err := m.due.handle(ctx, e)
	if err != nil {
		return err
	}
	if scheduled {
		m.Wake()
	}
	if e.Type != domain.TypeOfferReminded {
		return nil
	}
	var ev domain.OfferReminded
	if err := processDecode(e, &ev); err != nil {
		return err
	}
	corr := processCorrelation(e)
	if _, err := processExec(ctx, m.db).ExecContext(ctx, `INSERT INTO reminder_notices
		(event_id, offer_id, reminded_at, correlation_id, state, outcome, attempts, last_error, next_at)
		VALUES (?, ?, ?, ?, 'pending', '', 0, '', 0) ON CONFLICT (event_id) DO NOTHING`,
		e.ID, string(ev.OfferID), ev.At.UTC().Format(time.RFC3339Nano), corr); err != nil {
		return fmt.Errorf("queue reminder notice of offer %s: %w", ev.OfferID, err)
	}
	m.Wake()
	return nil
}

// run works due reminders and notices until ctx is done.
func (m *ReminderManager) run(ctx context.Context) {
	dueLoop(ctx, m.cfg.ExpiryInterval, m.cfg.Now, m.wakeup, m.pass,
		func(err error) { m.log.ErrorContext(ctx, "cannot remind of expiring offers; trying again", "err", err) })
}

// pass works one batch of each table and returns the earliest time
// something is due after it and whether a batch was full.
func (m *ReminderManager) pass(ctx context.Context) (next time.Time, full bool, err error) {
	m.passing.Lock()
	defer m.passing.Unlock()
	r, errR := m.remindDue(ctx)
	_, fullN, errN := m.noticesDue(ctx)
	if err := errors.Join(errR, errN); err != nil {
		return time.Time{}, false, err
	}
	var notice sql.NullInt64
	if err := m.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM reminder_notices WHERE state = 'pending'`).Scan(&notice); err != nil {
		return time.Time{}, false, fmt.Errorf("find next reminder notice: %w", err)
	}
	next = r.next
	if notice.Valid && (next.IsZero() || notice.Int64 < next.UnixMilli()) {
		next = time.UnixMilli(notice.Int64).UTC()
	}
	return next, r.full() || fullN, nil
}

// remindDue records offer.reminded for the pending offers whose time left
// is below the window. An offer the domain does not find in the window yet
// (the command side's clock lags) stays for the next pass; one decided or
// reminded meanwhile is dropped.
func (m *ReminderManager) remindDue(ctx context.Context) (deadlinePass, error) {
	return m.due.pass(ctx, m.cfg.Now(), func(ctx context.Context, o dueOffer) error {
		_, res, err := m.svc.RemindOffer(ctx, o.meta("reminder", "remind:"+string(o.offer)), o.offer, m.cfg.ReminderBefore)
		if err == nil {
			m.log.InfoContext(ctx, "offer reminded of its expiry", "offer_id", o.offer, "position", res.Position)
		}
		return err
	})
}

// reminderNotice is a row of reminder_notices.
type reminderNotice struct {
	eventID, offerID, remindedAt, corr string
	attempts                           int
}

// noticesDue sends the due offer.expiring notifications, one try each.
func (m *ReminderManager) noticesDue(ctx context.Context) (sent int, full bool, err error) {
	rows, err := m.db.QueryContext(ctx, `SELECT event_id, offer_id, reminded_at, correlation_id, attempts FROM reminder_notices
		WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, event_id LIMIT ?`, m.cfg.Now().UnixMilli(), deadlineBatch)
	if err != nil {
		return 0, false, fmt.Errorf("find due reminder notices: %w", err)
	}
	var todo []reminderNotice
	for rows.Next() {
		var n reminderNotice
		if err := rows.Scan(&n.eventID, &n.offerID, &n.remindedAt, &n.corr, &n.attempts); err != nil {
			rows.Close()
			return 0, false, fmt.Errorf("find due reminder notices: %w", err)
		}
		todo = append(todo, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("find due reminder notices: %w", err)
	}
	var errs []error
	for _, n := range todo {
		ok, err := m.notify(ctx, n)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, len(todo) == deadlineBatch, errors.Join(errs...)
}

// notify makes one try of a notice and records its outcome: done when the
// webhook answered 2xx, when there is nothing to notify (no webhook, an
// offer the customer cannot see, or one decided since) or when every try
// failed; otherwise pending again after the delivery's backoff.
func (m *ReminderManager) notify(ctx context.Context, n reminderNotice) (sent bool, err error) {
	id := domain.OfferID(n.offerID)
	o, _, err := m.svc.Offer(ctx, domain.SystemActor("reminder"), id, 0, time.Time{})
	if err != nil {
		if processDone(err) {
			return false, m.finish(ctx, n, "skipped", "offer not found")
		}
		return false, fmt.Errorf("load offer %s: %w", id, err)
	}
	v := o.View()
	if v.Status != domain.StatusWaitingForConfirmation {
		// Not in the inbox (the customer cannot see it) or decided since.
		return false, m.finish(ctx, n, "skipped", "offer is "+string(v.Status))
	}
	c, _, err := m.svc.Customer(ctx, v.CustomerID)
	if err != nil {
		return false, fmt.Errorf("load customer %s of offer %s: %w", v.CustomerID, id, err)
	}
	url, secret := c.Webhook()
	if url == "" {
		return false, m.finish(ctx, n, "skipped", "")
	}
	body, err := m.body(ctx, n, v)
	if err != nil {
		return false, err
	}
	key, err := deliverySecretKey(secret)
	if err == nil {
		err = deliveryPost(ctx, m.client, url, n.eventID, key, body, m.cfg.Now(), m.cfg.WebhookMaxResponseBytes)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if m.cfg.OnWebhookAttempt != nil {
		m.cfg.OnWebhookAttempt(webhookOutcome(err))
	}
	if err == nil {
		m.log.InfoContext(ctx, "customer notified of an expiring offer", "offer_id", id)
		return true, m.finish(ctx, n, "notified", "")
	}
	n.attempts++
	if n.attempts >= m.cfg.WebhookAttempts {
		m.log.WarnContext(ctx, "expiring offer notification failed after every try", "offer_id", id, "attempts", n.attempts, "err", err)
		return false, m.finish(ctx, n, "failed", err.Error())
	}
	m.log.WarnContext(ctx, "expiring offer notification attempt failed", "offer_id", id, "attempt", n.attempts, "err", err)
	next := m.cfg.Now().Add(webhookRetryWait(m.cfg, n.attempts)).UnixMilli()
	if _, dberr := m.db.ExecContext(ctx, `UPDATE reminder_notices SET attempts = ?, last_error = ?, next_at = ? WHERE event_id = ?`,
		n.attempts, err.Error(), next, n.eventID); dberr != nil {
		return false, fmt.Errorf("reschedule reminder notice of offer %s: %w", id, dberr)
	}
	return false, nil
}

func (m *ReminderManager) finish(ctx context.Context, n reminderNotice, outcome, lastError string) error {
	if _, err := m.db.ExecContext(ctx, `UPDATE reminder_notices SET state = 'done', outcome = ?, attempts = ?, last_error = ?
		WHERE event_id = ?`, outcome, n.attempts, lastError, n.eventID); err != nil {
		return fmt.Errorf("finish reminder notice of offer %s: %w", n.offerID, err)
	}
	return nil
}

// expiringNotificationData is the data of an offer.expiring call.
type expiringNotificationData struct {
	OfferID      domain.OfferID    `json:"offer_id"`
	CustomerID   domain.CustomerID `json:"customer_id"`
	ResellerID   domain.ResellerID `json:"reseller_id"`
	ResellerName string            `json:"reseller_name"`
	Items        []domain.Item     `json:"items"`
	Message      string            `json:"message"`
	ExpiresAt    *time.Time        `json:"expires_at"`
	RemindedAt   *time.Time        `json:"reminded_at"`
}

func (m *ReminderManager) body(ctx context.Context, n reminderNotice, v domain.OfferView) ([]byte, error) {
	r, err := m.svc.Reseller(ctx, v.ResellerID)
	if err != nil {
		return nil, fmt.Errorf("load reseller %s: %w", v.ResellerID, err)
	}
	at, err := time.Parse(time.RFC3339Nano, n.remindedAt)
	if err != nil && v.RemindedAt != nil {
		at = *v.RemindedAt
	}
	body, err := json.Marshal(webhookNotification[expiringNotificationData]{Type: ExpiringEventType, Timestamp: at.UTC(), Data: expiringNotificationData{
		OfferID: v.ID, CustomerID: v.CustomerID, ResellerID: v.ResellerID, ResellerName: r.Name(),
		Items: v.Items, Message: v.Message, ExpiresAt: v.ExpiresAt, RemindedAt: &at,
	}})
	if err != nil {
		return nil, fmt.Errorf("encode expiring notification of offer %s: %w", v.ID, err)
	}
	return body, nil
}
