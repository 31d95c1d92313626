package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// processPoisonTopic is the topic the PoisonQueue middleware publishes to;
// processPoisonQueue is its only subscriber-less destination.
const processPoisonTopic = "process.poison"

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
	Reason   string
	Payload  []byte
	Metadata map[string]string
	// Count is how often the message was poisoned (again after restarts).
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
}

// processPoisonQueue is a message.Publisher that stores poisoned messages in
// the table process_poison of the managers' database: durable, and visible
// through Processes.Poisoned, the error log and the OnPoisoned hook. It is
// deliberately not the event log: a poison record is an operational fact, not
// a business one, and the message still carries the original event type.
type processPoisonQueue struct {
	db  *sql.DB
	cfg ProcessConfig
	log *slog.Logger
	// handler names the handler of messages that did not come through the
	// router, whose context therefore carries no handler name.
	handler string
}

var _ message.Publisher = (*processPoisonQueue)(nil)

func newProcessPoisonQueue(ctx context.Context, db *sql.DB, cfg ProcessConfig, log *slog.Logger, handler string) (*processPoisonQueue, error) {
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
	return &processPoisonQueue{db: db, cfg: cfg, log: log, handler: handler}, nil
}

// Publish stores msgs; a message poisoned again (after a restart) updates
// its row and counts up.
func (q *processPoisonQueue) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		if err := q.store(msg); err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
	}
	return nil
}

func (q *processPoisonQueue) store(msg *message.Message) error {
	handler := msg.Metadata.Get(middleware.PoisonedHandlerKey)
	if handler == "" {
		handler = q.handler
		msg.Metadata.Set(middleware.PoisonedHandlerKey, handler)
	}
	reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
	pos, _ := pubsub.Position(msg) // 0 for a message that did not come from the log
	md, err := json.Marshal(msg.Metadata)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", msg.UUID, err)
	}
	now := q.cfg.Now().UnixMilli()
	// The message's own context may be cancelled already; the record must
	// be written regardless.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), 10*time.Second)
	defer cancel()
	_, err = q.db.ExecContext(ctx, `INSERT INTO process_poison
	(handler, event_id, event_type, stream, position, reason, payload, metadata, count, first_seen, last_seen)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
	ON CONFLICT (handler, event_id) DO UPDATE SET reason = excluded.reason, metadata = excluded.metadata,
		count = count + 1, last_seen = excluded.last_seen`,
		handler, msg.UUID, pubsub.EventType(msg), msg.Metadata.Get(pubsub.MetaStream), int64(pos), reason,
		append([]byte{}, msg.Payload...), string(md), now, now)
	if err != nil {
		q.log.Error("cannot store a poisoned message", "event_id", msg.UUID, "handler", handler, "err", err)
		return fmt.Errorf("store poisoned message %s: %w", msg.UUID, err)
	}
	q.log.Error("process manager set a message aside in the poison queue",
		"handler", handler, "event_id", msg.UUID, "event_type", pubsub.EventType(msg),
		"stream", msg.Metadata.Get(pubsub.MetaStream), "position", pos, "reason", reason)
	if q.cfg.OnPoisoned != nil {
		q.cfg.OnPoisoned(handler)
	}
	return nil
}

// Close does nothing: the database belongs to the caller.
func (q *processPoisonQueue) Close() error { return nil }

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
