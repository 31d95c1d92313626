package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Two read models keep an offer's whole state: the reseller view (table
// offers) and the customer inbox (table inbox). Each has its own checkpoint,
// so neither may read the other's rows; they share the code below instead.
// Each row holds the offer's state as one document (the state column: see
// encodeState) and, beside it, only what the table's queries filter, sort
// and index on, copied from the state when the row is written.

// evolveOffer folds one offer event into v with the domain's own Apply, so
// that the read model can never disagree with the aggregate.
func evolveOffer(v *domain.OfferView, e domain.Event) {
	o := domain.RestoreOffer(*v)
	o.Apply(e)
	*v = o.View()
}

// offerRow is an offer's row: its state, the position of its creation (kept
// by offers only) and its stream version.
type offerRow struct {
	view       domain.OfferView
	createdPos uint64
	version    uint64
}

// stateColumns are the columns every offer row begins with when read.
const stateColumns = `version, state`

// scanOffer scans stateColumns, then extra.
func scanOffer(s interface{ Scan(...any) error }, extra ...any) (offerRow, error) {
	return newOfferScanner(extra...).scan(s)
}

// offerScanner scans rows of stateColumns, then extra, reusing its
// destinations from row to row.
type offerScanner struct {
	r       offerRow
	version int64
	state   string
	dest    []any
}

func newOfferScanner(extra ...any) *offerScanner {
	sc := &offerScanner{}
	sc.dest = append([]any{&sc.version, &sc.state}, extra...)
	return sc
}

// scan reads the next row of s: the offer's, and extra's destinations.
func (sc *offerScanner) scan(s interface{ Scan(...any) error }) (offerRow, error) {
	sc.r = offerRow{}
	if err := s.Scan(sc.dest...); err != nil {
		return offerRow{}, err
	}
	if err := decodeState(sc.state, &sc.r.view); err != nil {
		return offerRow{}, fmt.Errorf("offer state document: %w", err)
	}
	sc.r.version = uint64(sc.version)
	return sc.r, nil
}

// saveOffer writes c's row to table, inserting or replacing it. An offer's
// reseller and customer never change, so an update leaves them be.
func saveOffer(ctx context.Context, tx *sql.Tx, table string, c *cachedOffer) error {
	v := c.row.view
	state, err := encodeState(v)
	if err != nil {
		return fmt.Errorf("encode state of %s: %w", v.ID, err)
	}
	var q string
	var args []any
	switch table {
	case "offers":
		q = `INSERT INTO offers (id, created_pos, reseller_id, customer_id, status, version, state) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version, state = excluded.state`
		args = []any{v.ID, int64(c.row.createdPos), v.ResellerID, v.CustomerID, v.Status, int64(c.row.version), state}
	case "inbox":
		q = `INSERT INTO inbox (id, customer_id, delivered, received_pos, reseller_name, version, state) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET delivered = excluded.delivered, received_pos = excluded.received_pos,
				reseller_name = excluded.reseller_name, version = excluded.version, state = excluded.state`
		args = []any{v.ID, v.CustomerID, v.Delivered, c.receivedPos, c.resellerName, int64(c.row.version), state}
	default:
		return fmt.Errorf("save offer %s: no offer table %q", v.ID, table)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("save %s %s: %w", table, v.ID, err)
	}
	c.dirty = false
	return nil
}

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
	if c.env.Erased {
		// Its texts were read as null: the customer's key is gone, though
		// the read models may not reach its customer.erased (a replay as
		// of an earlier position) or not yet (it follows the destruction).
		// The offer shows erased, as customer.erased would leave it.
		evolveOffer(&cur.row.view, &domain.CustomerErased{CustomerID: cur.row.view.CustomerID})
	}
	cur.row.version = c.env.Version
	if creating {
		cur.row.createdPos = c.env.Position
		c.batch.keep(table, cur)
	}
	cur.dirty = true
	return before, cur, nil
}

// eraseOffers folds e into the state of every offer of e's customer in
// table, as the domain's Apply of customer.erased does (texts overwritten,
// erased set), so that the documents keep none of the customer's texts.
// Their versions stay: the event is of the customer's stream, not theirs.
// The query names a folded table, so the batch writes its pending rows
// first; the offers are read back into it and written when it ends.
func eraseOffers(ctx context.Context, c *change, table string, e *domain.CustomerErased) error {
	rows, err := c.tx.QueryContext(ctx, `SELECT id FROM `+table+` WHERE customer_id = ?`, e.CustomerID)
	if err != nil {
		return fmt.Errorf("erase %s of %s: %w", table, e.CustomerID, err)
	}
	var ids []domain.OfferID
	for rows.Next() {
		var id domain.OfferID
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return fmt.Errorf("erase %s of %s: %w", table, e.CustomerID, err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("erase %s of %s: %w", table, e.CustomerID, err)
	}
	for _, id := range ids {
		cur, err := c.batch.offer(ctx, table, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("erase %s of %s: offer %s is gone", table, e.CustomerID, id)
		}
		evolveOffer(&cur.row.view, e)
		cur.dirty = true
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
