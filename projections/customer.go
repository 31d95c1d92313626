package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// OnCustomerRegistered records a customer of a reseller.
func (resellerView) OnCustomerRegistered(ctx context.Context, e *domain.CustomerRegistered) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	// Read with its texts null (Erased), its key is gone: the customer
	// shows erased, as its customer.erased, which the read models may not
	// reach (a replay as of an earlier position), would leave it.
	_, err = c.tx.ExecContext(ctx, `INSERT INTO customers (id, reseller_id, name, name_key, external_ref, version, erased)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET reseller_id = excluded.reseller_id, name = excluded.name,
			name_key = excluded.name_key, external_ref = excluded.external_ref, version = excluded.version,
			erased = excluded.erased`,
		e.CustomerID, e.ResellerID, e.Name, nameKey(e.Name), e.ExternalRef, int64(c.env.Version), c.env.Erased)
	if err != nil {
		return fmt.Errorf("insert customer %s: %w", e.CustomerID, err)
	}
	return nil
}

// OnCustomerWebhookSet moves the customer's version. The webhook itself (and
// its secret) stays out of the read models: only the delivery process needs
// it, and it reads the customer's stream.
func (resellerView) OnCustomerWebhookSet(ctx context.Context, e *domain.CustomerWebhookSet) error {
	return touchCustomer(ctx, e.CustomerID)
}

// OnCustomerWebhookRemoved moves the customer's version.
func (resellerView) OnCustomerWebhookRemoved(ctx context.Context, e *domain.CustomerWebhookRemoved) error {
	return touchCustomer(ctx, e.CustomerID)
}

// OnCustomerErased overwrites the customer's name and reference, and the
// texts of its offers, and marks them erased.
func (resellerView) OnCustomerErased(ctx context.Context, e *domain.CustomerErased) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `UPDATE customers SET name = '', name_key = '', external_ref = '', erased = 1, version = ?
		WHERE id = ?`, int64(c.env.Version), e.CustomerID); err != nil {
		return fmt.Errorf("erase customer %s: %w", e.CustomerID, err)
	}
	return eraseOffers(ctx, c, "offers", e)
}

func touchCustomer(ctx context.Context, id domain.CustomerID) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `UPDATE customers SET version = ? WHERE id = ?`, int64(c.env.Version), id); err != nil {
		return fmt.Errorf("update customer %s: %w", id, err)
	}
	return nil
}

// countOffer adds delta (a batch's sum) to the number of customer's offers
// in status, deleting a count that reaches zero.
func countOffer(ctx context.Context, tx *sql.Tx, customer domain.CustomerID, status domain.OfferStatus, delta int) error {
	if delta == 0 {
		return nil
	}
	if delta > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_offer_counts (customer_id, status, count) VALUES (?, ?, ?)
			ON CONFLICT (customer_id, status) DO UPDATE SET count = count + excluded.count`, customer, status, delta); err != nil {
			return fmt.Errorf("count offers of %s: %w", customer, err)
		}
		return nil
	}
	// The CHECK on count is evaluated on an upsert's candidate row too, so
	// a decrement is a plain update of a row that must exist.
	res, err := tx.ExecContext(ctx, `UPDATE customer_offer_counts SET count = count + ? WHERE customer_id = ? AND status = ?`,
		delta, customer, status)
	if err != nil {
		return fmt.Errorf("count offers of %s: %w", customer, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("count offers of %s: no offer in status %s to uncount", customer, status)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM customer_offer_counts WHERE customer_id = ? AND status = ? AND count = 0`,
		customer, status); err != nil {
		return fmt.Errorf("count offers of %s: %w", customer, err)
	}
	return nil
}

