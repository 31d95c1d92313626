package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// reaction is a process manager that answers every event of one type, which
// names an offer, with one command on that offer, and keeps no state of its
// own: the command's events carry deterministic ids and the domain refuses
// repeats, so handling an event again writes nothing. The license grant and
// the revision managers are two of them.
type reaction struct {
	on      string // the event type answered
	process string // the system actor the command runs as
	what    string // what the command does, for logs and errors
	// seedByEvent derives the command's event ids from the causing event's
	// id; without it the command derives them itself.
	seedByEvent bool
	// quiet is a refusal that is no news (a redelivery), left out of the
	// log; other refusals (processDone) are logged as warnings.
	quiet error
	// run issues the command and logs what it wrote.
	run func(ctx context.Context, m command.Meta, id domain.OfferID) error
	log *slog.Logger
}

// newGrantManager returns the manager that grants the licenses of every
// accepted offer, exactly once: the grant's stream refuses a second grant,
// and the event ids derive from the acceptance's id.
func newGrantManager(svc *command.Service, log *slog.Logger) *reaction {
	r := &reaction{on: domain.TypeOfferAccepted, process: "grant", what: "grant licenses", seedByEvent: true,
		quiet: domain.ErrLicensesAlreadyGranted, log: log}
	r.run = func(ctx context.Context, m command.Meta, id domain.OfferID) error {
		_, res, err := svc.GrantLicenses(ctx, m, id)
		if err == nil {
			r.log.InfoContext(ctx, "licenses granted", "offer_id", id, "position", res.Position)
		}
		return err
	}
	return r
}

// newRevisionManager returns the manager that finishes revisions. A
// revision is two appends, the old offer's offer.superseded and then its
// successor's creation in a stream of its own, and no store appends to two
// streams at once. The command that revises makes both; should it stop
// between them (a crash, a lost connection to the store), the successor
// would never exist, the old offer being closed to every decision. So for
// every offer.superseded this manager creates the successor if it is
// missing; both write it with the same event ids (derived by the command
// from the superseded offer, hence no seed here), so it is stored once.
func newRevisionManager(svc *command.Service, log *slog.Logger) *reaction {
	r := &reaction{on: domain.TypeOfferSuperseded, process: "revision", what: "complete revision", log: log}
	r.run = func(ctx context.Context, m command.Meta, id domain.OfferID) error {
		o, res, err := svc.CompleteRevision(ctx, m, id)
		if err == nil && len(res.Events) > 0 {
			r.log.InfoContext(ctx, "revision completed", "offer_id", id, "successor", o.ID(), "position", res.Position)
		}
		return err
	}
	return r
}

// Handle runs the command for an event of r's type; other events are
// acknowledged untouched. A refusal that means the work is done or no
// longer wanted is acknowledged too; any other failure is returned, so the
// event is tried again.
func (r *reaction) Handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != r.on {
		return nil
	}
	var ev struct {
		OfferID domain.OfferID `json:"offer_id"`
	}
	if err := processDecode(e, &ev); err != nil {
		return err
	}
	seed := ""
	if r.seedByEvent {
		seed = e.ID
	}
	err := r.run(ctx, processMeta(r.process, e, seed), ev.OfferID)
	switch {
	case err == nil:
		return nil
	case processDone(err):
		if r.quiet == nil || !errors.Is(err, r.quiet) {
			r.log.WarnContext(ctx, r.what+": refused", "offer_id", ev.OfferID, "err", err)
		}
		return nil
	}
	return fmt.Errorf("%s of offer %s: %w", r.what, ev.OfferID, err)
}
