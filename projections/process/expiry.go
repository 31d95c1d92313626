package process

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// ExpiryManager records offers as expired when their expires_at passes
// before a decision. Pending expiries are kept in the durable table
// expiry_pending, fed from the log by Handle, so a restart forgets none;
// the loop in Run looks for due rows every ExpiryInterval, and at once when
// an offer arrives that expires sooner.
type ExpiryManager struct {
	svc      *command.Service
	db       *sql.DB
	now      func() time.Time
	interval time.Duration
	onExpire func()
	log      *slog.Logger
	wake     chan struct{}
}

// expiryBatch is how many due offers one pass expires.
const expiryBatch = 100

// NewExpiryManager creates the table expiry_pending in db if missing.
func NewExpiryManager(ctx context.Context, svc *command.Service, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*ExpiryManager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	const ddl = `CREATE TABLE IF NOT EXISTS expiry_pending (
	offer_id       TEXT PRIMARY KEY,
	expires_at     INTEGER NOT NULL, -- unix milliseconds
	cause_id       TEXT NOT NULL,    -- the offer.created event
	correlation_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS expiry_pending_due ON expiry_pending (expires_at);`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create expiry_pending: %w", err)
	}
	return &ExpiryManager{svc: svc, db: db, now: cfg.Now, interval: cfg.ExpiryInterval,
		onExpire: cfg.OnExpired, log: log, wake: make(chan struct{}, 1)}, nil
}

// Handle keeps expiry_pending in step with the log: an offer created with an
// expires_at is added, and one accepted, rejected, withdrawn or expired is
// removed. Handling an event again changes nothing.
func (m *ExpiryManager) Handle(msg *message.Message) error {
	ctx := msg.Context()
	switch pubsub.EventType(msg) {
	case domain.TypeOfferCreated:
		var ev domain.OfferCreated
		if err := processDecode(msg, &ev); err != nil {
			return err
		}
		if ev.ExpiresAt == nil {
			return nil
		}
		corr := msg.Metadata.Get(pubsub.MetaCorrelationID)
		if corr == "" {
			corr = msg.UUID
		}
		if _, err := processExec(ctx, m.db).ExecContext(ctx, `INSERT INTO expiry_pending (offer_id, expires_at, cause_id, correlation_id)
			VALUES (?, ?, ?, ?) ON CONFLICT (offer_id) DO NOTHING`,
			string(ev.OfferID), expiryMillis(*ev.ExpiresAt), msg.UUID, corr); err != nil {
			return fmt.Errorf("schedule expiry of offer %s: %w", ev.OfferID, err)
		}
		m.Wake()
	case domain.TypeOfferAccepted, domain.TypeOfferRejected, domain.TypeOfferWithdrawn, domain.TypeOfferExpired:
		// Every one of these events carries offer_id; the decided state is
		// final, so the expiry is no longer wanted.
		var ev struct {
			OfferID domain.OfferID `json:"offer_id"`
		}
		if err := processDecode(msg, &ev); err != nil {
			return err
		}
		if err := m.unschedule(ctx, ev.OfferID); err != nil {
			return err
		}
	}
	return nil
}

// expiryMillis is t in unix milliseconds, rounded up: a row found due by
// the table is then due for the domain too, which compares exact times.
func expiryMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// Wake makes the loop look for due expiries now.
func (m *ExpiryManager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *ExpiryManager) unschedule(ctx context.Context, id domain.OfferID) error {
	if _, err := processExec(ctx, m.db).ExecContext(ctx, `DELETE FROM expiry_pending WHERE offer_id = ?`, string(id)); err != nil {
		return fmt.Errorf("unschedule expiry of offer %s: %w", id, err)
	}
	return nil
}

