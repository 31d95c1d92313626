package process

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// offerDeadlines is a durable table of the offers due for some work at a
// time their expires_at sets: a row is due once expires_at - before has
// passed. Handle feeds it from the log and pass works its due rows, so
// neither a restart nor a redelivered batch loses or repeats one. The
// expiry manager (before 0) and the reminder manager (before
// ReminderBefore) keep one each.
type offerDeadlines struct {
	db     *sql.DB
	table  string        // expiry_pending, reminder_pending
	what   string        // "expiry", "reminder": for logs and errors
	before time.Duration // how long before expires_at a row is due
	// closing are the event types after which the work is no longer
	// wanted; every one of them carries offer_id.
	closing []string
	// notYet is the domain's answer for an offer whose time has not come
	// by the command side's clock, which may lag ours: the row stays for
	// the next pass.
	notYet error
	log    *slog.Logger
}

// deadlineBatch is how many due rows one pass works.
const deadlineBatch = 100

// create makes d's table if missing.
func (d *offerDeadlines) create(ctx context.Context) error {
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (
	offer_id       TEXT PRIMARY KEY,
	expires_at     INTEGER NOT NULL, -- unix milliseconds, rounded up
	cause_id       TEXT NOT NULL,    -- the offer.created event
	correlation_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS %[1]s_due ON %[1]s (expires_at);`, d.table)
	if _, err := d.db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("create %s: %w", d.table, err)
	}
	return nil
}

// handle keeps the table in step with the log: an offer created with an
// expires_at is added (scheduled is true), one that a closing event ends is
// removed. Handling an event again changes nothing.
func (d *offerDeadlines) handle(ctx context.Context, e eventstore.Event) (scheduled bool, err error) {
	typ := e.Type
	if typ == domain.TypeOfferCreated {
		var ev domain.OfferCreated
		if err := processDecode(e, &ev); err != nil {
			return false, err
		}
		if ev.ExpiresAt == nil {
			return false, nil
		}
		corr := processCorrelation(e)
		if _, err := processExec(ctx, d.db).ExecContext(ctx, `INSERT INTO `+d.table+` (offer_id, expires_at, cause_id, correlation_id)
			VALUES (?, ?, ?, ?) ON CONFLICT (offer_id) DO NOTHING`,
			string(ev.OfferID), deadlineMillis(*ev.ExpiresAt), e.ID, corr); err != nil {
			return false, fmt.Errorf("schedule %s of offer %s: %w", d.what, ev.OfferID, err)
		}
		return true, nil
	}
	for _, c := range d.closing {
		if typ != c {
			continue
		}
		var ev struct {
			OfferID domain.OfferID `json:"offer_id"`
		}
		if err := processDecode(e, &ev); err != nil {
			return false, err
		}
		return false, d.unschedule(ctx, ev.OfferID)
	}
	return false, nil
}

// deadlineMillis is t in unix milliseconds, rounded up: a row found due by
// the table is then due for the domain too, which compares exact times.
func deadlineMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

func (d *offerDeadlines) unschedule(ctx context.Context, id domain.OfferID) error {
	if _, err := processExec(ctx, d.db).ExecContext(ctx, `DELETE FROM `+d.table+` WHERE offer_id = ?`, string(id)); err != nil {
		return fmt.Errorf("unschedule %s of offer %s: %w", d.what, id, err)
	}
	return nil
}

// dueOffer is a due row: the offer, and the event that scheduled it.
type dueOffer struct {
	offer       domain.OfferID
	cause, corr string
}

// meta is the command metadata of the work on o: caused by the event that
// scheduled it, by the system's process, with the given idempotency seed.
func (o dueOffer) meta(process, seed string) command.Meta {
	return command.Meta{Actor: domain.SystemActor(process), CorrelationID: o.corr, CausationID: o.cause, IdempotencySeed: seed}
}

// deadlinePass is what one pass did.
type deadlinePass struct {
	seen    int       // due rows looked at
	removed int       // rows removed: done, or no longer wanted
	done    int       // rows whose work was done
	next    time.Time // when the earliest row not yet due will be; zero when none
}

// full reports whether the pass worked a whole batch and removed it all, so
// that more may be due at once.
func (p deadlinePass) full() bool { return p.seen == deadlineBatch && p.removed == p.seen }

// pass runs work on the rows due at now, up to one batch. A row whose work
// is done, or that the domain refuses for good (processDone), is removed;
// one that is not due yet by the domain (notYet) or whose work failed stays
// for the next pass.
func (d *offerDeadlines) pass(ctx context.Context, now time.Time, work func(context.Context, dueOffer) error) (p deadlinePass, err error) {
	before := d.before.Milliseconds()
	rows, err := d.db.QueryContext(ctx, `SELECT offer_id, cause_id, correlation_id FROM `+d.table+`
		WHERE expires_at - ? <= ? ORDER BY expires_at, offer_id LIMIT ?`, before, now.UnixMilli(), deadlineBatch)
	if err != nil {
		return p, fmt.Errorf("find due %s: %w", d.what, err)
	}
	var todo []dueOffer
	for rows.Next() {
		var o dueOffer
		if err := rows.Scan(&o.offer, &o.cause, &o.corr); err != nil {
			rows.Close()
			return p, fmt.Errorf("find due %s: %w", d.what, err)
		}
		todo = append(todo, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("find due %s: %w", d.what, err)
	}
	p.seen = len(todo)
	var errs []error
	for _, o := range todo {
		err := work(ctx, o)
		switch {
		case err == nil:
			p.done++
		case errors.Is(err, d.notYet):
			continue
		case processDone(err):
			d.log.DebugContext(ctx, d.what+" no longer wanted", "offer_id", o.offer, "err", err)
		default:
			errs = append(errs, fmt.Errorf("%s of offer %s: %w", d.what, o.offer, err))
			continue
		}
		// Removed here too, not only by handle when the closing event
		// comes along, so that the next pass does not try it again
		// meanwhile.
		if err := d.unschedule(ctx, o.offer); err != nil {
			errs = append(errs, err)
			continue
		}
		p.removed++
	}
	var ms sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT MIN(expires_at) FROM `+d.table+` WHERE expires_at - ? > ?`,
		before, now.UnixMilli()).Scan(&ms); err != nil {
		return p, errors.Join(errors.Join(errs...), fmt.Errorf("find next %s: %w", d.what, err))
	}
	if ms.Valid {
		p.next = time.UnixMilli(ms.Int64 - before).UTC()
	}
	return p, errors.Join(errs...)
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
