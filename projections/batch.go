package projections

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/offerflow/offerflow/domain"
)

// A batch's transaction keeps what the offer events change most in memory
// and writes it once, when the batch ends: each offer's row in offers and
// in inbox (a lifecycle of some ten events mostly falls in one batch of a
// rebuild), each customer's offer counts and badge (by the sum of the
// batch's steps), audit_offers, each offer's report_offers row (its
// creation and its last status: one statement), and the audit_events rows
// (inserted many to a statement). Per event, the rows were upserted
// (twenty columns each, twice) and the counts moved statement by
// statement: most of a rebuild's CPU (issue 7). The rows written are the
// same: the fold goes through the same evolveOffer, a count row is deleted
// at zero whatever path led there, a badge row exists once any offer
// counted on it, and a report row's folded status is the one the updates
// one by one would have left.
//
// Handlers see the batch through batchTx: a statement of theirs that names
// one of the folded tables first writes what is pending and forgets it, so
// it reads the rows as the batch left them and its own change is not
// overwritten at the end. Statements naming none of them run as they are.

// folded reports whether a batch keeps writes of table in memory
// (inbox_resellers: the names it read).
func folded(table string) bool {
	switch table {
	case "offers", "inbox", "customer_offer_counts", "badges", "audit_offers", "inbox_resellers", "audit_events", "report_offers":
		return true
	}
	return false
}

// batchTx is the transaction of a batch as handlers use it (change.tx): a
// *sql.Tx whose statements first write the batch's pending rows when they
// name a folded table.
type batchTx struct {
	tx    *sql.Tx
	batch *batchCache
}

