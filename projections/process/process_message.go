package process

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// processMeta is the command metadata of work caused by ev: done by the
// system as process, caused by ev, in its correlation, with seed making the
// written event ids deterministic so that a redelivered event appends
// nothing twice.
func processMeta(process string, ev eventstore.Event, seed string) command.Meta {
	return command.Meta{
		Actor:           domain.SystemActor(process),
		CorrelationID:   processCorrelation(ev),
		CausationID:     ev.ID,
		IdempotencySeed: seed,
	}
}

// processCorrelation is the correlation id of the work ev causes: ev's
// own, or ev's id where it starts a conversation.
func processCorrelation(ev eventstore.Event) string {
	if ev.Metadata.CorrelationID != "" {
		return ev.Metadata.CorrelationID
	}
	return ev.ID
}

// wakeup lets a manager's loop, asleep until something is due, look at
// its work now. Wake never blocks: one pending wake-up is enough.
type wakeup chan struct{}

func newWakeup() wakeup { return make(wakeup, 1) }

// Wake makes the loop look at its work now.
func (w wakeup) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// processDone reports whether a command's error means the work is already
// done or no longer wanted: the domain refusing the transition (a repeat, or
// a state that moved on) or the offer not existing. A conflict of racing
// appends is not such a refusal; it is worth retrying.
func processDone(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, command.ErrConflict) {
		return false
	}
	if errors.Is(err, domain.ErrCustomerErased) {
		// The customer was erased after the work was asked for (a
		// campaign's offer): it can never be done, and trying again
		// changes nothing.
		return true
	}
	switch domain.ErrorCode(err) {
	case domain.ECONFLICT, domain.ENOTFOUND:
		return true
	}
	return false
}

// processDecode decodes ev's data into v, upcast to its type's current
// shape as domain.DecodeEvent does; a failure is permanent, as no retry
// changes a stored event.
func processDecode(ev eventstore.Event, v any) error {
	data, err := domain.Upcast(ev.Type, ev.SchemaVersion, ev.Data)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return processPermanent(fmt.Errorf("decode %s event %s: %w", ev.Type, ev.ID, err))
	}
	return nil
}

// processTxKey carries, in a handler's context, the transaction of the
// batch it runs in (see Processes.handler).
type processTxKey struct{}

// processExecer is what the managers' handlers write through.
type processExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// processExec returns the transaction of the batch that ctx belongs to, or
// db outside one (the workers, the expiry loop, tests calling a handler).
// The managers' database has one connection, so a handler in a batch must
// write through the batch's transaction: a statement on db would wait for
// the connection the transaction holds.
func processExec(ctx context.Context, db *sql.DB) processExecer {
	if tx, ok := ctx.Value(processTxKey{}).(*sql.Tx); ok {
		return tx
	}
	return db
}
