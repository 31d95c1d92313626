package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/eventstore"
)

// conn is the writer's connection with its prepared statements. The writer
// talks to the driver directly rather than through database/sql: a batch
// runs a few statements per append, and database/sql's per-statement cost
// (locks, allocations, and a goroutine per query inside a transaction to
// watch its context) was a large share of the writer's time, which bounds
// the throughput of group commit.
type conn struct {
	sc *sqlite3.SQLiteConn
	// begin … rollbackTo frame the batch and each append in it.
	begin, commit, rollback, savepoint, release, rollbackTo driver.Stmt
	// tip finds where a stream ends; byID whether an event id is stored in
	// it.
	tip    driver.Stmt
	byID   driver.Stmt
	insert driver.Stmt
}

var writerStatements = []struct {
	field func(c *conn) *driver.Stmt
	query string
}{
	{func(c *conn) *driver.Stmt { return &c.begin }, "BEGIN IMMEDIATE"},
	{func(c *conn) *driver.Stmt { return &c.commit }, "COMMIT"},
	{func(c *conn) *driver.Stmt { return &c.rollback }, "ROLLBACK"},
	{func(c *conn) *driver.Stmt { return &c.savepoint }, "SAVEPOINT append"},
	{func(c *conn) *driver.Stmt { return &c.release }, "RELEASE append"},
	{func(c *conn) *driver.Stmt { return &c.rollbackTo }, "ROLLBACK TO append"},
	{func(c *conn) *driver.Stmt { return &c.tip }, "SELECT version, hash FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1"},
	{func(c *conn) *driver.Stmt { return &c.byID }, "SELECT version, position FROM events WHERE stream = ? AND id = ?"},
	{func(c *conn) *driver.Stmt { return &c.insert }, `INSERT INTO events (id, stream, version, type, schema_version, data, metadata, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
}

func newConn(sc *sqlite3.SQLiteConn) (*conn, error) {
	c := &conn{sc: sc}
	for _, ws := range writerStatements {
		st, err := sc.Prepare(ws.query)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("prepare %q: %w", ws.query, err)
		}
		*ws.field(c) = st
	}
	return c, nil
}

func (c *conn) close() {
	for _, ws := range writerStatements {
		if st := *ws.field(c); st != nil {
			_ = st.Close()
		}
	}
}

// withConn runs fn on the writer pool's one connection, preparing the
// statements the first time and whenever the pool has replaced the
// connection. Between batches the connection goes back to the pool, so
// that Open's migrations and the tests' Pragma can use it too.
func (s *Store) withConn(ctx context.Context, fn func(c *conn) error) error {
	dbc, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer func() { _ = dbc.Close() }()
	return dbc.Raw(func(dc any) error {
		sc, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("writer connection is a %T, not a go-sqlite3 connection", dc)
		}
		if s.conn == nil || s.conn.sc != sc {
			c, err := newConn(sc)
			if err != nil {
				return err
			}
			s.conn = c
		}
		return fn(s.conn)
	})
}

// exec runs a prepared statement that returns no rows.
func exec(ctx context.Context, st driver.Stmt, args ...any) (driver.Result, error) {
	return st.(driver.StmtExecContext).ExecContext(ctx, named(args))
}

// queryRow runs a prepared statement, scans its first row into dest and
// reports whether there was one.
func queryRow(ctx context.Context, st driver.Stmt, dest []driver.Value, args ...any) (bool, error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, named(args))
	if err != nil {
		return false, err
	}
	defer func() { _ = rows.Close() }()
	switch err := rows.Next(dest); {
	case errors.Is(err, io.EOF):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

func named(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// applyBatch runs the batch's transaction on c and returns how many
// requests wrote events and the position of the last event written. Its
// error is one of the transaction, which has then been rolled back.
func (c *conn) applyBatch(ctx context.Context, batch []*request) (written int, last uint64, err error) {
	if _, err := exec(ctx, c.begin); err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if !c.sc.AutoCommit() {
			_, _ = exec(ctx, c.rollback)
		}
	}()
	for _, r := range batch {
		wrote, err := c.applyOne(ctx, r)
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
	if _, err := exec(ctx, c.commit); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return written, last, nil
}

// applyOne applies r inside the batch's transaction, after the requests
// before it in the batch, whose writes it sees: a second append to the same
// stream checks its expected version against the first's result and chains
// its hashes on. It sets r's answer and reports whether r wrote events; its
// error is one that leaves the transaction unusable.
func (c *conn) applyOne(ctx context.Context, r *request) (bool, error) {
	// Conditions first, before the retry detection: their caller decided
	// on what it read, and must read again if that is no longer the log.
	for _, cond := range r.conds {
		var at [2]driver.Value
		if _, err := queryRow(ctx, c.tip, at[:], cond.Stream); err != nil {
			return false, fmt.Errorf("read the version of %s: %w", cond.Stream, err)
		}
		if v, _ := at[0].(int64); uint64(v) != cond.Version {
			r.err = &eventstore.VersionError{Stream: cond.Stream, Expected: cond.Version, Actual: uint64(v)}
			return false, nil
		}
	}
	var tip [2]driver.Value
	exists, err := queryRow(ctx, c.tip, tip[:], r.stream)
	if err != nil {
		return false, fmt.Errorf("read the version of %s: %w", r.stream, err)
	}
	// A retry is recognised before the version check: the caller may have
	// reloaded the stream, seen its own earlier append, and now expects the
	// version that append produced. A new stream, the common case, holds
	// no ids and costs no second look-up.
	if exists {
		var found [2]driver.Value
		retry, err := queryRow(ctx, c.byID, found[:], r.stream, r.rows[0].ev.ID)
		if err != nil {
			return false, fmt.Errorf("look up event %s: %w", r.rows[0].ev.ID, err)
		}
		if retry {
			res, err := c.retryResult(ctx, r.stream, r.rows)
			if err != nil {
				return false, err
			}
			r.res = res
			return false, nil
		}
	}
	version, _ := tip[0].(int64)
	prev, _ := tip[1].(string)
	if uint64(version) != r.expected {
		r.err = &eventstore.VersionError{Stream: r.stream, Expected: r.expected, Actual: uint64(version)}
		return false, nil
	}
	res, err := c.insertAll(ctx, uint64(version), prev, r.rows)
	if err != nil {
		// insertAll has undone this append's inserts only, unless SQLite
		// rolled back the whole transaction, as it does on I/O errors or
		// a full disk: then the batch fails.
		if c.sc.AutoCommit() {
			return false, fmt.Errorf("append to %s: %w (transaction rolled back)", r.stream, err)
		}
		var rb *rollbackError
		if errors.As(err, &rb) {
			return false, err
		}
		r.err = err
		return false, nil
	}
	r.res = res
	return true, nil
}

// rollbackError is a failure to undo a failed append, which leaves the
// transaction in an unknown state.
type rollbackError struct{ err error }

func (e *rollbackError) Error() string { return "roll back a failed append: " + e.err.Error() }
func (e *rollbackError) Unwrap() error { return e.err }

// insertAll inserts rows all or none within the batch's transaction. A
// single INSERT that fails is undone by SQLite itself (statement rollback),
// so only an append of several events pays for a savepoint.
func (c *conn) insertAll(ctx context.Context, version uint64, prev string, rows []row) (eventstore.AppendResult, error) {
	if len(rows) == 1 {
		return c.insertRows(ctx, version, prev, rows)
	}
	if _, err := exec(ctx, c.savepoint); err != nil {
		return eventstore.AppendResult{}, &rollbackError{fmt.Errorf("savepoint: %w", err)}
	}
	res, err := c.insertRows(ctx, version, prev, rows)
	if err != nil {
		if c.sc.AutoCommit() {
			return res, err
		}
		if _, rerr := exec(ctx, c.rollbackTo); rerr != nil {
			return res, &rollbackError{fmt.Errorf("%w, after %v", rerr, err)}
		}
	}
	if _, rerr := exec(ctx, c.release); rerr != nil {
		return res, &rollbackError{fmt.Errorf("release savepoint: %w", rerr)}
	}
	return res, err
}

// retryResult returns the highest version and position among the given ids
// that are stored in stream: the result the earlier append returned.
func (c *conn) retryResult(ctx context.Context, stream string, rows []row) (eventstore.AppendResult, error) {
	var res eventstore.AppendResult
	var dest [2]driver.Value
	for _, r := range rows {
		ok, err := queryRow(ctx, c.byID, dest[:], stream, r.ev.ID)
		if err != nil {
			return res, fmt.Errorf("look up event %s: %w", r.ev.ID, err)
		}
		if !ok {
			continue
		}
		version, _ := dest[0].(int64)
		position, _ := dest[1].(int64)
		res.Version = max(res.Version, uint64(version))
		res.Position = max(res.Position, uint64(position))
	}
	return res, nil
}

// insertRows seals rows onto the chain that ends at version and prev and
// inserts them.
func (c *conn) insertRows(ctx context.Context, version uint64, prev string, rows []row) (eventstore.AppendResult, error) {
	var res eventstore.AppendResult
	for i := range rows {
		e := &rows[i].ev
		rows[i].pre.seal(e, version+uint64(i)+1, prev)
		var prevArg any
		if prev != "" {
			prevArg = prev
		}
		r, err := exec(ctx, c.insert, e.ID, e.Stream, int64(e.Version), e.Type, int64(e.SchemaVersion),
			string(e.Data), string(rows[i].meta), prevArg, e.Hash)
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
