package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// OnTemplateCreated records a new, empty template.
func (resellerView) OnTemplateCreated(ctx context.Context, e *domain.TemplateCreated) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	_, err = c.tx.ExecContext(ctx, `INSERT INTO templates (id, reseller_id, name, name_key, archived, version)
		VALUES (?, ?, ?, ?, 0, ?)
		ON CONFLICT (id) DO UPDATE SET reseller_id = excluded.reseller_id, name = excluded.name,
			name_key = excluded.name_key, archived = 0, version = excluded.version`,
		e.TemplateID, e.ResellerID, e.Name, nameKey(e.Name), int64(c.env.Version))
	if err != nil {
		return fmt.Errorf("insert template %s: %w", e.TemplateID, err)
	}
	return nil
}

// OnTemplateItemAdded appends an item; its seq is the stream version of this
// event, which keeps items in the order they were added.
func (resellerView) OnTemplateItemAdded(ctx context.Context, e *domain.TemplateItemAdded) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	it := e.Item
	if _, err := c.tx.ExecContext(ctx, `INSERT INTO template_items
		(template_id, item_id, seq, product_id, product_name, kind, term_months, license_mode, seats)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.TemplateID, it.ID, int64(c.env.Version), it.ProductID, it.ProductName, it.Kind, it.TermMonths,
		it.LicenseMode, nullSeats(it.Seats)); err != nil {
		return fmt.Errorf("insert item %s of template %s: %w", it.ID, e.TemplateID, err)
	}
	return touchTemplate(ctx, c, e.TemplateID, "")
}

// OnTemplateItemModeChanged records an item's license mode toggled.
func (resellerView) OnTemplateItemModeChanged(ctx context.Context, e *domain.TemplateItemModeChanged) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `UPDATE template_items SET license_mode = ? WHERE template_id = ? AND item_id = ?`,
		e.LicenseMode, e.TemplateID, e.ItemID); err != nil {
		return fmt.Errorf("update item %s of template %s: %w", e.ItemID, e.TemplateID, err)
	}
	return touchTemplate(ctx, c, e.TemplateID, "")
}

// OnTemplateItemRemoved takes an item out.
func (resellerView) OnTemplateItemRemoved(ctx context.Context, e *domain.TemplateItemRemoved) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `DELETE FROM template_items WHERE template_id = ? AND item_id = ?`,
		e.TemplateID, e.ItemID); err != nil {
		return fmt.Errorf("delete item %s of template %s: %w", e.ItemID, e.TemplateID, err)
	}
	return touchTemplate(ctx, c, e.TemplateID, "")
}

// OnTemplateArchived records the template archived.
func (resellerView) OnTemplateArchived(ctx context.Context, e *domain.TemplateArchived) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	return touchTemplate(ctx, c, e.TemplateID, ", archived = 1")
}

// touchTemplate moves a template's version to that of the event being
// applied, setting set (an SQL assignment list starting with a comma) too.
func touchTemplate(ctx context.Context, c *change, id domain.TemplateID, set string) error {
	res, err := c.tx.ExecContext(ctx, `UPDATE templates SET version = ?`+set+` WHERE id = ?`, int64(c.env.Version), id)
	if err != nil {
		return fmt.Errorf("update template %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("update template %s: no such template", id)
	}
	return nil
}

func nullSeats(s *int) sql.NullInt64 {
	if s == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*s), Valid: true}
}

// Templates returns a page of reseller's templates ordered by name (case
// folded, then id), each with its items; archived ones only when
// includeArchived. A cursor that is not from this list fails with
// ErrBadCursor.
func (db *DB) Templates(ctx context.Context, reseller domain.ResellerID, includeArchived bool, page domain.PageRequest) (domain.Page[domain.TemplateRecord], error) {
	const list = "templates"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.TemplateRecord]{}, err
	}
	limit := limitOf(page.Limit)
	var pg domain.Page[domain.TemplateRecord]
	err = db.snapshot(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, reseller_id, name, archived, version, name_key FROM templates
			WHERE reseller_id = ?1 AND (?2 OR archived = 0) AND (NOT ?3 OR (name_key, id) > (?4, ?5))
			ORDER BY name_key, id LIMIT ?6`,
			reseller, includeArchived, after, cur.Key, cur.ID, limit+1)
		if err != nil {
			return err
		}
		if pg, err = namePage(rows, list, limit, func(rows *sql.Rows, key *string) (domain.TemplateRecord, error) {
			var (
				t       domain.TemplateRecord
				version int64
			)
			err := rows.Scan(&t.ID, &t.ResellerID, &t.Name, &t.Archived, &version, key)
			t.Version = uint64(version)
			return t, err
		}, func(t domain.TemplateRecord) string { return string(t.ID) }); err != nil {
			return err
		}
		return fillTemplateItems(ctx, q, pg.Items)
	})
	if err != nil {
		return domain.Page[domain.TemplateRecord]{}, fmt.Errorf("query templates of %s: %w", reseller, err)
	}
	return pg, nil
}

// Template returns template id of reseller with its items, archived or not,
// or an error matching domain.ErrTemplateNotFound when there is none (also
// when it is another reseller's).
func (db *DB) Template(ctx context.Context, reseller domain.ResellerID, id domain.TemplateID) (domain.TemplateRecord, error) {
	var ts []domain.TemplateRecord
	err := db.snapshot(ctx, func(q querier) error {
		var (
			t       domain.TemplateRecord
			version int64
		)
		err := q.QueryRowContext(ctx, `SELECT id, reseller_id, name, archived, version FROM templates
			WHERE id = ? AND reseller_id = ?`, id, reseller).Scan(&t.ID, &t.ResellerID, &t.Name, &t.Archived, &version)
		if err != nil {
			return err
		}
		t.Version = uint64(version)
		ts = []domain.TemplateRecord{t}
		return fillTemplateItems(ctx, q, ts)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.TemplateRecord{}, domain.ErrTemplateNotFound
	}
	if err != nil {
		return domain.TemplateRecord{}, fmt.Errorf("query template %s: %w", id, err)
	}
	return ts[0], nil
}

// fillTemplateItems loads the items of ts, in the order they were added,
// with one query. Templates without items get an empty, non-nil list.
func fillTemplateItems(ctx context.Context, q querier, ts []domain.TemplateRecord) error {
	if len(ts) == 0 {
		return nil
	}
	at := make(map[domain.TemplateID]int, len(ts))
	args := make([]any, len(ts))
	for i := range ts {
		ts[i].Items = []domain.Item{}
		at[ts[i].ID] = i
		args[i] = ts[i].ID
	}
	rows, err := q.QueryContext(ctx, `SELECT template_id, item_id, product_id, product_name, kind, term_months,
		license_mode, seats FROM template_items WHERE template_id IN (?`+strings.Repeat(", ?", len(ts)-1)+`)
		ORDER BY template_id, seq`, args...)
	if err != nil {
		return fmt.Errorf("query template items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			tid   domain.TemplateID
			it    domain.Item
			seats sql.NullInt64
		)
		if err := rows.Scan(&tid, &it.ID, &it.ProductID, &it.ProductName, &it.Kind, &it.TermMonths, &it.LicenseMode, &seats); err != nil {
			return fmt.Errorf("query template items: %w", err)
		}
		it.Seats = seatsOf(seats)
		i := at[tid]
		ts[i].Items = append(ts[i].Items, it)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query template items: %w", err)
	}
	return nil
}

func seatsOf(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}
