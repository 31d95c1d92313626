package process

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// run works the queue until ctx is done, then waits for the jobs under way
// to stop (they stay pending and resume on the next start). It sleeps until
// a job is enqueued or finished (Wake), the next retry is due, or
// deliveryRescan passed.
func (m *DeliveryManager) run(ctx context.Context) {
	defer m.wg.Wait()
	m.mu.Lock()
	m.runCtx = ctx
	m.mu.Unlock()
	defer func() {
		// No job starts after this (startFresh): the wait above sees
		// every one started.
		m.mu.Lock()
		m.runCtx = nil
		m.mu.Unlock()
	}()
	// A job poisoned by a failure of the stores gets one more round after a
	// restart: whatever failed may have recovered.
	if _, err := m.db.ExecContext(ctx, `UPDATE delivery_jobs SET state = 'pending' WHERE state = 'poisoned'`); err != nil {
		m.log.ErrorContext(ctx, "cannot requeue poisoned deliveries", "err", err)
	}
	m.prune(ctx)
	lastPrune := m.cfg.Now()
	dueLoop(ctx, deliveryRescan, m.cfg.Now, m.wakeup, func(ctx context.Context) (time.Time, bool, error) {
		if now := m.cfg.Now(); now.Sub(lastPrune) > time.Hour {
			m.prune(ctx)
			lastPrune = now
		}
		next, err := m.startDue(ctx)
		return next, false, err
	}, func(err error) { m.log.ErrorContext(ctx, "cannot read the delivery queue; trying again", "err", err) })
}

func (m *DeliveryManager) prune(ctx context.Context) {
	cutoff := m.cfg.Now().Add(-deliveryKeepDone).UnixMilli()
	if _, err := m.db.ExecContext(ctx, `DELETE FROM delivery_jobs WHERE state = 'done' AND updated_at < ?`, cutoff); err != nil && ctx.Err() == nil {
		m.log.WarnContext(ctx, "cannot prune finished deliveries", "err", err)
	}
}

