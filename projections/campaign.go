package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

const campaignColumns = `id, reseller_id, template_id, message, expires_at, created_at, created_pos, offer_count, version`

func scanCampaign(s interface{ Scan(...any) error }) (domain.CampaignRecord, uint64, error) {
	var (
		rec      domain.CampaignRecord
		expires  sql.NullString
		created  string
		pos, ver int64
	)
	if err := s.Scan(&rec.ID, &rec.ResellerID, &rec.TemplateID, &rec.Message, &expires, &created, &pos, &rec.OfferCount, &ver); err != nil {
		return rec, 0, err
	}
	var err error
	if rec.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return rec, 0, fmt.Errorf("campaign %s: created_at: %w", rec.ID, err)
	}
	if expires.Valid {
		t, err := time.Parse(time.RFC3339Nano, expires.String)
		if err != nil {
			return rec, 0, fmt.Errorf("campaign %s: expires_at: %w", rec.ID, err)
		}
		rec.ExpiresAt = &t
	}
	rec.Version = uint64(ver)
	return rec, uint64(pos), nil
}

// campaignCounts fills the counts of rec's offers by status: an offer the
// campaign process has not created yet counts as waiting.
func campaignCounts(ctx context.Context, q querier, rec *domain.CampaignRecord) error {
	rec.Counts = map[domain.OfferStatus]int{}
	return eachRow(ctx, q, `SELECT coalesce(r.status, 'waiting'), count(*) FROM campaign_offers co
		LEFT JOIN report_offers r ON r.offer_id = co.offer_id WHERE co.campaign_id = ? GROUP BY 1`,
		[]any{rec.ID}, func(scan func(...any) error) error {
			var st domain.OfferStatus
			var n int
			if err := scan(&st, &n); err != nil {
				return err
			}
			rec.Counts[st] = n
			return nil
		})
}

// Campaigns lists reseller's campaigns newest first, each with its counts
// (not its offers). A cursor not from this list fails with ErrBadCursor.
func (db *DB) Campaigns(ctx context.Context, reseller domain.ResellerID, page domain.PageRequest) (domain.Page[domain.CampaignRecord], error) {
	const list = "campaigns"
	cur, after, err := decodeCursor(list, page.Cursor)
	if err != nil {
		return domain.Page[domain.CampaignRecord]{}, err
	}
	limit := limitOf(page.Limit)
	var items []domain.CampaignRecord
	pos := map[domain.CampaignID]uint64{}
	err = db.snapshot(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+campaignColumns+` FROM campaigns
			WHERE reseller_id = ?1 AND (NOT ?2 OR created_pos < ?3) ORDER BY created_pos DESC LIMIT ?4`,
			reseller, after, int64(cur.Pos), limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rec, p, err := scanCampaign(rows)
			if err != nil {
				return err
			}
			pos[rec.ID] = p
			items = append(items, rec)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range items {
			if err := campaignCounts(ctx, q, &items[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return domain.Page[domain.CampaignRecord]{}, fmt.Errorf("query campaigns: %w", err)
	}
	return pageOf(items, limit, func(r domain.CampaignRecord) cursor { return cursor{List: list, Pos: pos[r.ID]} }), nil
}

// Campaign returns campaign id of reseller with its offers and counts, or
// an error matching domain.ErrCampaignNotFound.
func (db *DB) Campaign(ctx context.Context, reseller domain.ResellerID, id domain.CampaignID) (domain.CampaignRecord, error) {
	var rec domain.CampaignRecord
	err := db.snapshot(ctx, func(q querier) error {
		var err error
		rec, _, err = scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ? AND reseller_id = ?`, id, reseller))
		if err != nil {
			return err
		}
		rec.Offers = make([]domain.CampaignOffer, 0, rec.OfferCount)
		if err := eachRow(ctx, q, `SELECT customer_id, offer_id FROM campaign_offers WHERE campaign_id = ? ORDER BY seq`,
			[]any{id}, func(scan func(...any) error) error {
				var o domain.CampaignOffer
				if err := scan(&o.CustomerID, &o.OfferID); err != nil {
					return err
				}
				rec.Offers = append(rec.Offers, o)
				return nil
			}); err != nil {
			return err
		}
		return campaignCounts(ctx, q, &rec)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.CampaignRecord{}, domain.ErrCampaignNotFound
	}
	if err != nil {
		return domain.CampaignRecord{}, fmt.Errorf("query campaign %s: %w", id, err)
	}
	return rec, nil
}
