package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
)

// auditIndex projects an index of every event of the offer-* and grant-*
// streams, with its whole envelope, keyed by position and tagged with the
// offer's reseller and customer, so that the audit feed and offer histories
// are served in global order filtered by tenant without reading the log.
type auditIndex struct{}

func newAuditIndex() (*projector, error) {
	v := auditIndex{}
	p, err := newProjector(ProjectorAuditIndex,
		cqrs.NewGroupEventHandler(v.OnOfferCreated),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferDispatched) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(v.OnOfferDelivered),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferDeliveryFailed) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferRead) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferAccepted) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferRejected) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferWithdrawn) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferExpired) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferSuperseded) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.OfferReminded) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(func(ctx context.Context, e *domain.LicensesGranted) error { return v.index(ctx, e.OfferID) }),
		cqrs.NewGroupEventHandler(v.OnCustomerErased),
	)
	if err != nil {
		return nil, err
	}
	p.envelopes = true
	return p, nil
}

// OnCustomerErased nulls the personal texts in the indexed envelopes of the
// customer's offers and marks them erased, as the log now reads them.
func (auditIndex) OnCustomerErased(ctx context.Context, e *domain.CustomerErased) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	rows, err := c.tx.QueryContext(ctx, `SELECT position, envelope FROM audit_events WHERE customer_id = ?`, e.CustomerID)
	if err != nil {
		return fmt.Errorf("erase audit events of %s: %w", e.CustomerID, err)
	}
	type row struct {
		pos int64
		env []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.pos, &r.env); err != nil {
			_ = rows.Close()
			return fmt.Errorf("erase audit events of %s: %w", e.CustomerID, err)
		}
		todo = append(todo, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("erase audit events of %s: %w", e.CustomerID, err)
	}
	for _, r := range todo {
		var ev domain.Envelope
		if err := json.Unmarshal(r.env, &ev); err != nil {
			return fmt.Errorf("erase audit event %d: %w", r.pos, err)
		}
		data, changed, err := nullTexts(ev.Type, ev.Data)
		if err != nil {
			return fmt.Errorf("erase audit event %d: %w", r.pos, err)
		}
		if !changed {
			continue
		}
		ev.Data, ev.Erased = data, true
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("erase audit event %d: %w", r.pos, err)
		}
		if _, err := c.tx.ExecContext(ctx, `UPDATE audit_events SET envelope = ? WHERE position = ?`, string(b), r.pos); err != nil {
			return fmt.Errorf("erase audit event %d: %w", r.pos, err)
		}
	}
	return nil
}

// nullTexts returns data of an event of typ with its personal texts
// (domain.PersonalTexts) set to null, and whether any was not null.
func nullTexts(typ string, data json.RawMessage) (json.RawMessage, bool, error) {
	return domain.RewriteTexts(data, domain.PersonalTexts(typ), func(_ domain.PersonalText, _ json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage("null"), nil
	})
}

// OnOfferCreated records who may see the offer's events, then indexes the
// event. The row is kept in the batch and written when it ends.
func (v auditIndex) OnOfferCreated(ctx context.Context, e *domain.OfferCreated) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	// A second creation fails here within a batch, or when the batch
	// writes the row (its key is taken), as the INSERT at once did.
	if _, ok := c.batch.audit[e.OfferID]; ok {
		return fmt.Errorf("audit offer %s created twice", e.OfferID)
	}
	c.batch.audit[e.OfferID] = &auditOffer{reseller: e.ResellerID, customer: e.CustomerID, dirty: true}
	return v.index(ctx, e.OfferID)
}

// OnOfferDelivered opens the offer's events to its customer, then indexes
// the event.
func (v auditIndex) OnOfferDelivered(ctx context.Context, e *domain.OfferDelivered) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	a, err := c.batch.auditOffer(ctx, e.OfferID)
	if err != nil {
		return err
	}
	if a != nil && !a.delivered {
		a.delivered, a.dirty = true, true
	}
	return v.index(ctx, e.OfferID)
}