// run expires due offers until ctx is done.
func (m *ExpiryManager) run(ctx context.Context) {
	dueLoop(ctx, m.interval, m.now, m.wake, func(ctx context.Context) (time.Time, bool, error) {
		p, err := m.pass(ctx)
		return p.next, p.seen == expiryBatch && p.removed == p.seen, err
	}, func(err error) { m.log.ErrorContext(ctx, "cannot expire due offers; trying again", "err", err) })
}

// dueLoop runs pass until ctx is done: at once, when woken, and otherwise
// every interval or, when sooner, at the next time pass said something is
// due. A full batch (more may be due) runs the next pass at once; a failed
// pass is reported and tried again after the interval.
func dueLoop(ctx context.Context, interval time.Duration, now func() time.Time, wake <-chan struct{},
	pass func(context.Context) (next time.Time, full bool, err error), failed func(error)) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-wake:
		}
		wait := interval
		next, full, err := pass(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failed(err)
		case full:
			wait = 0
		case !next.IsZero():
			// Sleep no longer than until the next deadline; the clock may be
			// a test's, so never longer than the interval either.
			if d := next.Sub(now()); d < wait {
				wait = max(d, 0)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// expiryPass is what one pass over the due expiries did.
type expiryPass struct {
	seen    int       // due rows looked at
	removed int       // rows removed: expired, or no longer wanted
	expired int       // offers recorded as expired
	next    time.Time // earliest deadline still ahead; zero when none
}

func (m *ExpiryManager) pass(ctx context.Context) (p expiryPass, err error) {
	now := m.now()
	type due struct{ offer, cause, corr string }
	rows, err := m.db.QueryContext(ctx, `SELECT offer_id, cause_id, correlation_id FROM expiry_pending
		WHERE expires_at <= ? ORDER BY expires_at, offer_id LIMIT ?`, now.UnixMilli(), expiryBatch)
	if err != nil {
		return p, fmt.Errorf("find due expiries: %w", err)
	}
	var todo []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.offer, &d.cause, &d.corr); err != nil {
			rows.Close()
			return p, fmt.Errorf("find due expiries: %w", err)
		}
		todo = append(todo, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("find due expiries: %w", err)
	}

	p.seen = len(todo)
	var firstErr error
	for _, d := range todo {
		expired, removed, err := m.expire(ctx, domain.OfferID(d.offer), d.cause, d.corr)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if expired {
			p.expired++
		}
		if removed {
			p.removed++
		}
	}
	var ms sql.NullInt64
	if err := m.db.QueryRowContext(ctx, `SELECT MIN(expires_at) FROM expiry_pending WHERE expires_at > ?`,
		now.UnixMilli()).Scan(&ms); err != nil {
		return p, errors.Join(firstErr, fmt.Errorf("find next expiry: %w", err))
	}
	if ms.Valid {
		p.next = time.UnixMilli(ms.Int64).UTC()
	}
	return p, firstErr
}

// expire records one offer as expired, idempotently: the seed derives the
// event id from the offer, so a retry after a crash appends nothing twice.
func (m *ExpiryManager) expire(ctx context.Context, id domain.OfferID, cause, corr string) (expired, removed bool, err error) {
	meta := command.Meta{
		Actor:           domain.SystemActor("expiry"),
		CorrelationID:   corr,
		CausationID:     cause,
		IdempotencySeed: "expire:" + string(id),
	}
	_, res, err := m.svc.ExpireOffer(ctx, meta, id)
	switch {
	case err == nil:
		expired = true
		m.log.InfoContext(ctx, "offer expired", "offer_id", id, "position", res.Position)
		if m.onExpire != nil {
			m.onExpire()
		}
	case errors.Is(err, domain.ErrOfferNotDue):
		return false, false, nil // tried again next pass
	case processDone(err):
		m.log.DebugContext(ctx, "expiry no longer wanted", "offer_id", id, "err", err)
	default:
		return false, false, fmt.Errorf("expire offer %s: %w", id, err)
	}
	if err := m.unschedule(ctx, id); err != nil {
		return expired, false, err
	}
	return expired, true, nil
}
