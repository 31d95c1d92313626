package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/eventstore"
)

// parkTries bounds how often an event that fails is applied before it is
// parked; an event that does not decode is parked at the first failure,
// since no retry can mend it.
const parkTries = 3

// parkBackoff is the pause before the second try of a failing event; it
// doubles with each try.
const parkBackoff = 50 * time.Millisecond

// ParkedEvent is an event the read models gave up on: it kept failing, so
// every projector's checkpoint moved past it and the read models went on
// without it. It stays in the log; only the read models lack it.
type ParkedEvent struct {
	Position uint64
	Type     string
	Stream   string
	EventID  string
	// Error is the last failure.
	Error    string
	Tries    int
	ParkedAt time.Time
}

// eventError is a failure of a batch caused by one of its events.
type eventError struct {
	position uint64
	// permanent: the event does not decode; trying again cannot help.
	permanent bool
	err       error
}

func (e *eventError) Error() string { return e.err.Error() }
func (e *eventError) Unwrap() error { return e.err }

// parkable reports whether err is the fault of an event, so that parking
// it lets the read models go on. A failure of the database itself (a full
// disk, an I/O error, a lock) would fail any event alike: parking would
// drop good events, so the batch is retried until the database recovers.
func parkable(err error) bool {
	var ee *eventError
	if !errors.As(err, &ee) {
		return false
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrReadonly,
			sqlite3.ErrCantOpen, sqlite3.ErrNomem, sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrProtocol:
			return false
		}
	}
	return true
}

// applySalvaging applies events one transaction each, after a batch of
// them failed: an event that still fails after parkTries tries is parked.
// Failures not caused by an event (the database, ctx) are returned, and the
// batch comes again as before.
func (db *DB) applySalvaging(ctx context.Context, prs []*projector, events []eventstore.Event) error {
	for _, e := range events {
		one := []eventstore.Event{e}
		var err error
		tries := 0
		for tries < parkTries {
			tries++
			err = db.applyBatch(ctx, prs, one)
			if err == nil || !parkable(err) || ctx.Err() != nil {
				break
			}
			var ee *eventError
			if errors.As(err, &ee) && ee.permanent {
				break // it does not decode: no retry can mend it
			}
			if tries == parkTries {
				break
			}
			select {
			case <-time.After(parkBackoff << (tries - 1)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err == nil {
			continue
		}
		if !parkable(err) || ctx.Err() != nil {
			return err
		}
		if err := db.park(ctx, prs, e, tries, err); err != nil {
			return err
		}
	}
	return nil
}

// park records e as parked and moves every projector of prs that has not
// passed it to its position, in one transaction: either the event is
// listed and skipped, or neither.
func (db *DB) park(ctx context.Context, prs []*projector, e eventstore.Event, tries int, cause error) error {
	now := time.Now().UTC()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx)
		if _, err := tx.ExecContext(ctx, `INSERT INTO parked_events
		(position, event_type, stream, event_id, error, tries, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (position) DO UPDATE SET error = excluded.error, tries = tries + excluded.tries,
			parked_at = excluded.parked_at`,
			int64(e.Position), e.Type, e.Stream, e.ID, cause.Error(), tries, now.UnixMilli()); err != nil {
			return fmt.Errorf("park event at position %d: %w", e.Position, err)
		}
		for _, p := range prs {
			cp, err := readCheckpoint(ctx, tx, p.name)
			if err != nil {
				return err
			}
			if cp < e.Position {
				if err := writeCheckpoint(ctx, tx, p.name, e.Position); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Reported (logged, counted) before the marks move: whoever waits for
	// this position (serve before it logs that it listens, a query's
	// min_position) then finds the parked event in the metric too.
	if db.onParked != nil {
		db.onParked(ParkedEvent{Position: e.Position, Type: e.Type, Stream: e.Stream, EventID: e.ID,
			Error: cause.Error(), Tries: tries, ParkedAt: now})
	}
	for _, p := range prs {
		db.marks.raise(p.name, e.Position)
	}
	return nil
}

// Parked returns the events the read models parked, in log order.
func (db *DB) Parked(ctx context.Context) ([]ParkedEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT position, event_type, stream, event_id, error, tries, parked_at
	FROM parked_events ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("list parked events: %w", err)
	}
	defer rows.Close()
	var out []ParkedEvent
	for rows.Next() {
		var (
			p       ParkedEvent
			pos, at int64
		)
		if err := rows.Scan(&pos, &p.Type, &p.Stream, &p.EventID, &p.Error, &p.Tries, &at); err != nil {
			return nil, fmt.Errorf("list parked events: %w", err)
		}
		p.Position, p.ParkedAt = uint64(pos), time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parked events: %w", err)
	}
	return out, nil
}

// ParkedCount returns how many events the read models parked.
func (db *DB) ParkedCount(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM parked_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count parked events: %w", err)
	}
	return n, nil
}
