package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
)

// customerInbox projects each customer's Updates inbox and its badge: the
// offers delivered to the customer, newest first, with read flags, and the
// number of offers waiting for confirmation that the customer has not
// opened. The badge moves in the same transaction as the inbox row whose
// change moves it, by the difference the change makes, so it stays exact
// through delivery, opening, decision, withdrawal, expiry and redelivery.
type customerInbox struct{}

func newCustomerInbox() (*projector, error) {
	v := customerInbox{}
	return newProjector(ProjectorCustomerInbox,
		cqrs.NewGroupEventHandler(v.OnResellerRegistered),
		cqrs.NewGroupEventHandler(v.OnOfferCreated),
		cqrs.NewGroupEventHandler(v.OnOfferDispatched),
		cqrs.NewGroupEventHandler(v.OnOfferDelivered),
		cqrs.NewGroupEventHandler(v.OnOfferDeliveryFailed),
		cqrs.NewGroupEventHandler(v.OnOfferRead),
		cqrs.NewGroupEventHandler(v.OnOfferAccepted),
		cqrs.NewGroupEventHandler(v.OnOfferRejected),
		cqrs.NewGroupEventHandler(v.OnOfferWithdrawn),
		cqrs.NewGroupEventHandler(v.OnOfferExpired),
		cqrs.NewGroupEventHandler(v.OnOfferSuperseded),
		cqrs.NewGroupEventHandler(v.OnOfferReminded),
		cqrs.NewGroupEventHandler(v.OnCustomerErased),
	)
}

// OnCustomerErased overwrites the texts of the customer's offers and marks
// them erased.
func (customerInbox) OnCustomerErased(ctx context.Context, e *domain.CustomerErased) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	return eraseOffers(ctx, c, "inbox", e)
}

