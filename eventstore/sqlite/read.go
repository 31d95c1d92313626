package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/offerflow/offerflow/eventstore"
)

// maxPageHint bounds the room ReadAll makes for a page before reading it.
const maxPageHint = 1 << 14

// selectEvents reads data and metadata as BLOBs (they are stored as TEXT):
// the driver hands a BLOB over as a []byte of its own, which becomes the
// event's Data as it is, where a TEXT column is a string that needed a
// second copy to become one.
const selectEvents = `SELECT position, id, stream, version, type, schema_version, CAST(data AS BLOB), CAST(metadata AS BLOB), prev_hash, hash FROM events `

// ReadStream returns up to limit events of stream with version > after, in
// version order; a stream that does not exist reads as empty. limit must be
// positive.
func (s *Store) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read stream %s: limit %d: want a positive limit", stream, limit)
	}
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	evs, err := s.query(ctx, 0, selectEvents+"WHERE stream = ? AND version > ? ORDER BY version LIMIT ?", stream, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after version %d: %w", stream, after, err)
	}
	return evs, nil
}

// ReadAll returns up to limit events with position > after, in global order.
// limit must be positive.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read log: limit %d: want a positive limit", limit)
	}
	if err := s.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	evs, err := s.query(ctx, pageSize(after, limit, s.head.Load()), selectEvents+"WHERE position > ? ORDER BY position LIMIT ?", int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read log after position %d: %w", after, err)
	}
	if n := len(evs); n > 0 {
		s.observe(evs[n-1].Position)
	}
	return evs, nil
}

// pageSize is how many events a ReadAll after position after makes room
// for at once, head being the highest position the Store knows of. A page
// is read to its limit unless it reaches the head, so its slice is made
// that large at once instead of doubled a dozen times (a third of the bytes
// a rebuild allocated). A follower at the tail reads the two or three
// events of the last commit, or none, and the head says so: making room
// for a whole page there was a large allocation, cleared, for every
// subscriber at every wake-up (issue 7: 0.37 s of the 1.11 s the
// followers spent reading at 1,000 offers/s). Positions are contiguous,
// so head-after is the count unless another process appended since the
// head was last raised; then the slice grows as it did without a hint.
func pageSize(after uint64, limit int, head uint64) int {
	if head <= after {
		return 0
	}
	return int(min(head-after, uint64(min(limit, maxPageHint))))
}

// query runs a selectEvents query on the read pool and decodes its rows.
// It reads the rows from the driver's connection itself (see onReader):
// through database/sql each of the ten columns of each row was converted
// into its destination, and each []byte copied once more, a third of
// reading the log and most of its allocations (issue 7: a rebuild reads
// the whole log). The values the driver returns are new for every row, so
// they are kept as they are.
//
// size is how many events to make room for at once (0: grow as needed).
func (s *Store) query(ctx context.Context, size int, query string, args ...any) ([]eventstore.Event, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	var out []eventstore.Event
	err := s.onReader(ctx, query, named, func(rows driver.Rows) error {
		var err error
		out, err = scanEvents(rows, size)
		return err
	})
	if err != nil {
		return nil, err
	}
	// A read cut short by ctx may end without an error from the driver;
	// a partial page must not pass for a whole one.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// onReader runs query on a connection of the read pool and hands its rows
// to scan, talking to the driver's connection itself (sql.Conn.Raw) rather
// than through database/sql, which watches the context of every query it
// runs in a goroutine of its own. The driver watches ctx without one
// (context.AfterFunc): running a follower's two-event read under a context
// that cannot be cancelled saved about 1 µs of its 20 (BenchmarkFollowerReads),
// not worth a rebuild's page that Close cannot cut short.
func (s *Store) onReader(ctx context.Context, query string, args []driver.NamedValue, scan func(driver.Rows) error) error {
	conn, err := s.reader.Conn(ctx)
	if err != nil {
		return ctxErr(ctx, err)
	}
	defer func() { _ = conn.Close() }()
	err = conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("the driver's connection %T cannot run a query", dc)
		}
		rows, err := q.QueryContext(ctx, query, args)
		if err != nil {
			return err
		}
		return errors.Join(scan(rows), rows.Close())
	})
	return ctxErr(ctx, err)
}

// scanEvents reads the rows of a selectEvents query.
func scanEvents(rows driver.Rows, size int) ([]eventstore.Event, error) {
	out := make([]eventstore.Event, 0, size)
	row := make([]driver.Value, 10)
	for {
		if err := rows.Next(row); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		var e eventstore.Event
		c := columns{row: row}
		position, version := c.int(0), c.int(3)
		e.ID, e.Stream, e.Type = c.str(1), c.str(2), c.str(4)
		e.SchemaVersion = int(c.int(5))
		data, meta := c.bytes(6), c.bytes(7)
		if row[8] != nil {
			e.PrevHash = c.str(8)
		}
		e.Hash = c.str(9)
		if c.err != nil {
			return nil, fmt.Errorf("event at position %v: %w", row[0], c.err)
		}
		if err := decodeMetadata(meta, &e.Metadata); err != nil {
			return nil, fmt.Errorf("event at position %d: decode metadata: %w", position, err)
		}
		e.Position, e.Version = uint64(position), uint64(version)
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
}

// columns reads a row's values as the types the schema gives them; the
// first that is not fails the row.
type columns struct {
	row []driver.Value
	err error
}

func (c *columns) int(i int) int64 {
	v, ok := c.row[i].(int64)
	c.check(ok, i, "an integer")
	return v
}

func (c *columns) str(i int) string {
	v, ok := c.row[i].(string)
	c.check(ok, i, "a text")
	return v
}

func (c *columns) bytes(i int) []byte {
	v, ok := c.row[i].([]byte)
	c.check(ok, i, "a blob")
	return v
}

func (c *columns) check(ok bool, i int, want string) {
	if !ok && c.err == nil {
		c.err = fmt.Errorf("column %d is %T, want %s", i+1, c.row[i], want)
	}
}
