package projections

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
)

// ProjectorReports projects campaigns and the per-offer rows that reports
// count (tables campaigns, campaign_offers, report_offers).
const ProjectorReports = "projection.reports"

// reportView is the reports projector. It keeps tables of its own rather
// than reading the reseller view's offers, so that a report's query and its
// index are shaped for counting one reseller's offers in a time range.
type reportView struct{}

func newReportView() (*projector, error) {
	v := reportView{}
	return newProjector(ProjectorReports,
		cqrs.NewGroupEventHandler(v.OnCampaignStarted),
		cqrs.NewGroupEventHandler(v.OnOfferCreated),
		cqrs.NewGroupEventHandler(v.OnOfferDelivered),
		cqrs.NewGroupEventHandler(v.OnOfferDeliveryFailed),
		cqrs.NewGroupEventHandler(v.OnOfferDispatched),
		cqrs.NewGroupEventHandler(v.OnOfferAccepted),
		cqrs.NewGroupEventHandler(v.OnOfferRejected),
		cqrs.NewGroupEventHandler(v.OnOfferWithdrawn),
		cqrs.NewGroupEventHandler(v.OnOfferExpired),
		cqrs.NewGroupEventHandler(v.OnOfferSuperseded),
		cqrs.NewGroupEventHandler(v.OnCustomerErased),
	)
}