// index stores the event being applied under offer.
func (auditIndex) index(ctx context.Context, offer domain.OfferID) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	a, err := c.batch.auditOffer(ctx, offer)
	if err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("index audit event %d: unknown offer %s", c.env.Position, offer)
	}
	envelope := c.envelope
	if envelope == "" {
		b, err := encodeEnvelope(c.env)
		if err != nil {
			return fmt.Errorf("encode audit event %d: %w", c.env.Position, err)
		}
		envelope = string(b)
	}
	// Inserted with the batch's other rows when it ends (batchCache.flush).
	c.batch.events = append(c.batch.events, auditRow{
		position: int64(c.env.Position), offer: offer, reseller: a.reseller, customer: a.customer, envelope: envelope,
	})
	return nil
}

// auditScope turns what actor may see (domain.ScopeOf) into the SQL filter
// of audit rows e: one condition per limit of the scope. A scope that sees
// nothing may read no history.
func auditScope(actor domain.Actor) (where string, args []any, err error) {
	sc := domain.ScopeOf(actor)
	if sc.None() {
		return "", nil, domain.Errorf(domain.EFORBIDDEN, "this role may not read offer histories")
	}
	conds := []string{`1`}
	if sc.Reseller != "" {
		conds, args = append(conds, `e.reseller_id = ?`), append(args, string(sc.Reseller))
	}
	if sc.Customer != "" {
		conds, args = append(conds, `e.customer_id = ?`), append(args, string(sc.Customer))
	}
	if sc.DeliveredOnly {
		conds = append(conds, `EXISTS (SELECT 1 FROM audit_offers o WHERE o.offer_id = e.offer_id AND o.delivered = 1)`)
	}
	return strings.Join(conds, " AND "), args, nil
}

// AuditEvents returns up to limit (bounded by MaxLimit) events of offers
// that actor may see, with position > after, in global order. It fails with
// an error of code domain.EFORBIDDEN for roles that may read no history.
func (db *DB) AuditEvents(ctx context.Context, actor domain.Actor, after uint64, limit int) ([]domain.Envelope, error) {
	where, args, err := auditScope(actor)
	if err != nil {
		return nil, err
	}
	args = append(args, int64(after), limitOf(limit))
	rows, err := db.read.QueryContext(ctx, `SELECT e.envelope FROM audit_events e
		WHERE `+where+` AND e.position > ? ORDER BY e.position LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("query audit events: %w", err)
	}
	return scanAudit(rows)
}

// OfferHistory returns a page of the events of offer id, oldest first, or an
// error matching domain.ErrOfferNotFound when actor may not see the offer
// (as domain.Offer.VisibleTo decides: a customer only once it was
// delivered). A cursor that is not from this list fails with ErrBadCursor.
func (db *DB) OfferHistory(ctx context.Context, actor domain.Actor, id domain.OfferID, page domain.PageRequest) (domain.Page[domain.Envelope], error) {
	const list = "history"
	cur, _, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.Envelope]{}, err
	}
	where, args, err := auditScope(actor)
	if err != nil {
		return domain.Page[domain.Envelope]{}, domain.ErrOfferNotFound
	}
	limit := limitOf(page.Limit)
	var items []domain.Envelope
	err = db.snapshot(ctx, func(q querier) error {
		var visible int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM audit_offers e WHERE e.offer_id = ? AND `+where,
			append([]any{id}, args...)...).Scan(&visible); err != nil {
			return fmt.Errorf("query offer %s history: %w", id, err)
		}
		if visible == 0 {
			return domain.ErrOfferNotFound
		}
		rows, err := q.QueryContext(ctx, `SELECT envelope FROM audit_events WHERE offer_id = ? AND position > ?
			ORDER BY position LIMIT ?`, id, int64(cur.Pos), limit+1)
		if err != nil {
			return fmt.Errorf("query offer %s history: %w", id, err)
		}
		items, err = scanAudit(rows)
		return err
	})
	if err != nil {
		return domain.Page[domain.Envelope]{}, err
	}
	return pageOf(items, limit, func(e domain.Envelope) cursor { return cursor{List: list, Pos: e.Position} }), nil
}

func scanAudit(rows *sql.Rows) ([]domain.Envelope, error) {
	defer rows.Close()
	out := []domain.Envelope{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("query audit events: %w", err)
		}
		var e domain.Envelope
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("decode audit event: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query audit events: %w", err)
	}
	return out, nil
}
