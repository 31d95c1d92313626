package pubsub

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/eventstore"
)

// BatchEventType is the event_type metadata of a message that carries a
// batch of events (SubscriberConfig.MaxBatch above 1): it names no domain
// event, so a handler that expects one event per message ignores it rather
// than misreading it.
const BatchEventType = "$batch"

// MetaBatchSize and MetaBatchFirst are set on batch messages: how many
// events the message carries, and the position of the first. MetaPosition
// is the position of the last, the one the checkpoint moves to on Ack.
const (
	MetaBatchSize  = "batch_size"
	MetaBatchFirst = "batch_first"
)

// batchMessage builds the message that carries evs (at least one) in
// order, with what SubscriberConfig.Prepare made of them. The events ride
// in the message's context, not in its payload: a batch never leaves the
// process (the subscriber hands it to a handler over a channel, and
// Watermill's router keeps the message and its context), so encoding a
// page of thousands of events into bytes and decoding them again in the
// same process was pure cost (a rebuild's delivery goroutine encoded while
// the applying one waited, then decoded before it could start). The
// metadata still names the batch (type, first and last position, size);
// ctx is the message's context, to which deliver adds its cancellation.
func batchMessage(ctx context.Context, evs []eventstore.Event, prepared any) *message.Message {
	first, last := evs[0], evs[len(evs)-1]
	msg := message.NewMessage(first.ID, nil)
	msg.Metadata = message.Metadata{
		MetaEventType:  BatchEventType,
		MetaPosition:   strconv.FormatUint(last.Position, 10),
		MetaBatchFirst: strconv.FormatUint(first.Position, 10),
		MetaBatchSize:  strconv.Itoa(len(evs)),
	}
	msg.SetContext(context.WithValue(ctx, carriedKey{}, &carried{events: evs, prepared: prepared}))
	return msg
}

// carried is what a batch message holds in its context.
type carried struct {
	events   []eventstore.Event // a slice of the page read: never written to
	prepared any
}

type carriedKey struct{}

// Events returns the events msg carries, in log order: the batch of a
// subscriber with MaxBatch above 1, or the one event of any other message
// that a Subscriber delivered (EventFrom). The slice is the caller's; the
// events' Data and Sealed are shared with the subscriber and must not be
// written to. A batch message that lost its context (copied, or sent to
// another process) is an error: its events never were in the payload.
func Events(msg *message.Message) ([]eventstore.Event, error) {
	if EventType(msg) != BatchEventType {
		ev, err := EventFrom(msg)
		if err != nil {
			return nil, err
		}
		return []eventstore.Event{ev}, nil
	}
	c, ok := msg.Context().Value(carriedKey{}).(*carried)
	if !ok {
		return nil, fmt.Errorf("message %s: a batch whose events are not in its context (a batch is delivered in process only, by the Subscriber that read it)", msg.UUID)
	}
	if n := msg.Metadata.Get(MetaBatchSize); n != strconv.Itoa(len(c.events)) {
		return nil, fmt.Errorf("message %s: a batch of %s events carries %d", msg.UUID, n, len(c.events))
	}
	// A copy of the slice, so that a handler writing to an event (its own
	// copy, as when the events were decoded from a payload) cannot change
	// the page a nacked batch is delivered again from.
	return slices.Clone(c.events), nil
}

// Prepared returns what SubscriberConfig.Prepare made of the events of
// msg, a batch message; nil without Prepare or for any other message.
func Prepared(msg *message.Message) any {
	if c, ok := msg.Context().Value(carriedKey{}).(*carried); ok {
		return c.prepared
	}
	return nil
}
