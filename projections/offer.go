package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/domain"
)

// OnOfferCreated records a new offer, counted as waiting.
func (v resellerView) OnOfferCreated(ctx context.Context, e *domain.OfferCreated) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDispatched records a (new) round of delivery.
func (v resellerView) OnOfferDispatched(ctx context.Context, e *domain.OfferDispatched) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDelivered records the offer delivered to the customer's inbox.
func (v resellerView) OnOfferDelivered(ctx context.Context, e *domain.OfferDelivered) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDeliveryFailed records the delivery's failure and its error.
func (v resellerView) OnOfferDeliveryFailed(ctx context.Context, e *domain.OfferDeliveryFailed) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferRead records when the customer opened the offer.
func (v resellerView) OnOfferRead(ctx context.Context, e *domain.OfferRead) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferAccepted records the customer's acceptance.
func (v resellerView) OnOfferAccepted(ctx context.Context, e *domain.OfferAccepted) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferRejected records the customer's rejection and its reason.
func (v resellerView) OnOfferRejected(ctx context.Context, e *domain.OfferRejected) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferWithdrawn records the reseller's withdrawal.
func (v resellerView) OnOfferWithdrawn(ctx context.Context, e *domain.OfferWithdrawn) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferExpired records the offer's expiry.
func (v resellerView) OnOfferExpired(ctx context.Context, e *domain.OfferExpired) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferSuperseded records the revision that replaced the offer.
func (v resellerView) OnOfferSuperseded(ctx context.Context, e *domain.OfferSuperseded) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferReminded records when the customer was reminded of the expiry.
func (v resellerView) OnOfferReminded(ctx context.Context, e *domain.OfferReminded) error {
	return v.offer(ctx, e.OfferID, e)
}

// offer folds e into the offer's row and moves the customer's counts from
// the old status to the new one (both kept in the batch).
func (resellerView) offer(ctx context.Context, id domain.OfferID, e domain.Event) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	before, after, err := offerEvent(ctx, c, "offers", id, e)
	if err != nil {
		return err
	}
	customer := after.row.view.CustomerID
	if before.view.ID == "" {
		c.batch.count(customer, after.row.view.Status, 1)
		return nil
	}
	if before.view.Status != after.row.view.Status {
		c.batch.count(customer, before.view.Status, -1)
		c.batch.count(customer, after.row.view.Status, 1)
	}
	return nil
}

// offerRecordQuery selects offer rows with the names of their reseller and
// customer.
const offerRecordQuery = `SELECT o.version, o.state, o.created_pos, coalesce(r.name, ''), coalesce(c.name, '')
	FROM offers o LEFT JOIN resellers r ON r.id = o.reseller_id LEFT JOIN customers c ON c.id = o.customer_id`

func scanOfferRecord(s interface{ Scan(...any) error }) (domain.OfferRecord, uint64, error) {
	var rec domain.OfferRecord
	var pos int64
	r, err := scanOffer(s, &pos, &rec.ResellerName, &rec.CustomerName)
	if err != nil {
		return domain.OfferRecord{}, 0, err
	}
	rec.Offer, rec.Version = r.view, r.version
	return rec, uint64(pos), nil
}

// Offers returns a page of the offers that f selects, newest first (by the
// position of their creation). Empty fields of f select all, so the caller
// must set f.Reseller for a reseller (and for an auditor bound to one); only
// an auditor of every reseller may leave it empty. A cursor that is not from
// this list fails with ErrBadCursor.
func (db *DB) Offers(ctx context.Context, f domain.OfferFilter) (domain.Page[domain.OfferRecord], error) {
	return offers(ctx, db.read, f)
}

func offers(ctx context.Context, q querier, f domain.OfferFilter) (domain.Page[domain.OfferRecord], error) {
	const list = "offers"
	cur, after, err := decodeCursor(list, f.Page.Cursor)
	if err != nil {
		return domain.Page[domain.OfferRecord]{}, err
	}
	limit := limitOf(f.Page.Limit)
	rows, err := q.QueryContext(ctx, offerRecordQuery+`
		WHERE (?1 = '' OR o.reseller_id = ?1) AND (?2 = '' OR o.customer_id = ?2) AND (?3 = '' OR o.status = ?3)
		  AND (NOT ?4 OR o.created_pos < ?5)
		ORDER BY o.created_pos DESC LIMIT ?6`,
		f.Reseller, f.Customer, f.Status, after, int64(cur.Pos), limit+1)
	if err != nil {
		return domain.Page[domain.OfferRecord]{}, fmt.Errorf("query offers: %w", err)
	}
	defer rows.Close()
	var items []domain.OfferRecord
	pos := map[domain.OfferID]uint64{}
	for rows.Next() {
		rec, p, err := scanOfferRecord(rows)
		if err != nil {
			return domain.Page[domain.OfferRecord]{}, fmt.Errorf("query offers: %w", err)
		}
		pos[rec.Offer.ID] = p
		items = append(items, rec)
	}
	if err := rows.Err(); err != nil {
		return domain.Page[domain.OfferRecord]{}, fmt.Errorf("query offers: %w", err)
	}
	return pageOf(items, limit, func(r domain.OfferRecord) cursor {
		return cursor{List: list, Pos: pos[r.Offer.ID]}
	}), nil
}

// Offer returns offer id as its reseller sees it, or an error matching
// domain.ErrOfferNotFound when there is none or it is not reseller's. An
// empty reseller matches every offer (for an auditor of every reseller).
func (db *DB) Offer(ctx context.Context, reseller domain.ResellerID, id domain.OfferID) (domain.OfferRecord, error) {
	rec, _, err := scanOfferRecord(db.read.QueryRowContext(ctx, offerRecordQuery+`
		WHERE o.id = ?1 AND (?2 = '' OR o.reseller_id = ?2)`, id, reseller))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.OfferRecord{}, domain.ErrOfferNotFound
	}
	if err != nil {
		return domain.OfferRecord{}, fmt.Errorf("query offer %s: %w", id, err)
	}
	return rec, nil
}
