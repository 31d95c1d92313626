package sqlite

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/offerflow/offerflow/eventstore"
)

// request is one Append waiting for the writer goroutine, and its answer.
type request struct {
	stream   string
	expected uint64
	rows     []row
	// conds are other streams the append requires at a version (see
	// eventstore.WithConditions).
	conds []eventstore.StreamVersion
	// taken is set, under Store.qmu, when the writer takes the request
	// into a batch; from then on its caller can no longer withdraw it.
	taken bool
	// res and err are the answer, written by the writer before it closes
	// done.
	res  eventstore.AppendResult
	err  error
	done chan struct{}
}

// Stats counts what the writer has done since Open.
type Stats struct {
	// Transactions is the number of write transactions committed.
	Transactions uint64
	// Appends is the number of appends whose events were written;
	// idempotent retries and rejected appends are not counted.
	Appends uint64
}

type counters struct {
	transactions, appends atomic.Uint64
	// taken counts requests the writer has taken from the queue; tests use
	// it to know when an append is past the point of withdrawal.
	taken atomic.Uint64
	// headReads counts reads of the head from the file; tests use it to
	// see which Waits read it.
	headReads atomic.Uint64
}

// Stats returns what the writer has committed since Open. Appends divided by
// Transactions is the mean number of appends per group commit.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.stats.transactions.Load(), Appends: s.stats.appends.Load()}
}

// enqueue hands req to the writer, or returns ErrClosed once Close has begun.
func (s *Store) enqueue(req *request) error {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.closing {
		return ErrClosed
	}
	s.queue = append(s.queue, req)
	s.qcond.Signal()
	return nil
}

// withdraw removes req from the queue if the writer has not taken it yet,
// and reports whether it did.
func (s *Store) withdraw(req *request) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if req.taken {
		return false
	}
	if i := slices.Index(s.queue, req); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	return true
}

// take waits for queued appends and takes up to MaxBatch of them, oldest
// first. It returns nil when Close has begun and the queue is empty.
func (s *Store) take(batch []*request) []*request {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for len(s.queue) == 0 && !s.closing {
		s.qcond.Wait()
	}
	n := min(len(s.queue), s.cfg.MaxBatch)
	if n == 0 {
		return nil
	}
	batch = append(batch[:0], s.queue[:n]...)
	for _, r := range batch {
		r.taken = true
	}
	s.stats.taken.Add(uint64(n))
	// Shift the rest down rather than reslice, so the queue's array does
	// not grow without bound under steady load.
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	return batch
}

// run is the writer goroutine: it commits whatever appends have queued up
// while the previous transaction was being committed, all in one
// transaction and so one WAL sync, and answers their callers. Under load the
// batch grows by itself, since appends pile up during each sync; alone, an
// append is committed at once. After Close it drains the queue and returns.
func (s *Store) run() {
	defer close(s.writerDone)
	defer func() {
		// The statements go before the connection does (in Close).
		_ = s.withConn(context.Background(), func(c *conn) error { c.close(); return nil })
		s.conn = nil
	}()
	var batch []*request
	for {
		batch = s.take(batch)
		if batch == nil {
			return
		}
		s.commitBatch(batch)
		for i, r := range batch {
			close(r.done)
			batch[i] = nil
		}
	}
}

// commitBatch applies every request of batch in one transaction and fills
// in its answer. A request that fails on its own (wrong version, an insert
// refused) is rolled back to its savepoint and answered with its error while
// its neighbours go on; an error of the transaction itself fails them all.
func (s *Store) commitBatch(batch []*request) {
	// The writer's work is not cancelled by any one caller: once taken, an
	// append is committed with its batch (see Append).
	ctx := context.Background()
	var (
		written int
		last    uint64
	)
	err := s.withConn(ctx, func(c *conn) error {
		var err error
		written, last, err = c.applyBatch(ctx, batch)
		return err
	})
	if err != nil {
		for _, r := range batch {
			r.res, r.err = eventstore.AppendResult{}, err
		}
		return
	}
	if written > 0 {
		s.stats.transactions.Add(1)
		s.stats.appends.Add(uint64(written))
		s.committed(last)
	}
}
