package projections

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// EventMarshaler is the cqrs.CommandEventMarshaler for events that come from
// the log through pubsub.Subscriber: a message's name is the stored event
// type (metadata event_type), a Go value's name is its domain type name
// (domain.Event.EventType), never a name derived from the Go type, and the
// payload is the event's JSON data as stored.
//
// It only reads: events reach the log through the command side, so Marshal
// refuses, to keep anyone from publishing domain events around the store.
type EventMarshaler struct{}

var _ cqrs.CommandEventMarshaler = EventMarshaler{}

// Marshal always fails: domain events are appended to the event store by
// commands, never published.
func (EventMarshaler) Marshal(v any) (*message.Message, error) {
	return nil, fmt.Errorf("marshal %T: domain events are appended to the event store, not published", v)
}

// Unmarshal decodes the data of the event msg carries (pubsub.EventFrom)
// into v, upcast to its type's current shape as domain.DecodeEvent does.
// Unknown fields are tolerated, as there, so that additive changes stay
// readable.
func (EventMarshaler) Unmarshal(msg *message.Message, v any) error {
	ev, err := pubsub.EventFrom(msg)
	if err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	data, err := domain.Upcast(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		return fmt.Errorf("unmarshal event %s: %w", ev.ID, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("unmarshal %s event %s: %w", ev.Type, ev.ID, err)
	}
	return nil
}

// Name returns the domain type name of v, which must be a domain.Event
// (handlers receive pointers to event structs, which are), and "" for any
// other value, which then matches no message.
func (EventMarshaler) Name(v any) string {
	if e, ok := v.(domain.Event); ok {
		return e.EventType()
	}
	return ""
}

// NameFromMessage returns the stored event type of msg.
func (EventMarshaler) NameFromMessage(msg *message.Message) string {
	return pubsub.EventType(msg)
}

// errNotAnEvent is returned when a handler is declared for something that
// is not a domain event: the marshaler could not name it.
var errNotAnEvent = errors.New("handler's event is not a domain.Event")