// OnResellerRegistered keeps the reseller's name, which inbox entries show.
func (customerInbox) OnResellerRegistered(ctx context.Context, e *domain.ResellerRegistered) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `INSERT INTO inbox_resellers (id, name) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, e.ResellerID, e.Name); err != nil {
		return fmt.Errorf("insert inbox reseller %s: %w", e.ResellerID, err)
	}
	return nil
}

// OnOfferCreated keeps the new offer, not yet visible to the customer.
func (v customerInbox) OnOfferCreated(ctx context.Context, e *domain.OfferCreated) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDispatched records a (new) round of delivery.
func (v customerInbox) OnOfferDispatched(ctx context.Context, e *domain.OfferDispatched) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDelivered puts the offer into the customer's inbox, unread.
func (v customerInbox) OnOfferDelivered(ctx context.Context, e *domain.OfferDelivered) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferDeliveryFailed records the failure (the offer stays invisible).
func (v customerInbox) OnOfferDeliveryFailed(ctx context.Context, e *domain.OfferDeliveryFailed) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferRead marks the offer read.
func (v customerInbox) OnOfferRead(ctx context.Context, e *domain.OfferRead) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferAccepted records the acceptance.
func (v customerInbox) OnOfferAccepted(ctx context.Context, e *domain.OfferAccepted) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferRejected records the rejection.
func (v customerInbox) OnOfferRejected(ctx context.Context, e *domain.OfferRejected) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferWithdrawn records the withdrawal.
func (v customerInbox) OnOfferWithdrawn(ctx context.Context, e *domain.OfferWithdrawn) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferExpired records the expiry.
func (v customerInbox) OnOfferExpired(ctx context.Context, e *domain.OfferExpired) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferSuperseded records the revision: the offer leaves the badge, and
// its successor arrives as an offer of its own.
func (v customerInbox) OnOfferSuperseded(ctx context.Context, e *domain.OfferSuperseded) error {
	return v.offer(ctx, e.OfferID, e)
}

// OnOfferReminded marks the offer unread again, so that the admin sees it.
func (v customerInbox) OnOfferReminded(ctx context.Context, e *domain.OfferReminded) error {
	return v.offer(ctx, e.OfferID, e)
}

// unread reports whether an offer counts on its customer's badge: waiting
// for confirmation and not opened yet, or not since its reminder (the
// contract's definition of both numbers).
func unread(v domain.OfferView) bool {
	return v.Status == domain.StatusWaitingForConfirmation && v.Unread()
}

func (customerInbox) offer(ctx context.Context, id domain.OfferID, e domain.Event) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	before, after, err := offerEvent(ctx, c, "inbox", id, e)
	if err != nil {
		return err
	}
	if before.view.ID == "" {
		if after.resellerName, err = c.batch.resellerName(ctx, after.row.view.ResellerID); err != nil {
			return fmt.Errorf("name reseller of inbox offer %s: %w", id, err)
		}
	}
	if after.row.view.Delivered && !before.view.Delivered {
		after.receivedPos = sql.NullInt64{Int64: int64(c.env.Position), Valid: true}
	}
	delta := 0
	if unread(after.row.view) {
		delta++
	}
	if before.view.ID != "" && unread(before.view) {
		delta--
	}
	if delta != 0 {
		c.batch.badge(after.row.view.CustomerID, delta)
	}
	return nil
}

const inboxQuery = `SELECT ` + stateColumns + `, reseller_name, received_pos FROM inbox`

func scanInbox(s interface{ Scan(...any) error }) (domain.InboxEntry, uint64, error) {
	return newInboxScanner().scan(s)
}

// inboxScanner scans rows of inboxQuery, reusing its destinations.
type inboxScanner struct {
	offer        *offerScanner
	resellerName string
	pos          sql.NullInt64
}

func newInboxScanner() *inboxScanner {
	sc := &inboxScanner{}
	sc.offer = newOfferScanner(&sc.resellerName, &sc.pos)
	return sc
}

// scan reads the next row of s and its received_pos.
func (sc *inboxScanner) scan(s interface{ Scan(...any) error }) (domain.InboxEntry, uint64, error) {
	r, err := sc.offer.scan(s)
	if err != nil {
		return domain.InboxEntry{}, 0, err
	}
	e := domain.InboxEntry{Offer: r.view, Version: r.version, Read: !r.view.Unread(), ResellerName: sc.resellerName}
	if r.view.DeliveredAt != nil {
		e.ReceivedAt = *r.view.DeliveredAt
	}
	return e, uint64(sc.pos.Int64), nil
}

// Inbox returns a page of customer's inbox: the offers delivered to it, in
// any status since, newest delivery first. Offers not delivered yet are not
// there. A cursor that is not from this list fails with ErrBadCursor.
func (db *DB) Inbox(ctx context.Context, customer domain.CustomerID, page domain.PageRequest) (domain.Page[domain.InboxEntry], error) {
	const list = "inbox"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.InboxEntry]{}, err
	}
	limit := limitOf(page.Limit)
	rows, err := db.read.QueryContext(ctx, inboxQuery+`
		WHERE customer_id = ?1 AND delivered = 1 AND (NOT ?2 OR received_pos < ?3)
		ORDER BY received_pos DESC LIMIT ?4`, customer, after, int64(cur.Pos), limit+1)
	if err != nil {
		return domain.Page[domain.InboxEntry]{}, fmt.Errorf("query inbox of %s: %w", customer, err)
	}
	defer rows.Close()
	// Room for a first page of a typical inbox at once; appending beyond
	// it doubles as usual.
	items := make([]domain.InboxEntry, 0, min(limit+1, 16))
	var last uint64 // received_pos of the last row, for the cursor
	sc := newInboxScanner()
	for rows.Next() {
		e, p, err := sc.scan(rows)
		if err != nil {
			return domain.Page[domain.InboxEntry]{}, fmt.Errorf("query inbox of %s: %w", customer, err)
		}
		// The cursor names the last item kept, the limit-th row; the row
		// after it only tells that there is more.
		if len(items) < limit {
			last = p
		}
		items = append(items, e)
	}
	if err := rows.Err(); err != nil {
		return domain.Page[domain.InboxEntry]{}, fmt.Errorf("query inbox of %s: %w", customer, err)
	}
	return pageOf(items, limit, func(domain.InboxEntry) cursor {
		return cursor{List: list, Pos: last}
	}), nil
}

// InboxEntry returns offer id from customer's inbox, or an error matching
// domain.ErrOfferNotFound when it is not there (not delivered yet, or
// another customer's).
func (db *DB) InboxEntry(ctx context.Context, customer domain.CustomerID, id domain.OfferID) (domain.InboxEntry, error) {
	e, _, err := scanInbox(db.read.QueryRowContext(ctx, inboxQuery+`
		WHERE id = ? AND customer_id = ? AND delivered = 1`, id, customer))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.InboxEntry{}, domain.ErrOfferNotFound
	}
	if err != nil {
		return domain.InboxEntry{}, fmt.Errorf("query inbox offer %s: %w", id, err)
	}
	return e, nil
}

// Badge returns customer's unread counts; zero for a customer without
// offers (or one that does not exist: the caller has authenticated it).
func (db *DB) Badge(ctx context.Context, customer domain.CustomerID) (domain.Badge, error) {
	var b domain.Badge
	err := db.read.QueryRowContext(ctx, `SELECT admin, updates FROM badges WHERE customer_id = ?`, customer).Scan(&b.Admin, &b.Updates)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Badge{}, nil
	}
	if err != nil {
		return domain.Badge{}, fmt.Errorf("query badge of %s: %w", customer, err)
	}
	return b, nil
}
