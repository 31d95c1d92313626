package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

// What RetryParked did with a parked event.
const (
	// RetryApplied: the projectors applied it; it is no longer parked.
	RetryApplied = "applied"
	// RetryFailed: it failed again (its error and tries are updated); it
	// stays parked.
	RetryFailed = "failed"
	// RetryHeld: not tried, since the read models applied later events of
	// its stream without it; it stays parked (see RetryParked).
	RetryHeld = "held"
)

// RetryResult is what RetryParked did with one parked event.
type RetryResult struct {
	ParkedEvent
	// Outcome is RetryApplied, RetryFailed or RetryHeld.
	Outcome string
	// Reason says why it failed or was held.
	Reason string
}

// errHeld is the reason of RetryHeld.
type errHeld struct {
	stream   string
	position uint64
}

func (e *errHeld) Error() string {
	return fmt.Sprintf("the read models applied a later event of stream %s (position %d) without it: applied now it would come out of order; "+
		"offerflow rebuild (with the server stopped) applies the whole log in order", e.stream, e.position)
}

// RetryParked applies parked events again, after a fix (a new binary whose
// decoder or projector takes them): those at positions, or every one when
// positions is empty, in log order. Each is read from store and applied
// through the projectors' handlers in one transaction of its own that also
// removes it from the parked list, so it is applied once or stays parked;
// the checkpoints, already past it, stay where they are. It may run while
// serve follows the log (SQLite serialises the writers); /readyz counts
// what is still parked.
//
// An event whose stream has a later event that the read models applied
// while it was parked is held, not tried: applied now it would fold in
// before a state that already holds what came after it. offerflow rebuild
// applies such a stream in order. A position that is not parked is an
// error, as is a failure of the database or of reading the log; an event
// that fails again is reported, not an error.
func (db *DB) RetryParked(ctx context.Context, store eventstore.Store, positions []uint64) ([]RetryResult, error) {
	all, err := db.Parked(ctx)
	if err != nil {
		return nil, err
	}
	parked := make(map[uint64]bool, len(all))
	for _, p := range all {
		parked[p.Position] = true
	}
	chosen := make(map[uint64]bool, len(positions))
	for _, pos := range positions {
		if !parked[pos] {
			return nil, fmt.Errorf("retry parked events: nothing is parked at position %d", pos)
		}
		chosen[pos] = true
	}
	prs, err := projectors()
	if err != nil {
		return nil, err
	}
	var out []RetryResult
	for _, p := range all { // in log order
		if len(chosen) > 0 && !chosen[p.Position] {
			continue
		}
		res, err := db.retryOne(ctx, store, prs, p, parked)
		if err != nil {
			return out, err
		}
		if res.Outcome == RetryApplied {
			delete(parked, p.Position)
		}
		out = append(out, res)
	}
	return out, nil
}

// retryOne retries parked event p; parked holds the positions still
// parked.
func (db *DB) retryOne(ctx context.Context, store eventstore.Store, prs []*projector, p ParkedEvent, parked map[uint64]bool) (RetryResult, error) {
	res := RetryResult{ParkedEvent: p}
	evs, err := store.ReadAll(ctx, p.Position-1, 1)
	if err != nil {
		return res, fmt.Errorf("retry parked event at position %d: %w", p.Position, err)
	}
	if len(evs) == 0 || evs[0].Position != p.Position || evs[0].ID != p.EventID {
		return res, fmt.Errorf("retry parked event at position %d: the log holds no event %s there", p.Position, p.EventID)
	}
	e := evs[0]
	// The first later event of the stream that the read models did not
	// park: once the checkpoints pass it, it was applied without e.
	later, err := eventstore.ReadStreamAll(ctx, store, e.Stream, e.Version)
	if err != nil {
		return res, fmt.Errorf("retry parked event at position %d: %w", p.Position, err)
	}
	var next uint64
	for _, l := range later {
		if !parked[l.Position] {
			next = l.Position
			break
		}
	}
	held := func(ctx context.Context, q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) error {
		if next == 0 {
			return nil
		}
		var cp sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT max(position) FROM checkpoints`).Scan(&cp); err != nil {
			return fmt.Errorf("read checkpoints: %w", err)
		}
		if cp.Valid && uint64(cp.Int64) >= next {
			return &errHeld{stream: e.Stream, position: next}
		}
		return nil
	}
	var heldErr *errHeld
	if err := held(ctx, db.read); errors.As(err, &heldErr) {
		res.Outcome, res.Reason = RetryHeld, err.Error()
		return res, nil
	} else if err != nil {
		return res, fmt.Errorf("retry parked event at position %d: %w", p.Position, err)
	}
	err = db.applyWith(ctx, prs, []eventstore.Event{e}, applyOptions{behind: true, inTx: func(ctx context.Context, tx *sql.Tx) error {
		// Checked again where it counts: serve may have applied the later
		// event since.
		if err := held(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM parked_events WHERE position = ?`, int64(p.Position))
		return err
	}})
	switch {
	case err == nil:
		res.Outcome = RetryApplied
		return res, nil
	case errors.As(err, &heldErr):
		res.Outcome, res.Reason = RetryHeld, err.Error()
		return res, nil
	case !parkable(err) || ctx.Err() != nil:
		return res, fmt.Errorf("retry parked event at position %d: %w", p.Position, err)
	}
	res.Outcome, res.Reason = RetryFailed, err.Error()
	res.Tries++
	res.Error = err.Error()
	if _, uerr := db.write.ExecContext(ctx, `UPDATE parked_events SET error = ?, tries = tries + 1 WHERE position = ?`,
		err.Error(), int64(p.Position)); uerr != nil {
		return res, fmt.Errorf("retry parked event at position %d: record its failure: %w", p.Position, uerr)
	}
	return res, nil
}
