package process

import (
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// RevisionManager finishes revisions: a revision is two appends, the old
// offer's offer.superseded and then its successor's creation in a stream of
// its own, and no store appends to two streams at once. The command that
// revises makes both; should it stop between them (a crash, a lost
// connection to the store), the successor would never exist, the old offer
// being closed to every decision. So for every offer.superseded this
// manager creates the successor if it is missing; both write it with the
// same event ids, so it is stored once.
type RevisionManager struct {
	svc *command.Service
	log *slog.Logger
}

// NewRevisionManager returns a RevisionManager writing through svc.
func NewRevisionManager(svc *command.Service, log *slog.Logger) *RevisionManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RevisionManager{svc: svc, log: log}
}

// Handle reacts to offer.superseded by creating the successor the event
// names, unless it exists; other events are acknowledged untouched.
func (m *RevisionManager) Handle(msg *message.Message) error {
	if pubsub.EventType(msg) != domain.TypeOfferSuperseded {
		return nil
	}
	var ev domain.OfferSuperseded
	if err := processDecode(msg, &ev); err != nil {
		return err
	}
	ctx := msg.Context()
	o, res, err := m.svc.CompleteRevision(ctx, processMeta("revision", msg, ""), ev.OfferID)
	switch {
	case err == nil:
		if len(res.Events) > 0 {
			m.log.InfoContext(ctx, "revision completed", "offer_id", ev.OfferID, "successor", o.ID(), "position", res.Position)
		}
		return nil
	case processDone(err):
		m.log.WarnContext(ctx, "revision cannot be completed", "offer_id", ev.OfferID, "err", err)
		return nil
	}
	return fmt.Errorf("complete revision of offer %s: %w", ev.OfferID, err)
}