// Customers returns a page of reseller's customers ordered by name (case
// folded, then id), each with its offer counts. A cursor that is not from
// this list fails with ErrBadCursor.
func (db *DB) Customers(ctx context.Context, reseller domain.ResellerID, page domain.PageRequest) (domain.Page[domain.CustomerRecord], error) {
	const list = "customers"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.CustomerRecord]{}, err
	}
	limit := limitOf(page.Limit)
	var pg domain.Page[domain.CustomerRecord]
	err = db.snapshot(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, reseller_id, name, external_ref, version, erased, name_key FROM customers
			WHERE reseller_id = ?1 AND (NOT ?2 OR (name_key, id) > (?3, ?4))
			ORDER BY name_key, id LIMIT ?5`, reseller, after, cur.Key, cur.ID, limit+1)
		if err != nil {
			return err
		}
		if pg, err = namePage(rows, list, limit, func(rows *sql.Rows, key *string) (domain.CustomerRecord, error) {
			return scanCustomer(rows, key)
		}, func(c domain.CustomerRecord) string { return string(c.ID) }); err != nil {
			return err
		}
		return fillOfferCounts(ctx, q, pg.Items)
	})
	if err != nil {
		return domain.Page[domain.CustomerRecord]{}, fmt.Errorf("query customers of %s: %w", reseller, err)
	}
	return pg, nil
}

// Customer returns customer id of reseller with its offer counts, or an
// error matching domain.ErrCustomerNotFound when there is none (also when it
// is another reseller's). Its offers are listed by CustomerOffers.
func (db *DB) Customer(ctx context.Context, reseller domain.ResellerID, id domain.CustomerID) (domain.CustomerRecord, error) {
	var cs []domain.CustomerRecord
	err := db.snapshot(ctx, func(q querier) error {
		cr, err := scanCustomer(q.QueryRowContext(ctx, `SELECT id, reseller_id, name, external_ref, version, erased
			FROM customers WHERE id = ? AND reseller_id = ?`, id, reseller))
		if err != nil {
			return err
		}
		cs = []domain.CustomerRecord{cr}
		return fillOfferCounts(ctx, q, cs)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.CustomerRecord{}, domain.ErrCustomerNotFound
	}
	if err != nil {
		return domain.CustomerRecord{}, fmt.Errorf("query customer %s: %w", id, err)
	}
	return cs[0], nil
}

// CustomerOffers returns a page of the offers of customer id of reseller,
// newest first, or an error matching domain.ErrCustomerNotFound when the
// customer is not reseller's.
func (db *DB) CustomerOffers(ctx context.Context, reseller domain.ResellerID, id domain.CustomerID, page domain.PageRequest) (domain.Page[domain.OfferRecord], error) {
	var pg domain.Page[domain.OfferRecord]
	err := db.snapshot(ctx, func(q querier) error {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM customers WHERE id = ? AND reseller_id = ?`,
			id, reseller).Scan(&n); err != nil {
			return fmt.Errorf("query customer %s: %w", id, err)
		}
		if n == 0 {
			return domain.ErrCustomerNotFound
		}
		var err error
		pg, err = offers(ctx, q, domain.OfferFilter{Reseller: reseller, Customer: id, Page: page})
		return err
	})
	return pg, err
}

func scanCustomer(s interface{ Scan(...any) error }, extra ...any) (domain.CustomerRecord, error) {
	var (
		c       domain.CustomerRecord
		version int64
	)
	if err := s.Scan(append([]any{&c.ID, &c.ResellerID, &c.Name, &c.ExternalRef, &version, &c.Erased}, extra...)...); err != nil {
		return domain.CustomerRecord{}, err
	}
	c.Version = uint64(version)
	return c, nil
}

// fillOfferCounts loads the offer counts of cs with one query. Every status
// is present in each map, zero when the customer has no offer in it, so that
// clients see the full set of keys.
func fillOfferCounts(ctx context.Context, q querier, cs []domain.CustomerRecord) error {
	if len(cs) == 0 {
		return nil
	}
	at := make(map[domain.CustomerID]int, len(cs))
	args := make([]any, len(cs))
	for i := range cs {
		cs[i].OfferCounts = make(map[domain.OfferStatus]int, len(domain.OfferStatuses()))
		for _, s := range domain.OfferStatuses() {
			cs[i].OfferCounts[s] = 0
		}
		at[cs[i].ID] = i
		args[i] = cs[i].ID
	}
	rows, err := q.QueryContext(ctx, `SELECT customer_id, status, count FROM customer_offer_counts
		WHERE customer_id IN (?`+strings.Repeat(", ?", len(cs)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("query offer counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     domain.CustomerID
			status domain.OfferStatus
			n      int
		)
		if err := rows.Scan(&id, &status, &n); err != nil {
			return fmt.Errorf("query offer counts: %w", err)
		}
		cs[at[id]].OfferCounts[status] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query offer counts: %w", err)
	}
	return nil
}