// ExecContext runs a handler's statement.
func (t *batchTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.batch.before(ctx, query); err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a handler's query.
func (t *batchTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.batch.before(ctx, query); err != nil {
		return nil, err
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a handler's query of one row. A failure to write
// the pending rows first cannot be returned through *sql.Row: it is kept,
// and fails the batch after the handler returns.
func (t *batchTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := t.batch.before(ctx, query); err != nil && t.batch.err == nil {
		t.batch.err = err
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// namesFolded reports whether query names a folded table (as a whole
// word: customer_offer_counts is not offers).
func namesFolded(query string) bool {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	for _, w := range words {
		if folded(w) {
			return true
		}
	}
	return false
}

// cachedOffer is an offer's row in offers or inbox as the batch left it.
type cachedOffer struct {
	row offerRow
	// The inbox's own columns.
	resellerName string
	receivedPos  sql.NullInt64
	dirty        bool // changed since read or written
}

// auditOffer is an offer's row of audit_offers.
type auditOffer struct {
	reseller domain.ResellerID
	customer domain.CustomerID
	delivered,
	stored, // the table has the row
	dirty bool
}

// auditRow is a row of audit_events the batch has yet to insert.
type auditRow struct {
	position int64
	offer    domain.OfferID
	reseller domain.ResellerID
	customer domain.CustomerID
	envelope string // TEXT, as the JSON it is
}

// badgeStep is a customer's badge change in a batch: the sum of its steps,
// and whether one of them counted an offer (which creates the row).
type badgeStep struct {
	delta   int
	counted bool
}

type countKey struct {
	customer domain.CustomerID
	status   domain.OfferStatus
}

// batchCache is the state a batch keeps in memory; it dies with the
// batch's transaction, committed or not.
type batchCache struct {
	tx      *sql.Tx
	folds   *sync.Map                                  // DB.folds
	offers  map[string]map[domain.OfferID]*cachedOffer // by table
	counts  map[countKey]int
	badges  map[domain.CustomerID]*badgeStep
	audit   map[domain.OfferID]*auditOffer
	events  []auditRow // audit_events, in log order
	reports map[domain.OfferID]*reportStep
	names   map[domain.ResellerID]string // inbox_resellers read in this batch
	flushes int                          // writes of pending rows, for tests
	err     error                        // a failure QueryRowContext could not return
	written *writtenOffers               // DB.written
}

func newBatchCache(tx *sql.Tx, folds *sync.Map, written *writtenOffers) *batchCache {
	b := &batchCache{tx: tx, folds: folds, written: written}
	b.reset()
	return b
}

func (b *batchCache) reset() {
	b.offers = map[string]map[domain.OfferID]*cachedOffer{}
	b.counts = map[countKey]int{}
	b.badges = map[domain.CustomerID]*badgeStep{}
	b.audit = map[domain.OfferID]*auditOffer{}
	b.events = b.events[:0]
	b.reports = map[domain.OfferID]*reportStep{}
	b.names = map[domain.ResellerID]string{}
}

// before is called ahead of a handler's own statement.
func (b *batchCache) before(ctx context.Context, query string) error {
	if b.err != nil {
		return b.err
	}
	f, ok := b.folds.Load(query)
	if !ok {
		f, _ = b.folds.LoadOrStore(query, namesFolded(query))
	}
	if !f.(bool) {
		return nil
	}
	return b.flush(ctx)
}

// offer returns the offer's row of table, read from the table when the
// batch has not seen it yet; nil when there is none.
func (b *batchCache) offer(ctx context.Context, table string, id domain.OfferID) (*cachedOffer, error) {
	if c, ok := b.offers[table][id]; ok {
		return c, nil
	}
	if !b.written.may(table, id) {
		return nil, nil
	}
	var (
		c   cachedOffer
		err error
	)
	if table == "inbox" {
		c.row, err = scanOffer(b.tx.QueryRowContext(ctx, `SELECT `+stateColumns+`, reseller_name, received_pos FROM inbox WHERE id = ?`, id),
			&c.resellerName, &c.receivedPos)
	} else {
		var pos int64
		c.row, err = scanOffer(b.tx.QueryRowContext(ctx, `SELECT `+stateColumns+`, created_pos FROM `+table+` WHERE id = ?`, id), &pos)
		c.row.createdPos = uint64(pos)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", table, id, err)
	}
	b.keep(table, &c)
	return &c, nil
}

func (b *batchCache) keep(table string, c *cachedOffer) {
	b.written.add(table, c.row.view.ID)
	m := b.offers[table]
	if m == nil {
		m = map[domain.OfferID]*cachedOffer{}
		b.offers[table] = m
	}
	m[c.row.view.ID] = c
}

// count adds delta to customer's offers in status.
func (b *batchCache) count(customer domain.CustomerID, status domain.OfferStatus, delta int) {
	b.counts[countKey{customer, status}] += delta
}

// badge adds delta to customer's unread counts.
func (b *batchCache) badge(customer domain.CustomerID, delta int) {
	s := b.badges[customer]
	if s == nil {
		s = &badgeStep{}
		b.badges[customer] = s
	}
	s.delta += delta
	s.counted = s.counted || delta > 0
}

// resellerName returns the name inbox_resellers holds for id (empty when none).
func (b *batchCache) resellerName(ctx context.Context, id domain.ResellerID) (string, error) {
	if n, ok := b.names[id]; ok {
		return n, nil
	}
	var n string
	err := b.tx.QueryRowContext(ctx, `SELECT name FROM inbox_resellers WHERE id = ?`, id).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read inbox reseller %s: %w", id, err)
	}
	b.names[id] = n
	return n, nil
}

// auditOffer returns the offer's audit_offers row, read from the table
// when the batch has not seen it yet; nil when there is none.
func (b *batchCache) auditOffer(ctx context.Context, id domain.OfferID) (*auditOffer, error) {
	if a, ok := b.audit[id]; ok {
		return a, nil
	}
	a := &auditOffer{stored: true}
	err := b.tx.QueryRowContext(ctx, `SELECT reseller_id, customer_id, delivered FROM audit_offers WHERE offer_id = ?`, id).
		Scan(&a.reseller, &a.customer, &a.delivered)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load audit offer %s: %w", id, err)
	}
	b.audit[id] = a
	return a, nil
}

// flush writes every pending row and forgets what the batch kept, in an
// order that does not depend on the maps'.
func (b *batchCache) flush(ctx context.Context) error {
	b.flushes++
	for _, table := range slices.Sorted(maps.Keys(b.offers)) {
		rows := b.offers[table]
		for _, id := range slices.Sorted(maps.Keys(rows)) {
			c := rows[id]
			if !c.dirty {
				continue
			}
			if err := saveOffer(ctx, b.tx, table, c); err != nil {
				return err
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(b.counts), func(a, b countKey) int {
		// By customer, then status; without building a string per
		// comparison.
		return cmp.Or(strings.Compare(string(a.customer), string(b.customer)), strings.Compare(string(a.status), string(b.status)))
	}) {
		if err := countOffer(ctx, b.tx, k.customer, k.status, b.counts[k]); err != nil {
			return err
		}
	}
	for _, c := range slices.Sorted(maps.Keys(b.badges)) {
		if err := moveBadge(ctx, b.tx, c, b.badges[c]); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.audit)) {
		a := b.audit[id]
		if !a.dirty {
			continue
		}
		q := `UPDATE audit_offers SET delivered = ?4 WHERE offer_id = ?1`
		if !a.stored {
			q = `INSERT INTO audit_offers (offer_id, reseller_id, customer_id, delivered) VALUES (?1, ?2, ?3, ?4)`
		}
		if _, err := b.tx.ExecContext(ctx, q, id, a.reseller, a.customer, a.delivered); err != nil {
			return fmt.Errorf("write audit offer %s: %w", id, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.reports)) {
		if err := writeReport(ctx, b.tx, id, b.reports[id]); err != nil {
			return err
		}
	}
	if err := insertAuditEvents(ctx, b.tx, b.events); err != nil {
		return err
	}
	b.reset()
	return nil
}

// insertAuditEvents inserts rows into audit_events with as few statements
// as it takes: one per auditInsertSizes[0] rows, then the smaller sizes
// for the rest. A row a statement at a time cost a rebuild as much as all
// of SQLite's inserting; few sizes keep the statements few, so that each
// stays prepared in the connection's cache.
func insertAuditEvents(ctx context.Context, tx *sql.Tx, rows []auditRow) error {
	args := make([]any, 0, 5*auditInsertSizes[0])
	for len(rows) > 0 {
		n := auditInsertSizes[len(auditInsertSizes)-1]
		for _, size := range auditInsertSizes {
			if len(rows) >= size {
				n = size
				break
			}
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.position, r.offer, r.reseller, r.customer, r.envelope)
		}
		if _, err := tx.ExecContext(ctx, auditInsert(n), args...); err != nil {
			return fmt.Errorf("index audit events %d to %d: %w", rows[0].position, rows[n-1].position, err)
		}
		rows = rows[n:]
	}
	return nil
}

// auditInsertSizes are the numbers of rows one INSERT into audit_events
// takes, largest first; the last is 1.
var auditInsertSizes = [...]int{256, 16, 1}

// auditInsert returns the INSERT of n rows into audit_events.
func auditInsert(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_events (position, offer_id, reseller_id, customer_id, envelope) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?,?,?,?,?)`)
	}
	return q.String()
}

// moveBadge applies a batch's badge change of customer.
func moveBadge(ctx context.Context, tx *sql.Tx, customer domain.CustomerID, s *badgeStep) error {
	if s.delta == 0 && !s.counted {
		return nil
	}
	// An upsert's candidate row must pass the CHECKs too, so a decrement
	// updates the row that an earlier increment created.
	query := `INSERT INTO badges (customer_id, admin, updates) VALUES (?1, ?2, ?2)
		ON CONFLICT (customer_id) DO UPDATE SET admin = admin + ?2, updates = updates + ?2`
	if s.delta < 0 {
		query = `UPDATE badges SET admin = admin + ?2, updates = updates + ?2 WHERE customer_id = ?1`
	}
	res, err := tx.ExecContext(ctx, query, customer, s.delta)
	if err != nil {
		return fmt.Errorf("badge of %s: %w", customer, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("badge of %s: nothing to uncount", customer)
	}
	return nil
}

// writtenOffers records, for a scratch file created empty (a rebuild's,
// a past read model's), which offers may have a row in offers or inbox.
// Every row of those tables is written from a batch's kept offers
// (batchCache.keep, then saveOffer at the flush), so an offer never kept
// has no row, and offer() need not look for it: the offer.created of a
// rebuild, one event in ten, each looked up its new offer in both tables
// and found nothing, a fifth of the applying goroutine's CPU over
// 1,000,000 events (the probes grow with the tables). It keeps a hash of
// each id, not the id: a collision, or an offer kept in a batch that
// rolled back, only costs the look-up that would have been made anyway.
// A nil *writtenOffers knows nothing and lets every look-up through.
type writtenOffers struct {
	seed maphash.Seed
	mu   sync.Mutex
	ids  map[string]map[uint64]struct{} // by table
}

func newWrittenOffers() *writtenOffers {
	return &writtenOffers{seed: maphash.MakeSeed(), ids: map[string]map[uint64]struct{}{}}
}

// add records that table may hold a row of id.
func (w *writtenOffers) add(table string, id domain.OfferID) {
	if w == nil {
		return
	}
	h := maphash.String(w.seed, string(id))
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.ids[table]
	if m == nil {
		m = map[uint64]struct{}{}
		w.ids[table] = m
	}
	m[h] = struct{}{}
}

// may reports whether table may hold a row of id.
func (w *writtenOffers) may(table string, id domain.OfferID) bool {
	if w == nil {
		return true
	}
	h := maphash.String(w.seed, string(id))
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.ids[table][h]
	return ok
}
