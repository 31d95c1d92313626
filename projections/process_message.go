package projections

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// processMeta is the command metadata of work caused by the event msg
// carries: done by the system as process, caused by that event, in its
// correlation, with seed making the written event ids deterministic so that
// a redelivered message appends nothing twice.
func processMeta(process string, msg *message.Message, seed string) command.Meta {
	corr := msg.Metadata.Get(pubsub.MetaCorrelationID)
	if corr == "" {
		corr = msg.UUID
	}
	return command.Meta{
		Actor:           domain.SystemActor(process),
		CorrelationID:   corr,
		CausationID:     msg.UUID,
		IdempotencySeed: seed,
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
	switch domain.ErrorCode(err) {
	case domain.ECONFLICT, domain.ENOTFOUND:
		return true
	}
	return false
}

// processDecode decodes the event msg carries into v; a failure is
// permanent, as no retry changes a stored event.
func processDecode(msg *message.Message, v any) error {
	if err := json.Unmarshal(msg.Payload, v); err != nil {
		return processPermanent(fmt.Errorf("decode %s event %s: %w", pubsub.EventType(msg), msg.UUID, err))
	}
	return nil
}
