package process

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// deliveryRun is one try of a job. Only the job's own goroutine touches it
// (Retry calls the attempt synchronously).
type deliveryRun struct {
	job      deliveryJob
	attempts int   // webhook calls made, those of earlier tries included
	lastErr  error // the last webhook failure
	body     []byte
	acked    bool      // the webhook answered 2xx: only recording it is left
	spent    bool      // every webhook try failed: only recording that is left
	outcome  string    // delivered, failed, skipped; set when the job ends well
	retryAt  time.Time // the webhook failed and tries are left: when to try again
	customer string    // the offer's customer, once read
}

// attempt is one try of a job, called by the Retry middleware (for failures
// of the stores) until it returns nil. A failed webhook call with tries
// left returns nil with st.retryAt set: the job goes back to the queue and
// holds no slot while it waits. Each try looks at the offer afresh, so a
// withdrawal or a newer dispatch stops the job quietly.
func (m *DeliveryManager) attempt(ctx context.Context, st *deliveryRun) error {
	switch {
	case st.acked:
		return m.recordDelivered(ctx, st)
	case st.spent:
		return m.recordFailed(ctx, st)
	}
	id := domain.OfferID(st.job.offerID)
	var c *domain.Customer
	if st.job.customerID != "" {
		// The customer is known from the queue: without a webhook, only
		// recording is left, and DeliverOffer reads the offer and refuses
		// (ECONFLICT: skipped) unless it still waits for this dispatch.
		// Reading the offer here as well was a stream read per delivery.
		var err error
		if c, _, err = m.svc.Customer(ctx, domain.CustomerID(st.job.customerID)); err != nil {
			return fmt.Errorf("load customer %s of offer %s: %w", st.job.customerID, id, err)
		}
		if url, _ := c.Webhook(); url == "" {
			st.customer = st.job.customerID
			m.learnWebhook(st.customer, false)
			st.acked = true // see below
			return m.recordDelivered(ctx, st)
		}
	}
	o, _, err := m.svc.Offer(ctx, domain.SystemActor("delivery"), id, 0, time.Time{})
	if err != nil {
		if processDone(err) {
			m.skip(ctx, st, "offer not found")
			return nil
		}
		return fmt.Errorf("load offer %s: %w", id, err)
	}
	if o.Status() != domain.StatusWaiting || o.Dispatch() != st.job.dispatch {
		m.skip(ctx, st, "offer no longer waiting for this dispatch")
		return nil
	}
	st.customer = string(o.Customer())
	if c == nil || st.customer != st.job.customerID {
		if c, _, err = m.svc.Customer(ctx, o.Customer()); err != nil {
			return fmt.Errorf("load customer %s of offer %s: %w", o.Customer(), id, err)
		}
	}
	url, secret := c.Webhook()
	if st.job.customerID == st.customer {
		m.learnWebhook(st.customer, url != "")
	}
	if url == "" {
		// Nothing to notify: only recording is left. Marked so that a retry
		// after a failed record records again (a no-op when the first one
		// was stored) instead of finding the offer delivered and calling
		// the job skipped.
		st.acked = true
		return m.recordDelivered(ctx, st)
	}
	if st.attempts >= m.cfg.WebhookAttempts {
		// Resumed after a restart with every try already made.
		st.spent = true
		return m.recordFailed(ctx, st)
	}
	if st.body == nil {
		if st.body, err = m.deliveryBody(ctx, st, o); err != nil {
			return err
		}
	}

	// A job started while its customer had no webhook may find one now,
	// with the customer's share of calls taken: it goes back to the queue
	// untried, and the customer's jobs start within the share from now on.
	if !m.enterCall(st.customer) {
		st.retryAt = m.cfg.Now()
		return nil
	}
	defer m.leaveCall(st.customer)

	st.attempts++
	// Counted before the call, so that a crash during it still counts the try.
	if _, err := m.db.ExecContext(ctx, `UPDATE delivery_jobs SET attempts = ?, updated_at = ? WHERE event_id = ?`,
		st.attempts, m.cfg.Now().UnixMilli(), st.job.eventID); err != nil {
		st.attempts--
		return fmt.Errorf("count delivery attempt of offer %s: %w", id, err)
	}
	err = m.call(ctx, url, secret, st)
	if err == nil {
		st.acked = true
		return m.recordDelivered(ctx, st)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st.lastErr = err
	if _, dberr := m.db.ExecContext(ctx, `UPDATE delivery_jobs SET last_error = ?, updated_at = ? WHERE event_id = ?`,
		err.Error(), m.cfg.Now().UnixMilli(), st.job.eventID); dberr != nil {
		m.log.WarnContext(ctx, "cannot store the last delivery error", "offer_id", id, "err", dberr)
	}
	// The log has what delivery_error leaves out: addresses, resolver.
	detail := err
	if cause := errors.Unwrap(err); cause != nil {
		detail = cause
	}
	m.log.WarnContext(ctx, "webhook delivery attempt failed", "offer_id", id, "dispatch", st.job.dispatch,
		"attempt", st.attempts, "of", m.cfg.WebhookAttempts, "err", err, "detail", detail)
	if st.attempts >= m.cfg.WebhookAttempts {
		st.spent = true
		return m.recordFailed(ctx, st)
	}
	st.retryAt = m.cfg.Now().Add(m.retryWait(st.attempts))
	return nil
}

// call makes one webhook call, within the limit of calls in flight.
func (m *DeliveryManager) call(ctx context.Context, url, secret string, st *deliveryRun) error {
	key, err := deliverySecretKey(secret)
	if err != nil {
		err = &deliveryWebhookError{msg: "webhook secret is unusable", cause: err}
		m.observeAttempt(err)
		return err
	}
	select {
	case m.http <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err = deliveryPost(ctx, m.client, url, st.job.eventID, key, st.body, m.cfg.Now(), m.cfg.WebhookMaxResponseBytes)
	<-m.http
	if ctx.Err() == nil {
		m.observeAttempt(err)
	}
	return err
}

func (m *DeliveryManager) observeAttempt(err error) {
	if m.cfg.OnWebhookAttempt != nil {
		m.cfg.OnWebhookAttempt(webhookOutcome(err))
	}
}

// webhookOutcome is the metrics label of a webhook call's result.
func webhookOutcome(err error) string {
	var we *deliveryWebhookError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &we):
		return we.outcome()
	}
	return "transport_error"
}

