package projections

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
)

// licenseView projects the licenses each customer was granted by accepted
// offers, one row per offer item, as licenses.granted recorded them.
type licenseView struct{}

func newLicenseView() (*projector, error) {
	v := licenseView{}
	return newProjector(ProjectorLicenses, cqrs.NewGroupEventHandler(v.OnLicensesGranted))
}

// OnLicensesGranted records the licenses of an accepted offer.
func (licenseView) OnLicensesGranted(ctx context.Context, e *domain.LicensesGranted) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	for i, l := range e.Licenses {
		if _, err := c.tx.ExecContext(ctx, `INSERT INTO licenses (offer_id, item_id, customer_id, reseller_id, granted_pos,
			idx, product_id, product_name, kind, term_months, license_mode, seats, granted_at, valid_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.OfferID, l.ItemID, e.CustomerID, e.ResellerID, int64(c.env.Position), i, l.ProductID, l.ProductName,
			l.Kind, l.TermMonths, l.LicenseMode, nullSeats(l.Seats), nanos(l.GrantedAt), nullNanos(l.ValidUntil)); err != nil {
			return fmt.Errorf("insert license %s/%s: %w", e.OfferID, l.ItemID, err)
		}
	}
	return nil
}

// Licenses returns a page of the licenses granted to customer, newest grant
// first and, within a grant, in the order of the offer's items. A cursor
// that is not from this list fails with ErrBadCursor.
func (db *DB) Licenses(ctx context.Context, customer domain.CustomerID, page domain.PageRequest) (domain.Page[domain.LicenseRecord], error) {
	const list = "licenses"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.LicenseRecord]{}, err
	}
	limit := limitOf(page.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT offer_id, item_id, customer_id, product_id, product_name, kind,
		term_months, license_mode, seats, granted_at, valid_until, granted_pos, idx FROM licenses
		WHERE customer_id = ?1 AND (NOT ?2 OR granted_pos < ?3 OR (granted_pos = ?3 AND idx > ?4))
		ORDER BY granted_pos DESC, idx LIMIT ?5`, customer, after, int64(cur.Pos), cur.Idx, limit+1)
	if err != nil {
		return domain.Page[domain.LicenseRecord]{}, fmt.Errorf("query licenses of %s: %w", customer, err)
	}
	defer rows.Close()
	type key struct {
		pos uint64
		idx int
	}
	var items []domain.LicenseRecord
	keys := map[[2]string]key{}
	for rows.Next() {
		var (
			l              domain.LicenseRecord
			seats, until   sql.NullInt64
			grantedAt, pos int64
			idx            int
		)
		if err := rows.Scan(&l.OfferID, &l.ItemID, &l.CustomerID, &l.ProductID, &l.ProductName, &l.Kind, &l.TermMonths,
			&l.LicenseMode, &seats, &grantedAt, &until, &pos, &idx); err != nil {
			return domain.Page[domain.LicenseRecord]{}, fmt.Errorf("query licenses of %s: %w", customer, err)
		}
		l.Seats, l.GrantedAt, l.ValidUntil = seatsOf(seats), fromNanos(grantedAt), fromNullNanos(until)
		keys[[2]string{string(l.OfferID), string(l.ItemID)}] = key{uint64(pos), idx}
		items = append(items, l)
	}
	if err := rows.Err(); err != nil {
		return domain.Page[domain.LicenseRecord]{}, fmt.Errorf("query licenses of %s: %w", customer, err)
	}
	return pageOf(items, limit, func(l domain.LicenseRecord) cursor {
		k := keys[[2]string{string(l.OfferID), string(l.ItemID)}]
		return cursor{List: list, Pos: k.pos, Idx: k.idx}
	}), nil
}
