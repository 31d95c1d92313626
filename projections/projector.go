package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
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
	return []string{ProjectorResellerView, ProjectorCustomerInbox, ProjectorLicenses, ProjectorAuditIndex, ProjectorReports}
}

// projector is one read model's ordered group of event handlers.
type projector struct {
	name string
	// byType holds the handlers of each event type, in declaration order.
	// It is built once: naming a handler's type takes a NewEvent, an
	// allocation, which per handler and per event was a twentieth of a
	// rebuild's CPU.
	byType map[string][]cqrs.GroupEventHandler
	// types are the event types some handler takes; any other event only
	// moves the checkpoint.
	types map[string]bool
	// envelopes says that its handlers store the envelope of each event
	// they take (change.envelope), which is then encoded ahead of them.
	envelopes bool
}

func newProjector(name string, handlers ...cqrs.GroupEventHandler) (*projector, error) {
	p := &projector{name: name, byType: map[string][]cqrs.GroupEventHandler{}, types: map[string]bool{}}
	for _, h := range handlers {
		// A handler takes the events of its event's stored type name
		// (domain.Event.EventType), never a name derived from the Go type.
		e, ok := h.NewEvent().(domain.Event)
		if !ok {
			return nil, fmt.Errorf("projector %s: handler's event %T is not a domain.Event", name, h.NewEvent())
		}
		typ := e.EventType()
		p.byType[typ] = append(p.byType[typ], h)
		p.types[typ] = true
	}
	return p, nil
}

// projectors returns every projector, fresh.
func projectors() ([]*projector, error) {
	builds := []func() (*projector, error){newResellerView, newCustomerInbox, newLicenseView, newAuditIndex, newReportView}
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
	for _, h := range p.byType[typ] {
		if err := h.Handle(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// change is what a handler writes through: the batch's transaction (which
// writes the batch's pending rows before a statement that names their
// tables, see batchTx), the state the batch keeps in memory, and the
// envelope of the event being applied.
type change struct {
	tx    *batchTx
	env   *domain.Envelope
	batch *batchCache
	// envelope is encodeEnvelope(env), for a projector with envelopes set
	// (else "").
	envelope string
}

type changeKey struct{}

// changeFrom returns the change that ctx carries. Handlers run only inside
// apply, so a missing change is a wiring bug, reported as an error
// rather than a panic so that the message is retried and the bug logged.
func changeFrom(ctx context.Context) (*change, error) {
	c, ok := ctx.Value(changeKey{}).(*change)
	if !ok || c == nil {
		return nil, errors.New("projection handler called outside a projector transaction")
	}
	return c, nil
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
	return writeCheckpoints(ctx, tx, []string{name}, []uint64{p})
}

// readCheckpoints returns the checkpoint of each of names (0 for one with
// no row), in one statement: a batch reads every projector's, and a
// statement apiece was a fifth of a small batch's own CPU (issue 7).
func readCheckpoints(ctx context.Context, tx *sql.Tx, names []string) ([]uint64, error) {
	out := make([]uint64, len(names))
	if len(names) == 0 {
		return out, nil
	}
	// The table holds a row per projector that ever ran, a handful: all
	// of them are read, which is cheaper than having SQLite build the
	// list of an IN (?, ...) first.
	rows, err := tx.QueryContext(ctx, `SELECT projector, position FROM checkpoints`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name sql.RawBytes // compared, not kept: no string per row
			p    int64
		)
		if err := rows.Scan(&name, &p); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		for i, n := range names {
			if n == string(name) {
				out[i] = uint64(p)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return out, nil
}

// writeCheckpoints moves the checkpoint of each of names to the position
// at the same index, in one statement.
func writeCheckpoints(ctx context.Context, tx *sql.Tx, names []string, ps []uint64) error {
	if len(names) != len(ps) {
		return fmt.Errorf("write checkpoints: %d names for %d positions", len(names), len(ps))
	}
	if len(names) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO checkpoints (projector, position) VALUES `)
	args := make([]any, 0, 2*len(names))
	for i, name := range names {
		if ps[i] > math.MaxInt64 {
			return fmt.Errorf("checkpoint %s: position %d out of range", name, ps[i])
		}
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?,?)`)
		args = append(args, name, int64(ps[i]))
	}
	q.WriteString(` ON CONFLICT (projector) DO UPDATE SET position = excluded.position`)
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("write checkpoints %v at %v: %w", names, ps, err)
	}
	return nil
}