// startDue starts a goroutine for due pending jobs not yet under way, up to
// MaxActiveDeliveries in all, and for customers that may have a webhook
// MaxActivePerCustomer per customer and MaxActivePerReseller per reseller,
// and returns when the earliest job not yet due will be. The due jobs are
// taken in turns across resellers: every reseller's first, then every
// reseller's second, and so on, and a reseller's turns go round its
// customers the same way. So a reseller that sent a campaign to a thousand
// customers waits its turn like one that sent a single offer, and a
// customer with a thousand jobs like one with one.
//
// It reads the queue only when a job may have become startable since the
// last read (deliverySched), and the next retry's time only when the one
// it knew came or deliveryRescan passed: finish tells it of the retries it
// schedules. So a wake-up with nothing new costs no query: at 100 offers/s,
// half the wake-ups are jobs ending with no other job waiting.
func (m *DeliveryManager) startDue(ctx context.Context) (next time.Time, err error) {
	at := m.cfg.Now()
	now := at.UnixMilli()
	m.mu.Lock()
	room := m.cfg.MaxActiveDeliveries - len(m.active)
	busy := len(m.active) + len(m.held)
	hookless := len(m.hookless) > 0
	sc := &m.sched
	sc.passes++
	due := !sc.next.IsZero() && !at.Before(sc.next)
	if due || at.Sub(sc.lastRead) >= deliveryRescan {
		sc.stale = true
	}
	read := room > 0 && (sc.stale || sc.backlog && sc.freed)
	findNext := due || at.Sub(sc.lastNext) >= deliveryRescan
	if read {
		// Cleared before the read: whatever comes during it marks again.
		sc.stale, sc.freed = false, false
		sc.lastRead = at
		sc.reads++
	}
	if findNext {
		// The query finds it again; a retry that finish schedules in the
		// meantime goes in beside it.
		sc.next = time.Time{}
	}
	m.mu.Unlock()
	if read {
		// A customer's jobs under way are among its first turns, so twice
		// its share of turns holds every job it may start now; LIMIT leaves
		// room for those under way or held. A customer without a webhook
		// may fill every free slot, so then its turns must reach that far
		// (the query then reads more rows per customer with a backlog).
		turns := 2 * m.cfg.MaxActivePerCustomer
		if hookless {
			turns = max(turns, room+busy)
		}
		jobs, err := m.due(ctx, now, turns, room+busy)
		if err != nil {
			m.mu.Lock()
			sc.stale = true
			m.mu.Unlock()
			return next, err
		}
		m.start(ctx, jobs)
		if len(jobs) >= room+busy {
			// Cut at the limit: more may be due behind it.
			m.mu.Lock()
			sc.backlog = true
			m.mu.Unlock()
		}
	}
	if findNext {
		var ms sql.NullInt64
		if err := m.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM delivery_jobs WHERE state = 'pending' AND next_at > ?`,
			now).Scan(&ms); err != nil {
			m.mu.Lock()
			sc.lastNext = time.Time{} // asked again on the next pass
			m.mu.Unlock()
			return next, fmt.Errorf("find the next delivery retry: %w", err)
		}
		m.mu.Lock()
		if ms.Valid {
			sc.soon(time.UnixMilli(ms.Int64))
		}
		sc.lastNext = at
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next = sc.next
	if r := sc.lastRead.Add(deliveryRescan); r.After(at) && (next.IsZero() || r.Before(next)) {
		next = r
	}
	return next, nil
}

// soon records that a job becomes due at t, if sooner than any known.
func (sc *deliverySched) soon(t time.Time) {
	if sc.next.IsZero() || t.Before(sc.next) {
		sc.next = t
	}
}

// due reads up to limit pending jobs due at now, at most turns per
// customer, in turns across resellers and, within each, across customers.
//
// When few jobs are due (at most deliveryDueFew, which a count through the
// index tells), it reads them all and orders them here (deliveryTurns):
// the skip-scan below, a recursive query with a sorted subquery per
// customer and two window functions, cost about half a millisecond for two
// due jobs, each of its temporary b-trees a page cache of its own, and it
// ran for every job enqueued (issue 7). With more due it visits each
// customer with pending jobs once through the index (a skip-scan written
// out as a recursive query) and reads only the first turns of each, so a
// read costs as much for a customer with ten thousand due jobs as for one
// with one. Both give the same jobs in the same order.
//
// A job under way is still pending and due in the table, and may end its
// try between this read and start: start skips the jobs that ended since
// (finish wakes the loop, whose next read has their new rows).
func (m *DeliveryManager) due(ctx context.Context, now int64, turns, limit int) ([]deliveryJob, error) {
	m.mu.Lock()
	clear(m.ended)
	m.mu.Unlock()
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM delivery_jobs WHERE state = 'pending' AND next_at <= ? LIMIT ?)`,
		now, deliveryDueFew+1).Scan(&n); err != nil {
		return nil, fmt.Errorf("count due deliveries: %w", err)
	}
	if n <= deliveryDueFew {
		jobs, err := m.dueAll(ctx, now)
		if err != nil {
			return nil, err
		}
		return deliveryTurns(jobs, turns, limit), nil
	}
	return m.dueSkipScan(ctx, now, turns, limit)
}

// deliveryDueFew is the most due jobs that due reads whole and orders
// itself; beyond, the skip-scan reads only the first turns of each customer.
const deliveryDueFew = 256

// deliveryJobColumns are the columns scanDeliveryJobs reads, in its order.
const deliveryJobColumns = `event_id, offer_id, customer_id, reseller_id, dispatch, position, correlation_id, dispatched_at,
	attempts, last_error, next_at, created_at`

// dueAll reads every pending job due at now, in no particular order.
func (m *DeliveryManager) dueAll(ctx context.Context, now int64) ([]deliveryJob, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+deliveryJobColumns+` FROM delivery_jobs
	WHERE state = 'pending' AND next_at <= ?`, now)
	if err != nil {
		return nil, fmt.Errorf("read delivery queue: %w", err)
	}
	return scanDeliveryJobs(rows)
}

// dueSkipScan is due's read of many due jobs, ordered by the query.
func (m *DeliveryManager) dueSkipScan(ctx context.Context, now int64, turns, limit int) ([]deliveryJob, error) {
	rows, err := m.db.QueryContext(ctx, `WITH RECURSIVE customers(id) AS (
		SELECT MIN(customer_id) FROM delivery_jobs WHERE state = 'pending'
		UNION ALL
		SELECT (SELECT MIN(customer_id) FROM delivery_jobs WHERE state = 'pending' AND customer_id > customers.id)
		FROM customers WHERE customers.id IS NOT NULL
	), firsts AS (
		SELECT j.* FROM customers c JOIN delivery_jobs j ON j.event_id IN (
			SELECT event_id FROM delivery_jobs WHERE state = 'pending' AND customer_id = c.id AND next_at <= ?
			ORDER BY next_at, created_at, event_id LIMIT ?)
	), customer_turns AS (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY next_at, created_at, event_id) AS cturn FROM firsts
	)
	SELECT `+deliveryJobColumns+`
	FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY reseller_id ORDER BY cturn, next_at, created_at, event_id) AS turn FROM customer_turns)
	ORDER BY turn, next_at, created_at, event_id LIMIT ?`, now, turns, limit)
	if err != nil {
		return nil, fmt.Errorf("read delivery queue: %w", err)
	}
	return scanDeliveryJobs(rows)
}

