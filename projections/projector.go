package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// Projector names. Each is at once the Watermill handler group name, the
// router handler name, the pubsub consumer group and the key of the
// projector's row in the checkpoints table: durable identifiers. Renaming
// one makes that projector start over from an empty checkpoint.
const (
	ProjectorResellerView  = "projection.reseller_view"
	ProjectorCustomerInbox = "projection.customer_inbox"
	ProjectorLicenses      = "projection.licenses"
	ProjectorAuditIndex    = "projection.audit_index"
)

// ProjectorNames lists every projector, in the order they are run.
func ProjectorNames() []string {
	return []string{ProjectorResellerView, ProjectorCustomerInbox, ProjectorLicenses, ProjectorAuditIndex}
}

// projector is one read model's ordered group of event handlers.
type projector struct {
	name     string
	handlers []cqrs.GroupEventHandler
	// types are the event types some handler takes; any other event only
	// moves the checkpoint.
	types map[string]bool
}

func newProjector(name string, handlers ...cqrs.GroupEventHandler) (*projector, error) {
	p := &projector{name: name, handlers: handlers, types: map[string]bool{}}
	for _, h := range handlers {
		typ := EventMarshaler{}.Name(h.NewEvent())
		if typ == "" {
			return nil, fmt.Errorf("projector %s: %w: %T", name, errNotAnEvent, h.NewEvent())
		}
		p.types[typ] = true
	}
	return p, nil
}

