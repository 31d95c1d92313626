package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// nameKey is how names sort and match: folded to lower case, so that
// ordering and search ignore case (Unicode-aware, unlike SQLite's LIKE,
// which folds ASCII only).
func nameKey(name string) string { return strings.ToLower(name) }

// OnProductAdded records a product in its reseller's catalog.
func (resellerView) OnProductAdded(ctx context.Context, e *domain.ProductAdded) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	terms := e.LicenseTermsMonths
	if terms == nil {
		terms = []int{}
	}
	b, err := json.Marshal(terms)
	if err != nil {
		return fmt.Errorf("encode terms of product %s: %w", e.ProductID, err)
	}
	_, err = c.tx.ExecContext(ctx, `INSERT INTO products (id, reseller_id, name, name_key, kind, terms, version)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET reseller_id = excluded.reseller_id, name = excluded.name,
			name_key = excluded.name_key, kind = excluded.kind, terms = excluded.terms, version = excluded.version`,
		e.ProductID, e.ResellerID, e.Name, nameKey(e.Name), e.Kind, string(b), int64(c.env.Version))
	if err != nil {
		return fmt.Errorf("insert product %s: %w", e.ProductID, err)
	}
	return nil
}

const productColumns = `id, reseller_id, name, kind, terms, version`

func scanProduct(s interface{ Scan(...any) error }, extra ...any) (domain.ProductRecord, error) {
	var (
		p       domain.ProductRecord
		terms   string
		version int64
	)
	if err := s.Scan(append([]any{&p.ID, &p.ResellerID, &p.Name, &p.Kind, &terms, &version}, extra...)...); err != nil {
		return domain.ProductRecord{}, err
	}
	if err := json.Unmarshal([]byte(terms), &p.LicenseTermsMonths); err != nil {
		return domain.ProductRecord{}, fmt.Errorf("product %s terms: %w", p.ID, err)
	}
	p.Version = uint64(version)
	return p, nil
}

// Products returns a page of reseller's products ordered by name (case
// folded, then id); q, when not empty, keeps those whose name contains it,
// ignoring case. A cursor that is not from this list fails with ErrBadCursor.
func (db *DB) Products(ctx context.Context, reseller domain.ResellerID, q string, page domain.PageRequest) (domain.Page[domain.ProductRecord], error) {
	const list = "products"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.ProductRecord]{}, err
	}
	limit := limitOf(page.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+productColumns+`, name_key FROM products
		WHERE reseller_id = ?1
		  AND (?2 = '' OR instr(name_key, ?2) > 0)
		  AND (NOT ?3 OR (name_key, id) > (?4, ?5))
		ORDER BY name_key, id LIMIT ?6`,
		reseller, nameKey(q), after, cur.Key, cur.ID, limit+1)
	if err != nil {
		return domain.Page[domain.ProductRecord]{}, fmt.Errorf("query products of %s: %w", reseller, err)
	}
	pg, err := namePage(rows, list, limit, func(rows *sql.Rows, key *string) (domain.ProductRecord, error) {
		return scanProduct(rows, key)
	}, func(p domain.ProductRecord) string { return string(p.ID) })
	if err != nil {
		return domain.Page[domain.ProductRecord]{}, fmt.Errorf("query products of %s: %w", reseller, err)
	}
	return pg, nil
}

// Product returns product id of reseller, or an error matching
// domain.ErrProductNotFound when there is none (also when it is another
// reseller's).
func (db *DB) Product(ctx context.Context, reseller domain.ResellerID, id domain.ProductID) (domain.ProductRecord, error) {
	p, err := scanProduct(db.read.QueryRowContext(ctx,
		`SELECT `+productColumns+` FROM products WHERE id = ? AND reseller_id = ?`, id, reseller))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ProductRecord{}, domain.ErrProductNotFound
	}
	if err != nil {
		return domain.ProductRecord{}, fmt.Errorf("query product %s: %w", id, err)
	}
	return p, nil
}