// scanDeliveryJobs reads rows of deliveryJobColumns and closes them.
func scanDeliveryJobs(rows *sql.Rows) ([]deliveryJob, error) {
	defer rows.Close()
	var jobs []deliveryJob
	for rows.Next() {
		var j deliveryJob
		if err := rows.Scan(&j.eventID, &j.offerID, &j.customerID, &j.resellerID, &j.dispatch, &j.position, &j.corr,
			&j.dispatchedAt, &j.attempts, &j.lastError, &j.nextAt, &j.createdAt); err != nil {
			return nil, fmt.Errorf("read delivery queue: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read delivery queue: %w", err)
	}
	return jobs, nil
}

// deliveryTurns orders every due job as dueSkipScan's query does, and
// returns the first limit: each customer's first turns jobs by due time
// (then creation, then id) numbered within the customer, then numbered
// within their reseller by that number and due time, then taken by that
// number and due time. jobs is reordered.
func deliveryTurns(jobs []deliveryJob, turns, limit int) []deliveryJob {
	byDue := func(a, b deliveryJob) int {
		return cmp.Or(cmp.Compare(a.nextAt, b.nextAt), cmp.Compare(a.createdAt, b.createdAt), strings.Compare(a.eventID, b.eventID))
	}
	slices.SortFunc(jobs, func(a, b deliveryJob) int {
		return cmp.Or(strings.Compare(a.customerID, b.customerID), byDue(a, b))
	})
	type turned struct {
		deliveryJob
		cturn, turn int
	}
	firsts := make([]turned, 0, len(jobs))
	for i, j := range jobs {
		if i == 0 || j.customerID != jobs[i-1].customerID {
			firsts = append(firsts, turned{deliveryJob: j, cturn: 1})
			continue
		}
		if prev := firsts[len(firsts)-1]; prev.cturn < turns {
			firsts = append(firsts, turned{deliveryJob: j, cturn: prev.cturn + 1})
		}
	}
	slices.SortFunc(firsts, func(a, b turned) int {
		return cmp.Or(strings.Compare(a.resellerID, b.resellerID), cmp.Compare(a.cturn, b.cturn), byDue(a.deliveryJob, b.deliveryJob))
	})
	for i := range firsts {
		firsts[i].turn = 1
		if i > 0 && firsts[i].resellerID == firsts[i-1].resellerID {
			firsts[i].turn = firsts[i-1].turn + 1
		}
	}
	slices.SortFunc(firsts, func(a, b turned) int {
		return cmp.Or(cmp.Compare(a.turn, b.turn), byDue(a.deliveryJob, b.deliveryJob))
	})
	out := make([]deliveryJob, 0, min(limit, len(firsts)))
	for _, f := range firsts[:min(limit, len(firsts))] {
		out = append(out, f.deliveryJob)
	}
	return out
}

// start starts the jobs that have room, in their order.
func (m *DeliveryManager) start(ctx context.Context, jobs []deliveryJob) {
	for _, j := range m.take(jobs) {
		m.wg.Go(func() { m.work(ctx, j) })
	}
}

// take marks as under way the jobs of a due read that have room, in their
// order, and returns them: none under way already, none that ended a try
// since the read (its row is stale), none held.
func (m *DeliveryManager) take(jobs []deliveryJob) []deliveryJob {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var taken []deliveryJob
	m.sched.backlog = false
	for _, j := range jobs {
		if len(m.active) >= m.cfg.MaxActiveDeliveries {
			m.sched.backlog = true // the rest wait for a slot
			break
		}
		if _, ok := m.active[j.eventID]; ok {
			continue
		}
		if _, ok := m.ended[j.eventID]; ok {
			continue
		}
		if !m.withinShares(j) {
			m.sched.backlog = true // waits for its customer's or reseller's job to end
			continue
		}
		if until, ok := m.held[j.eventID]; ok {
			if now.Before(until) {
				m.sched.soon(until)
				continue
			}
			delete(m.held, j.eventID)
		}
		m.markActive(j)
		taken = append(taken, j)
	}
	return taken
}

// withinShares reports whether j may start as far as its customer's and
// reseller's shares go (a customer without a webhook is held to neither).
// m.mu is held.
func (m *DeliveryManager) withinShares(j deliveryJob) bool {
	return m.hookless[j.customerID] || (m.busy[j.customerID] < m.cfg.MaxActivePerCustomer &&
		m.busyReseller[j.resellerID] < m.cfg.MaxActivePerReseller)
}

// markActive counts j as under way. m.mu is held.
func (m *DeliveryManager) markActive(j deliveryJob) {
	m.active[j.eventID] = j.customerID
	m.busy[j.customerID]++
	m.busyReseller[j.resellerID]++
}

// freshJobsKey carries, in the delivery handler's context, the jobs its
// batch enqueues (Handle), for startFresh once the batch commits.
type freshJobsKey struct{}

type freshJobs struct{ jobs []deliveryJob }

// startFresh starts jobs that Handle has just enqueued, in a batch that has
// committed, when they may start at once: nothing else waits in the queue
// (no backlog, nothing unread), there is room, and the shares allow. The
// scheduler would start them all on its next pass anyway, in whatever
// order; reading them back from the queue first cost each offer a wake-up
// of the scheduler and a read on the managers' one connection, which at
// 1,000 offers/s was the largest stage of the slowest deliveries (from the
// enqueue's commit to the job's start 18.6 ms on average in the slowest
// 1 %, issue 7). A job that may not start at once is left to the
// scheduler, as before.
func (m *DeliveryManager) startFresh(jobs []deliveryJob) {
	if len(jobs) == 0 {
		return
	}
	m.mu.Lock()
	ctx := m.runCtx
	var taken []deliveryJob
	rest := ctx == nil || m.sched.backlog || m.sched.stale || len(m.held) > 0
	for _, j := range jobs {
		if rest || len(m.active) >= m.cfg.MaxActiveDeliveries || !m.withinShares(j) {
			// This one and those after it are the scheduler's, in its
			// turns.
			rest = true
			break
		}
		if _, ok := m.active[j.eventID]; ok {
			continue
		}
		m.markActive(j)
		taken = append(taken, j)
	}
	if rest {
		m.sched.stale = true
	}
	for _, j := range taken {
		m.wg.Add(1) // under m.mu: run's wait cannot have begun (runCtx is set)
		go func() {
			defer m.wg.Done()
			m.work(ctx, j)
		}()
	}
	m.mu.Unlock()
	if rest {
		m.Wake()
	}
}

// requeue hands jobs that Handle enqueued in a batch that did not commit
// to the scheduler, which reads the queue for them.
func (m *DeliveryManager) requeue(jobs []deliveryJob) {
	if len(jobs) == 0 {
		return
	}
	m.mu.Lock()
	m.sched.stale = true
	m.mu.Unlock()
	m.Wake()
}

// learnWebhook records whether customer had a webhook at its latest try,
// and looks at the queue again when its jobs may now start beyond the
// share.
func (m *DeliveryManager) learnWebhook(customer string, hooked bool) {
	if customer == "" {
		return
	}
	m.mu.Lock()
	was := m.hookless[customer]
	if hooked {
		delete(m.hookless, customer)
	} else {
		m.hookless[customer] = true
		m.sched.stale = m.sched.stale || !was
	}
	m.mu.Unlock()
	if !hooked && !was {
		m.Wake()
	}
}

// enterCall takes one of customer's MaxActivePerCustomer webhook calls, if
// one is free; leaveCall gives it back.
func (m *DeliveryManager) enterCall(customer string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls[customer] >= m.cfg.MaxActivePerCustomer {
		return false
	}
	m.calls[customer]++
	return true
}

func (m *DeliveryManager) leaveCall(customer string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls[customer]--; m.calls[customer] <= 0 {
		delete(m.calls, customer)
	}
}

// work makes one try of a job (and the writes that record it) and records
// in the queue how it ended: done, poisoned, or pending until its next try.
func (m *DeliveryManager) work(ctx context.Context, j deliveryJob) {
	st := &deliveryRun{job: j, attempts: j.attempts}
	if j.lastError != "" {
		st.lastErr = &deliveryWebhookError{msg: j.lastError}
	}
	// The retries here are for the stores only (a webhook's failure ends
	// the try and schedules the next); a job that still fails is set aside.
	err := retryStores(ctx, m.cfg, func() error { return m.attempt(ctx, st) })
	if err != nil && ctx.Err() == nil {
		st.outcome = "poisoned"
		err = m.poison.setAside(ctx, deliveryPoisonRecord(j), err)
	}

	state, nextAt := "done", j.nextAt
	switch {
	case ctx.Err() != nil && st.outcome == "":
		state = "pending" // shut down mid-way: resume on the next start
	case err != nil:
		// The poison queue could not store it either; the rescan retries.
		m.log.ErrorContext(ctx, "delivery failed and could not be set aside", "offer_id", j.offerID, "err", err)
		state, nextAt = "pending", m.cfg.Now().Add(deliveryRescan).UnixMilli()
	case st.outcome == "poisoned":
		state = "poisoned"
	case st.outcome == "":
		state, nextAt = "pending", st.retryAt.UnixMilli() // the webhook failed; tries are left
	}
	if state != "pending" && m.cfg.OnDelivery != nil {
		m.cfg.OnDelivery(st.outcome)
	}
	m.finish(ctx, j, state, nextAt, st, err != nil)
}

// finish records a job's state and lets go of it; the record is written
// even when ctx is done, so that a finished job is not run again.
func (m *DeliveryManager) finish(ctx context.Context, j deliveryJob, state string, nextAt int64, st *deliveryRun, hold bool) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lastErr := ""
	if st.lastErr != nil {
		lastErr = st.lastErr.Error()
	}
	// A job queued without its customer (its offer could not be read then)
	// takes its own customer's turns from now on.
	customer := j.customerID
	if customer == "" {
		customer = st.customer
	}
	end := &jobEnd{state: state, outcome: st.outcome, attempts: st.attempts, lastErr: lastErr, nextAt: nextAt,
		customer: customer, updatedAt: m.cfg.Now().UnixMilli(), eventID: j.eventID}
	if err := m.ends.record(wctx, end); err != nil {
		m.log.ErrorContext(ctx, "cannot record the end of a delivery job", "event_id", j.eventID, "err", err)
		hold = true
	}
	m.mu.Lock()
	delete(m.active, j.eventID)
	m.ended[j.eventID] = struct{}{}
	if m.busy[j.customerID]--; m.busy[j.customerID] <= 0 {
		delete(m.busy, j.customerID)
	}
	if m.busyReseller[j.resellerID]--; m.busyReseller[j.resellerID] <= 0 {
		delete(m.busyReseller, j.resellerID)
	}
	// A slot is free, and the job may be due again: at once (stale) or at
	// its next try, which the scheduler learns here rather than from the
	// table.
	m.sched.freed = true
	if hold {
		until := m.cfg.Now().Add(deliveryRescan)
		m.held[j.eventID] = until
		m.sched.soon(until)
	}
	if state == "pending" {
		if t := time.UnixMilli(nextAt); t.After(m.cfg.Now()) {
			m.sched.soon(t)
		} else {
			m.sched.stale = true
		}
	}
	m.mu.Unlock()
	m.Wake()
}

