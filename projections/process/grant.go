package process

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// GrantManager grants the licenses of every accepted offer, exactly once.
type GrantManager struct {
	svc *command.Service
	log *slog.Logger
}

// NewGrantManager returns a GrantManager writing through svc.
func NewGrantManager(svc *command.Service, log *slog.Logger) *GrantManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GrantManager{svc: svc, log: log}
}

// Handle reacts to offer.accepted by recording licenses.granted; other
// events are acknowledged untouched. Handling the same event again writes
// nothing: the grant's stream refuses a second grant, and the event ids are
// derived from the acceptance's id.
func (m *GrantManager) Handle(msg *message.Message) error {
	if pubsub.EventType(msg) != domain.TypeOfferAccepted {
		return nil
	}
	var ev domain.OfferAccepted
	if err := processDecode(msg, &ev); err != nil {
		return err
	}
	ctx := msg.Context()
	_, res, err := m.svc.GrantLicenses(ctx, processMeta("grant", msg, msg.UUID), ev.OfferID)
	switch {
	case err == nil:
		m.log.InfoContext(ctx, "licenses granted", "offer_id", ev.OfferID, "position", res.Position)
		return nil
	case processDone(err):
		// Granted before (a redelivery), or the offer is not accepted: the
		// latter cannot follow an acceptance in the log, so say so.
		if !errors.Is(err, domain.ErrLicensesAlreadyGranted) {
			m.log.WarnContext(ctx, "license grant refused", "offer_id", ev.OfferID, "err", err)
		}
		return nil
	}
	return fmt.Errorf("grant licenses of offer %s: %w", ev.OfferID, err)
}