// meta is the command metadata of the job's writes. The seed derives the
// written event's id from the dispatch event, so recording the same round
// twice appends nothing; the failure has a seed of its own, so it can never
// be mistaken for a retry of the delivery.
func (m *DeliveryManager) meta(st *deliveryRun, suffix string) command.Meta {
	return command.Meta{
		Actor:           domain.SystemActor("delivery"),
		CorrelationID:   st.job.corr,
		CausationID:     st.job.eventID,
		IdempotencySeed: st.job.eventID + suffix,
	}
}

func (m *DeliveryManager) recordDelivered(ctx context.Context, st *deliveryRun) error {
	id := domain.OfferID(st.job.offerID)
	res, err := m.svc.RecordDelivery(ctx, m.meta(st, ""), id, st.job.dispatch)
	switch {
	case err == nil:
		st.outcome = "delivered"
		m.log.InfoContext(ctx, "offer delivered", "offer_id", id, "dispatch", st.job.dispatch,
			"webhook_attempts", st.attempts, "position", res.Position)
		return nil
	case processDone(err):
		m.skip(ctx, st, err.Error())
		return nil
	}
	return fmt.Errorf("record delivery of offer %s: %w", id, err)
}

func (m *DeliveryManager) recordFailed(ctx context.Context, st *deliveryRun) error {
	id := domain.OfferID(st.job.offerID)
	reason := "delivery failed"
	if st.lastErr != nil {
		reason = st.lastErr.Error()
	}
	_, res, err := m.svc.FailOfferDelivery(ctx, m.meta(st, ":failed"), id, st.job.dispatch, reason, st.attempts)
	switch {
	case err == nil:
		st.outcome = "failed"
		m.log.WarnContext(ctx, "offer delivery failed after every try", "offer_id", id, "dispatch", st.job.dispatch,
			"attempts", st.attempts, "err", reason, "position", res.Position)
		return nil
	case processDone(err):
		m.skip(ctx, st, err.Error())
		return nil
	}
	return fmt.Errorf("record failed delivery of offer %s: %w", id, err)
}

func (m *DeliveryManager) skip(ctx context.Context, st *deliveryRun, why string) {
	st.outcome = "skipped"
	m.log.InfoContext(ctx, "delivery stopped", "offer_id", st.job.offerID, "dispatch", st.job.dispatch, "why", why)
}