// OnCampaignStarted records a campaign and the offers it names.
func (reportView) OnCampaignStarted(ctx context.Context, e *domain.CampaignStarted) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	var expires any
	if e.ExpiresAt != nil {
		expires = e.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if _, err := c.tx.ExecContext(ctx, `INSERT INTO campaigns
		(id, reseller_id, template_id, message, expires_at, created_at, created_pos, offer_count, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		e.CampaignID, e.ResellerID, e.TemplateID, e.Message, expires, e.At.UTC().Format(time.RFC3339Nano),
		int64(c.env.Position), len(e.Offers), int64(c.env.Version)); err != nil {
		return fmt.Errorf("insert campaign %s: %w", e.CampaignID, err)
	}
	for i, o := range e.Offers {
		if _, err := c.tx.ExecContext(ctx, `INSERT INTO campaign_offers (offer_id, campaign_id, customer_id, seq)
			VALUES (?, ?, ?, ?) ON CONFLICT (offer_id) DO NOTHING`, o.OfferID, e.CampaignID, o.CustomerID, i); err != nil {
			return fmt.Errorf("insert offer %s of campaign %s: %w", o.OfferID, e.CampaignID, err)
		}
	}
	return nil
}

// OnOfferCreated adds the offer's row, waiting, and moves a revision into
// its predecessor's campaign.
func (reportView) OnOfferCreated(ctx context.Context, e *domain.OfferCreated) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	at := e.At.UTC()
	if err := c.batch.reportCreated(ctx, reportRow{
		offer: e.OfferID, reseller: e.ResellerID, template: e.TemplateID, customer: e.CustomerID,
		createdMs: at.UnixMilli(), month: at.Format("2006-01"),
	}); err != nil {
		return err
	}
	// A revision takes the place of the offer it supersedes in that offer's
	// campaign: the campaign lists one offer per customer, the current one,
	// and counts it rather than both. Found by the superseded offer, not by
	// e.CampaignID, so that revisions stored before successors carried the
	// campaign (a log of an earlier build) are placed the same way.
	if e.Supersedes != "" {
		if _, err := c.tx.ExecContext(ctx, `UPDATE campaign_offers SET offer_id = ? WHERE offer_id = ?`,
			e.OfferID, e.Supersedes); err != nil {
			return fmt.Errorf("put revision %s in the campaign of offer %s: %w", e.OfferID, e.Supersedes, err)
		}
	}
	return nil
}

// OnOfferDispatched: a new round of delivery makes the offer waiting again.
func (v reportView) OnOfferDispatched(ctx context.Context, e *domain.OfferDispatched) error {
	return v.status(ctx, e.OfferID, domain.StatusWaiting, nil, domain.RejectionReason{})
}

// OnOfferDelivered: the offer waits for the customer's decision.
func (v reportView) OnOfferDelivered(ctx context.Context, e *domain.OfferDelivered) error {
	return v.status(ctx, e.OfferID, domain.StatusWaitingForConfirmation, nil, domain.RejectionReason{})
}

// OnOfferDeliveryFailed: delivery gave up.
func (v reportView) OnOfferDeliveryFailed(ctx context.Context, e *domain.OfferDeliveryFailed) error {
	return v.status(ctx, e.OfferID, domain.StatusDeliveryFailed, nil, domain.RejectionReason{})
}

// OnOfferAccepted records the decision and its time.
func (v reportView) OnOfferAccepted(ctx context.Context, e *domain.OfferAccepted) error {
	return v.status(ctx, e.OfferID, domain.StatusAccepted, &e.At, domain.RejectionReason{})
}

// OnOfferRejected records the decision, its time and its reason.
func (v reportView) OnOfferRejected(ctx context.Context, e *domain.OfferRejected) error {
	return v.status(ctx, e.OfferID, domain.StatusRejected, &e.At, e.Reason)
}

// OnOfferWithdrawn: the reseller took it back.
func (v reportView) OnOfferWithdrawn(ctx context.Context, e *domain.OfferWithdrawn) error {
	return v.status(ctx, e.OfferID, domain.StatusWithdrawn, nil, domain.RejectionReason{})
}

// OnOfferSuperseded: a revision replaced it; the revision is an offer of
// its own, counted from its offer.created.
func (v reportView) OnOfferSuperseded(ctx context.Context, e *domain.OfferSuperseded) error {
	return v.status(ctx, e.OfferID, domain.StatusSuperseded, nil, domain.RejectionReason{})
}

// OnOfferExpired: its deadline passed undecided.
func (v reportView) OnOfferExpired(ctx context.Context, e *domain.OfferExpired) error {
	return v.status(ctx, e.OfferID, domain.StatusExpired, nil, domain.RejectionReason{})
}

// status moves an offer's row to st; decided, when given, is the time of
// the decision.
func (reportView) status(ctx context.Context, id domain.OfferID, st domain.OfferStatus, decided *time.Time, reason domain.RejectionReason) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	// Kept in the batch and written when it ends (batchCache.flush).
	r := c.batch.report(id)
	r.updated, r.status, r.reason = true, st, reason
	if decided != nil {
		r.decided = sql.NullInt64{Int64: decided.UnixMilli(), Valid: true}
	}
	return nil
}

// reportRow is the row of report_offers that offer.created makes.
type reportRow struct {
	offer     domain.OfferID
	reseller  domain.ResellerID
	template  domain.TemplateID
	customer  domain.CustomerID
	createdMs int64
	month     string
}

// reportStep is what a batch does to an offer's row of report_offers: the
// row its offer.created inserts (unless the table has one: ON CONFLICT DO
// NOTHING), then the status its later events set, the last one's. A
// decision's time stays once set (coalesce).
type reportStep struct {
	create  *reportRow
	updated bool
	status  domain.OfferStatus
	decided sql.NullInt64 // the last decision's time in the batch
	reason  domain.RejectionReason
}

// report returns the batch's step of offer's report row.
func (b *batchCache) report(id domain.OfferID) *reportStep {
	r := b.reports[id]
	if r == nil {
		r = &reportStep{}
		b.reports[id] = r
	}
	return r
}

// reportCreated records offer.created's row. A status set before it in
// the batch (of a row the table would then have had, or none) is written
// first, so that it does not fold into the new row.
func (b *batchCache) reportCreated(ctx context.Context, row reportRow) error {
	r := b.report(row.offer)
	if r.create != nil {
		return nil // a second creation: the first row stays
	}
	if r.updated {
		if err := writeReport(ctx, b.tx, row.offer, r); err != nil {
			return err
		}
		*r = reportStep{}
	}
	r.create = &row
	return nil
}

// writeReport writes a batch's step of offer's report row: at most one
// statement.
func writeReport(ctx context.Context, tx *sql.Tx, id domain.OfferID, r *reportStep) error {
	var decided any
	if r.decided.Valid {
		decided = r.decided.Int64
	}
	var err error
	switch {
	case r.create == nil && !r.updated:
		return nil
	case r.create == nil:
		_, err = tx.ExecContext(ctx, `UPDATE report_offers SET status = ?, decided_ms = coalesce(?, decided_ms),
			reason_code = ?, reason_text = ? WHERE offer_id = ?`, r.status, decided, r.reason.Code, r.reason.Text, id)
	case !r.updated:
		c := r.create
		_, err = tx.ExecContext(ctx, `INSERT INTO report_offers
			(offer_id, reseller_id, template_id, customer_id, created_ms, created_month, status)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (offer_id) DO NOTHING`,
			id, c.reseller, c.template, c.customer, c.createdMs, c.month, domain.StatusWaiting)
	default:
		// The new row with its later status, or the status on the row the
		// table already had, as the insert and the updates one by one.
		c := r.create
		_, err = tx.ExecContext(ctx, `INSERT INTO report_offers
			(offer_id, reseller_id, template_id, customer_id, created_ms, created_month, status, decided_ms, reason_code, reason_text)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (offer_id) DO UPDATE SET status = ?7,
			decided_ms = coalesce(?8, decided_ms), reason_code = ?9, reason_text = ?10`,
			id, c.reseller, c.template, c.customer, c.createdMs, c.month, r.status, decided, r.reason.Code, r.reason.Text)
	}
	if err != nil {
		return fmt.Errorf("write report row of offer %s: %w", id, err)
	}
	return nil
}

// OfferReport counts reseller f.Reseller's offers created in [f.From, f.To)
// by f.GroupBy: counts by status, acceptance rate, median hours to a
// decision and the rejection reasons, groups in order of their names
// (months in time order).
func (db *DB) OfferReport(ctx context.Context, f domain.ReportFilter) ([]domain.ReportGroup, error) {
	key, name, erased, join := "r.template_id", "coalesce(t.name, '')", "0", "LEFT JOIN templates t ON t.id = r.template_id"
	switch f.GroupBy {
	case domain.GroupByCustomer:
		key, name, erased, join = "r.customer_id", "coalesce(c.name, '')", "coalesce(c.erased, 0)", "LEFT JOIN customers c ON c.id = r.customer_id"
	case domain.GroupByMonth:
		key, name, join = "r.created_month", "r.created_month", ""
	}
	from, to := int64(minMillis), int64(maxMillis)
	if !f.From.IsZero() {
		from = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMilli()
	}
	where := ` FROM report_offers r ` + join + ` WHERE r.reseller_id = ? AND r.created_ms >= ? AND r.created_ms < ?`
	groups := map[string]*domain.ReportGroup{}
	var order []string
	group := func(k string) *domain.ReportGroup {
		g, ok := groups[k]
		if !ok {
			g = &domain.ReportGroup{Key: k, Counts: map[domain.OfferStatus]int{}, RejectionReasons: []domain.ReasonCount{}}
			groups[k] = g
			order = append(order, k)
		}
		return g
	}
	hours := map[string][]float64{}
	err := db.snapshot(ctx, func(q querier) error {
		if err := eachRow(ctx, q, `SELECT `+key+`, `+name+`, `+erased+`, r.status, count(*)`+where+` GROUP BY 1, 2, 3, 4`,
			[]any{f.Reseller, from, to}, func(scan func(...any) error) error {
				var k, n string
				var e bool
				var st domain.OfferStatus
				var c int
				if err := scan(&k, &n, &e, &st, &c); err != nil {
					return err
				}
				g := group(k)
				g.Name, g.Erased = n, e
				g.Counts[st] += c
				return nil
			}); err != nil {
			return err
		}
		if err := eachRow(ctx, q, `SELECT `+key+`, r.decided_ms - r.created_ms`+where+
			` AND r.status IN ('accepted', 'rejected') AND r.decided_ms IS NOT NULL`,
			[]any{f.Reseller, from, to}, func(scan func(...any) error) error {
				var k string
				var ms int64
				if err := scan(&k, &ms); err != nil {
					return err
				}
				hours[k] = append(hours[k], float64(ms)/float64(time.Hour/time.Millisecond))
				return nil
			}); err != nil {
			return err
		}
		return eachRow(ctx, q, `SELECT `+key+`, CASE WHEN r.reason_code <> '' THEN r.reason_code ELSE trim(r.reason_text) END AS reason, count(*)`+
			where+` AND r.status = 'rejected' AND (r.reason_code <> '' OR trim(r.reason_text) <> '')
			GROUP BY 1, 2 ORDER BY 3 DESC, 2`,
			[]any{f.Reseller, from, to}, func(scan func(...any) error) error {
				var rc domain.ReasonCount
				var k string
				if err := scan(&k, &rc.Reason, &rc.Count); err != nil {
					return err
				}
				g := group(k)
				g.RejectionReasons = append(g.RejectionReasons, rc)
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("offer report: %w", err)
	}
	out := make([]domain.ReportGroup, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if decided := g.Counts[domain.StatusAccepted] + g.Counts[domain.StatusRejected]; decided > 0 {
			r := float64(g.Counts[domain.StatusAccepted]) / float64(decided)
			g.AcceptanceRate = &r
		}
		if h := hours[k]; len(h) > 0 {
			m := median(h)
			g.MedianHoursToDecision = &m
		}
		out = append(out, *g)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return nameKey(out[i].Name) < nameKey(out[j].Name)
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// The bounds of an unbounded report range, in unix milliseconds.
const (
	minMillis = -1 << 62
	maxMillis = 1 << 62
)

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// eachRow runs query and calls fn with each row's Scan.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// OnCustomerErased overwrites the rejection reasons the customer wrote:
// reports count them by code, and by text no more.
func (reportView) OnCustomerErased(ctx context.Context, e *domain.CustomerErased) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	if _, err := c.tx.ExecContext(ctx, `UPDATE report_offers SET reason_text = '' WHERE customer_id = ?`, e.CustomerID); err != nil {
		return fmt.Errorf("erase report offers of %s: %w", e.CustomerID, err)
	}
	return nil
}
