package process

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// PoisonedMessage is a message a process manager gave up on: it was retried
// and still failed, so it was set aside to let the handler move on.
type PoisonedMessage struct {
	// Handler is the Watermill handler that failed ("process.delivery", ...).
	Handler string
	// EventID is the message UUID: the id of the event in the log.
	EventID   string
	EventType string
	Stream    string
	Position  uint64
	// Reason is the last error.
	Reason string
	// Payload is the event's data as the log stores it: a customer's
	// texts (domain.PersonalTexts) are sealed under its key, as in the
	// log, and open only through the sealing store (eventstore/seal
	// Store.Open), so never once the customer is erased. A text the log
	// holds in clear (stored before texts were sealed) is null here, and
	// so is the whole payload of an event with texts that does not decode
	// (empty): the event itself stays in the log at Position.
	Payload  []byte
	Metadata map[string]string
	// Count is how often the message was poisoned (again after restarts).
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
}

// processPoisonQueue keeps the messages the process managers gave up on in
// the table process_poison of the managers' database: durable, and visible
// through Processes.Poisoned, the error log and the OnPoisoned hook. It is
// deliberately not the event log: a poison record is an operational fact,
// not a business one, and it still carries the original event type.
//
// It never holds a customer's text in clear (docs/security.md, "The
// process managers' poison queue"). The managers read the log through the
// sealing store, which hands them the texts opened; a record keeps the
// event's data as the log stores it instead (eventstore.Stored), texts
// sealed under the customer's key, so that an erasure, which destroys the
// key, leaves them unreadable here as in the log, with nothing to find and
// overwrite in this file, on this node or any other, nor in a backup of it
// taken before the erasure. Keeping only the event's identity and reading
// it again from the log would do as well, but nothing reads the records
// back but an operator (sqlite3, a test), for whom the payload as stored
// shows at once what the event was; nulling the texts on customer.erased
// would keep them in clear until then, in this file and in its backups,
// and miss a customer.erased this node never reads (its groups follow the
// offers' streams, not the customers').
type processPoisonQueue struct {
	db  *sql.DB
	cfg ProcessConfig
	log *slog.Logger
}

func newProcessPoisonQueue(ctx context.Context, db *sql.DB, cfg ProcessConfig, log *slog.Logger) (*processPoisonQueue, error) {
	const ddl = `CREATE TABLE IF NOT EXISTS process_poison (
	handler    TEXT NOT NULL,
	event_id   TEXT NOT NULL,
	event_type TEXT NOT NULL,
	stream     TEXT NOT NULL,
	position   INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	payload    BLOB NOT NULL,
	metadata   TEXT NOT NULL,
	count      INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (handler, event_id)
)`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create process_poison: %w", err)
	}
	q := &processPoisonQueue{db: db, cfg: cfg, log: log}
	if err := q.scrub(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// poisonRecord is what is kept of a message set aside.
type poisonRecord struct {
	handler, eventID, eventType, stream string
	position                            uint64
	payload                             []byte
	metadata                            map[string]string
}

// poisonRecordOf is the record of an event of the log that handler gave
// up on. Its metadata holds the event's correlation and causation ids
// under Watermill's keys, as a message published again with them would.
func poisonRecordOf(handler string, ev eventstore.Event) poisonRecord {
	return poisonRecord{handler: handler, eventID: ev.ID, eventType: ev.Type, stream: ev.Stream, position: ev.Position,
		payload: poisonPayload(ev), metadata: map[string]string{
			pubsub.MetaCorrelationID: ev.Metadata.CorrelationID, pubsub.MetaCausationID: ev.Metadata.CausationID}}
}

// setAside stores r with the reason it failed; a record set aside again
// (after a restart) is counted up. It writes through the transaction ctx
// carries, if any, else the database; ctx may be done already, the record
// is written regardless.
func (q *processPoisonQueue) setAside(ctx context.Context, r poisonRecord, reason error) error {
	md, err := json.Marshal(r.metadata)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", r.eventID, err)
	}
	now := q.cfg.Now().UnixMilli()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err = processExec(ctx, q.db).ExecContext(wctx, `INSERT INTO process_poison
	(handler, event_id, event_type, stream, position, reason, payload, metadata, count, first_seen, last_seen)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
	ON CONFLICT (handler, event_id) DO UPDATE SET reason = excluded.reason, metadata = excluded.metadata,
		count = count + 1, last_seen = excluded.last_seen`,
		r.handler, r.eventID, r.eventType, r.stream, int64(r.position), reason.Error(),
		append([]byte{}, r.payload...), string(md), now, now)
	if err != nil {
		q.log.Error("cannot store a poisoned message", "event_id", r.eventID, "handler", r.handler, "err", err)
		return fmt.Errorf("store poisoned message %s: %w", r.eventID, err)
	}
	q.log.Error("process manager set a message aside in the poison queue",
		"handler", r.handler, "event_id", r.eventID, "event_type", r.eventType,
		"stream", r.stream, "position", r.position, "reason", reason)
	if q.cfg.OnPoisoned != nil {
		q.cfg.OnPoisoned(r.handler)
	}
	return nil
}

// list returns up to limit poisoned messages, most recently poisoned first.
func (q *processPoisonQueue) list(ctx context.Context, limit int) ([]PoisonedMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := q.db.QueryContext(ctx, `SELECT handler, event_id, event_type, stream, position, reason,
	payload, metadata, count, first_seen, last_seen FROM process_poison ORDER BY last_seen DESC, event_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list poisoned messages: %w", err)
	}
	defer rows.Close()
	var out []PoisonedMessage
	for rows.Next() {
		var (
			m           PoisonedMessage
			pos         int64
			md          string
			first, last int64
		)
		if err := rows.Scan(&m.Handler, &m.EventID, &m.EventType, &m.Stream, &pos, &m.Reason,
			&m.Payload, &md, &m.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("list poisoned messages: %w", err)
		}
		if err := json.Unmarshal([]byte(md), &m.Metadata); err != nil {
			return nil, fmt.Errorf("list poisoned messages: metadata of %s: %w", m.EventID, err)
		}
		m.Position = uint64(pos)
		m.FirstSeen, m.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list poisoned messages: %w", err)
	}
	return out, nil
}

// processPermanentError marks a failure that no retry can mend (an event
// that does not decode): Retry skips it and it goes to the poison queue at
// once.
type processPermanentError struct{ err error }

func (e *processPermanentError) Error() string { return e.err.Error() }
func (e *processPermanentError) Unwrap() error { return e.err }

func processPermanent(err error) error { return &processPermanentError{err: err} }

func processIsPermanent(err error) bool {
	var pe *processPermanentError
	return errors.As(err, &pe)
}
