package process

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// ExpiryManager records offers as expired when their expires_at passes
// before a decision. Pending expiries are kept in the durable table
// expiry_pending, fed from the log by Handle, so a restart forgets none;
// the loop in Run looks for due rows every ExpiryInterval, and at once when
// an offer arrives that expires sooner.
type ExpiryManager struct {
	svc      *command.Service
	due      *offerDeadlines
	now      func() time.Time
	interval time.Duration
	onExpire func()
	log      *slog.Logger
	wakeup
}

// NewExpiryManager creates the table expiry_pending in db if missing.
func NewExpiryManager(ctx context.Context, svc *command.Service, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*ExpiryManager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// An accepted, rejected, withdrawn or expired offer is final, so its
	// expiry is no longer wanted.
	due := &offerDeadlines{db: db, table: "expiry_pending", what: "expiry", notYet: domain.ErrOfferNotDue, log: log,
		closing: []string{domain.TypeOfferAccepted, domain.TypeOfferRejected, domain.TypeOfferWithdrawn, domain.TypeOfferExpired}}
	if err := due.create(ctx); err != nil {
		return nil, err
	}
	return &ExpiryManager{svc: svc, due: due, now: cfg.Now, interval: cfg.ExpiryInterval,
		onExpire: cfg.OnExpired, log: log, wakeup: newWakeup()}, nil
}

// Handle keeps expiry_pending in step with the log: an offer created with an
// expires_at is added, and one accepted, rejected, withdrawn or expired is
// removed. Handling an event again changes nothing.
func (m *ExpiryManager) Handle(ctx context.Context, e eventstore.Event) error {
	scheduled, err := m.due.handle(ctx, e)
	if scheduled {
		m.Wake()
	}
	return err
}

// run expires due offers until ctx is done.
func (m *ExpiryManager) run(ctx context.Context) {
	dueLoop(ctx, m.interval, m.now, m.wakeup, func(ctx context.Context) (time.Time, bool, error) {
		p, err := m.pass(ctx)
		return p.next, p.full(), err
	}, func(err error) { m.log.ErrorContext(ctx, "cannot expire due offers; trying again", "err", err) })
}

// pass records the due offers as expired, idempotently: the seed derives
// the event id from the offer, so a retry after a crash appends nothing
// twice.
func (m *ExpiryManager) pass(ctx context.Context) (deadlinePass, error) {
	return m.due.pass(ctx, m.now(), func(ctx context.Context, o dueOffer) error {
		_, res, err := m.svc.ExpireOffer(ctx, o.meta("expiry", "expire:"+string(o.offer)), o.offer)
		if err == nil {
			m.log.InfoContext(ctx, "offer expired", "offer_id", o.offer, "position", res.Position)
			if m.onExpire != nil {
				m.onExpire()
			}
		}
		return err
	})
}
