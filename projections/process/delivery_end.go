package process

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// jobEnd is the row of a job that ended a try, as finish records it, and
// the outcome of recording it.
type jobEnd struct {
	state, outcome, lastErr, customer, eventID string
	attempts                                   int
	nextAt, updatedAt                          int64 // unix milliseconds

	err error
	// lead is set when the job's finish is to write the queued ends
	// itself (the one writing before it is done); done is closed when the
	// end was written, or lead set.
	lead bool
	done chan struct{}
}

// jobEnds writes the ends of delivery jobs, the ones that come while a
// write is under way all in the next transaction: a group commit. Each
// job's end was a transaction of its own on the managers' one connection,
// a thousand a second at 1,000 offers/s, and every handler's batch, every
// read of the queue waited behind the jobs' ends for that connection,
// which database/sql hands to a waiter at random (issue 7: the wait of the
// delivery handler's transaction for it was 29 ms at p99, of the
// scheduler's read as long). A job still waits for its own end to be
// written before it lets go of its slot, as before.
type jobEnds struct {
	db *sql.DB

	mu      sync.Mutex
	queue   []*jobEnd
	writing bool // a finish is writing; the next to write is among queue
}

// record writes e, with whatever other ends are queued when its turn
// comes, and returns once it is written (or failed to be).
func (w *jobEnds) record(ctx context.Context, e *jobEnd) error {
	e.done = make(chan struct{})
	w.mu.Lock()
	w.queue = append(w.queue, e)
	lead := !w.writing
	w.writing = true
	w.mu.Unlock()
	if !lead {
		<-e.done
		if !e.lead {
			return e.err
		}
	}
	w.mu.Lock()
	batch := w.queue
	w.queue = nil
	w.mu.Unlock()
	err := w.write(ctx, batch)
	w.mu.Lock()
	// Those that came during the write: the first of them writes them.
	if len(w.queue) > 0 {
		next := w.queue[0]
		next.lead = true
		close(next.done)
	} else {
		w.writing = false
	}
	w.mu.Unlock()
	for _, b := range batch {
		if b != e {
			b.err = err
			close(b.done)
		}
	}
	return err
}

// write records batch in one transaction.
func (w *jobEnds) write(ctx context.Context, batch []*jobEnd) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record delivery job ends: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, `UPDATE delivery_jobs SET state = ?, outcome = ?, attempts = ?,
	last_error = ?, next_at = ?, customer_id = ?, updated_at = ? WHERE event_id = ?`)
	if err != nil {
		return fmt.Errorf("record delivery job ends: %w", err)
	}
	defer func() { _ = st.Close() }()
	for _, e := range batch {
		if _, err := st.ExecContext(ctx, e.state, e.outcome, e.attempts, e.lastErr, e.nextAt, e.customer, e.updatedAt, e.eventID); err != nil {
			return fmt.Errorf("record the end of delivery job %s: %w", e.eventID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record delivery job ends: commit: %w", err)
	}
	return nil
}