// retryWait is the wait after the n-th failed webhook call (n from 1):
// WebhookBackoff, doubling with every further failure, at most
// WebhookMaxBackoff, spread by WebhookJitter either way.
func (m *DeliveryManager) retryWait(n int) time.Duration { return webhookRetryWait(m.cfg, n) }

// webhookRetryWait is the wait after the n-th failed webhook call: the
// backoff doubled n-1 times, capped, with jitter.
func webhookRetryWait(cfg ProcessConfig, n int) time.Duration {
	d := cfg.WebhookBackoff
	for i := 1; i < n && d < cfg.WebhookMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, cfg.WebhookMaxBackoff)
	if j := cfg.WebhookJitter; j > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * j * float64(d))
	}
	return d
}

// deliveryPoisonRecord is what the poison queue keeps of a job that could
// not finish: the dispatch event it works on, named by its payload.
func deliveryPoisonRecord(j deliveryJob) poisonRecord {
	payload, _ := json.Marshal(domain.OfferDispatched{OfferID: domain.OfferID(j.offerID), Dispatch: j.dispatch})
	return poisonRecord{
		handler: DeliveryWorkerName, eventID: j.eventID, eventType: domain.TypeOfferDispatched,
		stream: domain.OfferStream(domain.OfferID(j.offerID)), position: uint64(j.position), payload: payload,
		metadata: map[string]string{pubsub.MetaCorrelationID: j.corr},
	}
}
