package projections

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Two read models keep an offer's whole state: the reseller view (table
// offers) and the customer inbox (table inbox). Each has its own checkpoint,
// so neither may read the other's rows; they share the columns and the code
// below instead.

// evolveOffer folds one offer event into v with the domain's own Apply, so
// that the read model can never disagree with the aggregate.
func evolveOffer(v *domain.OfferView, e domain.Event) {
	o := domain.RestoreOffer(*v)
	o.Apply(e)
	*v = o.View()
}

// offerRow is an offer's row: its state, the position of its creation and
// its stream version.
type offerRow struct {
	view       domain.OfferView
	createdPos uint64
	version    uint64
}

const offerColumns = `id, created_pos, reseller_id, customer_id, template_id, status, items, message, expires_at,
	dispatch, delivered, created_at, delivered_at, opened_at, decided_at, withdrawn_at, expired_at,
	rejection_reason, delivery_error, version, opened_by, decided_by, erased, supersedes, superseded_by, reminded_at, reminder_read`

// scanOffer scans offerColumns, then extra.
func scanOffer(s interface{ Scan(...any) error }, extra ...any) (offerRow, error) {
	return newOfferScanner(extra...).scan(s)
}

// offerScanner scans rows of offerColumns, then extra, reusing its
// destinations from row to row: a list query scans each of its rows into
// the same place instead of allocating three dozen of them per row.
type offerScanner struct {
	r                                                       offerRow
	items                                                   string
	createdPos, version, createdAt                          int64
	expires, delivered, opened, decided, withdrawn, expired sql.NullInt64
	reminded                                                sql.NullInt64
	isDelivered                                             bool
	dest                                                    []any
}

func newOfferScanner(extra ...any) *offerScanner {
	sc := &offerScanner{}
	v := &sc.r.view
	sc.dest = append([]any{&v.ID, &sc.createdPos, &v.ResellerID, &v.CustomerID, &v.TemplateID, &v.Status, &sc.items, &v.Message,
		&sc.expires, &v.Dispatch, &sc.isDelivered, &sc.createdAt, &sc.delivered, &sc.opened, &sc.decided, &sc.withdrawn, &sc.expired,
		&v.RejectionReason, &v.DeliveryError, &sc.version, &v.OpenedBy, &v.DecidedBy, &v.Erased, &v.Supersedes, &v.SupersededBy,
		&sc.reminded, &v.ReminderRead}, extra...)
	return sc
}

// scan reads the next row of s: the offer's, and extra's destinations.
func (sc *offerScanner) scan(s interface{ Scan(...any) error }) (offerRow, error) {
	sc.r = offerRow{}
	if err := s.Scan(sc.dest...); err != nil {
		return offerRow{}, err
	}
	v := &sc.r.view
	var err error
	if v.Items, err = decodeItems(sc.items); err != nil {
		return offerRow{}, fmt.Errorf("offer %s items: %w", v.ID, err)
	}
	v.Delivered, v.CreatedAt = sc.isDelivered, fromNanos(sc.createdAt)
	v.ExpiresAt, v.DeliveredAt, v.OpenedAt = fromNullNanos(sc.expires), fromNullNanos(sc.delivered), fromNullNanos(sc.opened)
	v.DecidedAt, v.WithdrawnAt, v.ExpiredAt = fromNullNanos(sc.decided), fromNullNanos(sc.withdrawn), fromNullNanos(sc.expired)
	v.RemindedAt = fromNullNanos(sc.reminded)
	sc.r.createdPos, sc.r.version = uint64(sc.createdPos), uint64(sc.version)
	return sc.r, nil
}

