package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/offerflow/offerflow/eventstore"
)

// request is one Append waiting for the writer goroutine, and its answer.
type request struct {
	stream   string
	expected uint64
	rows     []row
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
}

// Stats returns what the writer has committed since Open. Appends divided by
// Transactions is the mean number of appends per group commit.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.stats.transactions.Load(), Appends: s.stats.appends.Load()}
}

// statements are the writer's prepared statements, prepared once on its one
// connection and bound to each batch's transaction.
type statements struct {
	byID, tip, insert *sql.Stmt
}

func prepareStatements(ctx context.Context, db *sql.DB) (statements, error) {
	var st statements
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&st.byID, "SELECT version, position FROM events WHERE stream = ? AND id = ?"},
		{&st.tip, "SELECT version, hash FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1"},
		{&st.insert, `INSERT INTO events (id, stream, version, type, schema_version, data, metadata, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			_ = st.close()
			return statements{}, fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = stmt
	}
	return st, nil
}

func (st statements) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{st.byID, st.tip, st.insert} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
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
	written, last, err := s.applyBatch(ctx, batch)
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

// applyBatch runs the batch's transaction and returns how many requests
// wrote events and the position of the last event written.
func (s *Store) applyBatch(ctx context.Context, batch []*request) (written int, last uint64, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st := statements{
		byID:   tx.StmtContext(ctx, s.stmts.byID),
		tip:    tx.StmtContext(ctx, s.stmts.tip),
		insert: tx.StmtContext(ctx, s.stmts.insert),
	}
	for _, r := range batch {
		wrote, err := applyOne(ctx, tx, st, r)
		if err != nil {
			return 0, 0, err
		}
		if wrote {
			written++
			last = r.res.Position
		}
	}
	if written == 0 {
		// Only retries and rejections: nothing to make durable.
		return 0, 0, nil
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return written, last, nil
}

// applyOne applies r inside the batch's transaction, after the requests
// before it in the batch, whose writes it sees: a second append to the same
// stream checks its expected version against the first's result and chains
// its hashes on. It sets r's answer and reports whether r wrote events; its
// error is one that leaves the transaction unusable.
func applyOne(ctx context.Context, tx *sql.Tx, st statements, r *request) (bool, error) {
	// A retry is recognised before the version check: the caller may have
	// reloaded the stream, seen its own earlier append, and now expects the
	// version that append produced.
	res, retry, err := findRetry(ctx, st.byID, r.stream, r.rows)
	if err != nil {
		return false, err
	}
	if retry {
		r.res = res
		return false, nil
	}
	var (
		version  int64
		prevHash sql.NullString
	)
	err = st.tip.QueryRowContext(ctx, r.stream).Scan(&version, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read stream version of %s: %w", r.stream, err)
	}
	if uint64(version) != r.expected {
		r.err = &eventstore.VersionError{Stream: r.stream, Expected: r.expected, Actual: uint64(version)}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT append"); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	res, err = insertRows(ctx, st.insert, uint64(version), prevHash.String, r.rows)
	if err != nil {
		// Undo this append's inserts only. If SQLite has already rolled
		// back the whole transaction (as it does on I/O errors or a full
		// disk), the savepoint is gone and the batch fails.
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO append; RELEASE append"); rerr != nil {
			return false, fmt.Errorf("roll back %s after %v: %w", r.stream, err, rerr)
		}
		r.err = err
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, "RELEASE append"); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	r.res = res
	return true, nil
}

// insertRows seals rows onto the chain that ends at version and prev and
// inserts them.
func insertRows(ctx context.Context, insert *sql.Stmt, version uint64, prev string, rows []row) (eventstore.AppendResult, error) {
	var res eventstore.AppendResult
	for i := range rows {
		e := &rows[i].ev
		e.Version = version + uint64(i) + 1
		if err := eventstore.Seal(e, prev); err != nil {
			return res, fmt.Errorf("seal event %s: %w", e.ID, err)
		}
		r, err := insert.ExecContext(ctx, e.ID, e.Stream, int64(e.Version), e.Type, e.SchemaVersion,
			string(e.Data), string(rows[i].meta), sql.NullString{String: prev, Valid: prev != ""}, e.Hash)
		if err != nil {
			return res, fmt.Errorf("insert event %s at version %d: %w", e.ID, e.Version, err)
		}
		pos, err := r.LastInsertId()
		if err != nil {
			return res, fmt.Errorf("insert event %s: read position: %w", e.ID, err)
		}
		res = eventstore.AppendResult{Version: e.Version, Position: uint64(pos)}
		prev = e.Hash
	}
	return res, nil
}