// projectors returns every projector, fresh.
func projectors() ([]*projector, error) {
	builds := []func() (*projector, error){newResellerView, newCustomerInbox, newLicenseView, newAuditIndex}
	out := make([]*projector, 0, len(builds))
	for _, b := range builds {
		p, err := b()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// dispatch hands an already decoded event to the handlers that take its
// type, as cqrs.EventGroupProcessor does with a message. ctx must carry the
// change being applied.
func (p *projector) dispatch(ctx context.Context, typ string, e domain.Event) error {
	for _, h := range p.handlers {
		if (EventMarshaler{}).Name(h.NewEvent()) != typ {
			continue
		}
		if err := h.Handle(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// change is what a handler writes through: the projector's transaction and
// the envelope of the event being applied.
type change struct {
	tx  *sql.Tx
	env *domain.AuditEvent
}

type changeKey struct{}

// changeFrom returns the change that ctx carries. Handlers run only inside
// applyBatch, so a missing change is a wiring bug, reported as an error
// rather than a panic so that the message is retried and the bug logged.
func changeFrom(ctx context.Context) (*change, error) {
	c, ok := ctx.Value(changeKey{}).(*change)
	if !ok || c == nil {
		return nil, errors.New("projection handler called outside a projector transaction")
	}
	return c, nil
}

// checkpointLag is how many events a projector's stored checkpoint may
// trail its position by, over events it has no handler for. Those change
// nothing, so committing a transaction for each would only cost time (on the
// live path most projectors ignore most events); after a restart they are
// read again, and ignored again.
const checkpointLag = 1000

// applyBatch applies envs, in order, to projector p in ONE transaction that
// also moves p's checkpoint to the last of them. Events at or below the
// checkpoint are skipped, which makes a redelivered or replayed event
// harmless. run is called with the index of each event of a type p handles,
// and ctx carrying the change. A batch of events p has no handler for only
// moves p's position in memory, until the stored checkpoint would trail by
// checkpointLag events.
func (db *DB) applyBatch(ctx context.Context, p *projector, envs []domain.AuditEvent, run func(ctx context.Context, i int) error) error {
	if len(envs) == 0 {
		return nil
	}
	if !p.handlesAny(envs) && db.marks.skip(p.name, len(envs), envs[len(envs)-1].Position) {
		return nil
	}
	var last uint64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		cp, err := readCheckpoint(ctx, tx, p.name)
		if err != nil {
			return err
		}
		last = cp
		for i := range envs {
			env := &envs[i]
			if env.Position <= last {
				continue
			}
			if p.types[env.Type] {
				cctx := context.WithValue(ctx, changeKey{}, &change{tx: tx, env: env})
				if err := run(cctx, i); err != nil {
					return fmt.Errorf("%s: apply %s at position %d: %w", p.name, env.Type, env.Position, err)
				}
			}
			last = env.Position
		}
		if last == cp {
			return nil
		}
		return writeCheckpoint(ctx, tx, p.name, last)
	})
	if err != nil {
		return err
	}
	db.marks.store(p.name, last)
	// Raised even when everything was skipped: another process sharing the
	// file may have applied these events, and waiters here should know.
	db.marks.raise(p.name, last)
	return nil
}

// handlesAny reports whether p has a handler for some event of envs.
func (p *projector) handlesAny(envs []domain.AuditEvent) bool {
	for i := range envs {
		if p.types[envs[i].Type] {
			return true
		}
	}
	return false
}

// applyEvents applies stored events to p, decoding each once. It is the
// path of catch-up and rebuild; live messages take the Watermill path, which
// ends in the same handlers.
func (db *DB) applyEvents(ctx context.Context, p *projector, events []eventstore.Event, decoded []domain.Event) error {
	envs := make([]domain.AuditEvent, len(events))
	for i, e := range events {
		envs[i] = eventlog.AuditEvent(e)
	}
	return db.applyBatch(ctx, p, envs, func(ctx context.Context, i int) error {
		if decoded[i] == nil {
			return fmt.Errorf("event %s at %d was not decoded", events[i].Type, events[i].Position)
		}
		return p.dispatch(ctx, events[i].Type, decoded[i])
	})
}

func readCheckpoint(ctx context.Context, tx *sql.Tx, name string) (uint64, error) {
	var p int64
	err := tx.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE projector = ?`, name).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	return uint64(p), nil
}

func writeCheckpoint(ctx context.Context, tx *sql.Tx, name string, p uint64) error {
	if p > math.MaxInt64 {
		return fmt.Errorf("checkpoint %s: position %d out of range", name, p)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (projector, position) VALUES (?, ?)
		ON CONFLICT (projector) DO UPDATE SET position = excluded.position`, name, int64(p))
	if err != nil {
		return fmt.Errorf("write checkpoint %s at %d: %w", name, p, err)
	}
	return nil
}

// envelopeFromMessage returns the event a pubsub.Subscriber message carries,
// in the audit shape. It is the inverse of the subscriber's encoding, so
// that live projection and rebuild see the same envelope.
func envelopeFromMessage(msg *message.Message) (domain.AuditEvent, error) {
	md := msg.Metadata
	pos, err := pubsub.Position(msg)
	if err != nil {
		return domain.AuditEvent{}, err
	}
	version, err := strconv.ParseUint(md.Get(pubsub.MetaStreamVersion), 10, 64)
	if err != nil {
		return domain.AuditEvent{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, pubsub.MetaStreamVersion, err)
	}
	at, err := time.Parse(time.RFC3339Nano, md.Get(pubsub.MetaOccurredAt))
	if err != nil {
		return domain.AuditEvent{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, pubsub.MetaOccurredAt, err)
	}
	schema, err := strconv.Atoi(md.Get(pubsub.MetaSchemaVersion))
	if err != nil {
		return domain.AuditEvent{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, pubsub.MetaSchemaVersion, err)
	}
	env := domain.AuditEvent{
		ID: msg.UUID, Position: pos, Stream: md.Get(pubsub.MetaStream), Version: version, Type: pubsub.EventType(msg),
		SchemaVersion: schema, OccurredAt: at.UTC(),
		Actor: domain.Actor{
			Role: domain.Role(md.Get(pubsub.MetaActorRole)), Tenant: md.Get(pubsub.MetaActorTenant), Subject: md.Get(pubsub.MetaActorSubject),
		},
		Data: json.RawMessage(msg.Payload), CorrelationID: md.Get(pubsub.MetaCorrelationID),
		CausationID: md.Get(pubsub.MetaCausationID), Hash: md.Get(pubsub.MetaHash),
	}
	if prev := md.Get(pubsub.MetaPrevHash); prev != "" {
		env.PrevHash = &prev
	}
	return env, nil
}