// saveOffer writes c's row to table, inserting or replacing the offer
// columns and, in inbox, its own (any other column keeps its value).
func saveOffer(ctx context.Context, tx *sql.Tx, table string, c *cachedOffer) error {
	v := c.row.view
	items, err := encodeItems(v.Items)
	if err != nil {
		return fmt.Errorf("encode items of %s: %w", v.ID, err)
	}
	cols, vals, set := offerColumns, offerValues, offerUpdate
	args := []any{v.ID, int64(c.row.createdPos), v.ResellerID, v.CustomerID, v.TemplateID, v.Status, items, v.Message,
		nullNanos(v.ExpiresAt), v.Dispatch, v.Delivered, nanos(v.CreatedAt), nullNanos(v.DeliveredAt),
		nullNanos(v.OpenedAt), nullNanos(v.DecidedAt), nullNanos(v.WithdrawnAt), nullNanos(v.ExpiredAt),
		v.RejectionReason, v.DeliveryError, int64(c.row.version), v.OpenedBy, v.DecidedBy, v.Erased, v.Supersedes, v.SupersededBy,
		nullNanos(v.RemindedAt), v.ReminderRead}
	if table == "inbox" {
		cols += `, reseller_name, received_pos`
		vals += `, ?, ?`
		set += `, reseller_name = excluded.reseller_name, received_pos = excluded.received_pos`
		args = append(args, c.resellerName, c.receivedPos)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES (`+vals+`)
		ON CONFLICT (id) DO UPDATE SET `+set, args...); err != nil {
		return fmt.Errorf("save %s %s: %w", table, v.ID, err)
	}
	c.dirty = false
	return nil
}

const offerValues = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

const offerUpdate = `reseller_id = excluded.reseller_id, customer_id = excluded.customer_id, template_id = excluded.template_id,
	status = excluded.status, items = excluded.items, message = excluded.message, expires_at = excluded.expires_at,
	dispatch = excluded.dispatch, delivered = excluded.delivered, created_at = excluded.created_at,
	delivered_at = excluded.delivered_at, opened_at = excluded.opened_at, decided_at = excluded.decided_at,
	withdrawn_at = excluded.withdrawn_at, expired_at = excluded.expired_at,
	rejection_reason = excluded.rejection_reason, delivery_error = excluded.delivery_error, version = excluded.version,
	opened_by = excluded.opened_by, decided_by = excluded.decided_by, erased = excluded.erased, supersedes = excluded.supersedes,
	superseded_by = excluded.superseded_by, reminded_at = excluded.reminded_at, reminder_read = excluded.reminder_read`

// offerEvent folds e, an event of an offer's stream, into the offer's row of
// table, kept in the batch and written when it ends, and returns the row
// before and the batch's entry after. A row that is missing before the
// offer's creation event is an error: the log is ordered, so it means a
// read model lost rows.
func offerEvent(ctx context.Context, c *change, table string, id domain.OfferID, e domain.Event) (before offerRow, after *cachedOffer, err error) {
	cur, err := c.batch.offer(ctx, table, id)
	if err != nil {
		return offerRow{}, nil, err
	}
	_, creating := e.(*domain.OfferCreated)
	switch {
	case creating && cur != nil:
		return offerRow{}, nil, fmt.Errorf("%s: offer %s created twice", table, id)
	case !creating && cur == nil:
		return offerRow{}, nil, fmt.Errorf("%s: %s of unknown offer %s", table, e.EventType(), id)
	case creating:
		cur = &cachedOffer{}
	default:
		before = cur.row
	}
	evolveOffer(&cur.row.view, e)
	cur.row.version = c.env.Version
	if creating {
		cur.row.createdPos = c.env.Position
		c.batch.keep(table, cur)
	}
	cur.dirty = true
	return before, cur, nil
}

// eraseOffers overwrites the texts of every offer of e's customer in
// table and marks them erased, as folding e into each (Offer.Apply of
// customer.erased) would. Their versions stay: the event is of the
// customer's stream, not theirs. The statement names a folded table, so
// the batch writes its pending rows first and reads them back afterwards.
func eraseOffers(ctx context.Context, c *change, table string, e *domain.CustomerErased) error {
	if _, err := c.tx.ExecContext(ctx, `UPDATE `+table+` SET message = '', rejection_reason = '', erased = 1
		WHERE customer_id = ?`, e.CustomerID); err != nil {
		return fmt.Errorf("erase %s of %s: %w", table, e.CustomerID, err)
	}
	return nil
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func nullNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
