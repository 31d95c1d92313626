package pubsub

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// publisherActor is the actor recorded on every event Publisher appends:
// work done by the system itself.
func publisherActor() domain.Actor { return domain.SystemActor("pubsub-publisher") }

// publishedSchemaVersion is the schema version of the wireMessage data.
const publishedSchemaVersion = 1

// Publisher is a message.Publisher that appends each message as the single
// event of a new stream, topic + "-" + UUID (topic percent-encoded where it
// holds '-' or '%', see Subscriber). Publish is idempotent per message: a
// message published again with the same UUID to the same topic is found
// already stored and not written twice.
type Publisher struct {
	store  eventstore.Store
	logger watermill.LoggerAdapter
	now    func() time.Time

	mu     sync.RWMutex // held for reading while publishing, so Close waits
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher appending to store; a nil logger logs
// nothing.
func NewPublisher(store eventstore.Store, logger watermill.LoggerAdapter) (*Publisher, error) {
	if store == nil {
		return nil, errors.New("new publisher: nil store")
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Publisher{store: store, logger: logger, now: time.Now}, nil
}

// Publish appends msgs in order, one event each, and returns once they are
// stored. The event's id is the message UUID (which must be a UUID, as
// watermill.NewUUID makes), its type the message's event_type metadata or
// else the topic, its correlation and causation ids those of its metadata, its actor
// the system (role system, tenant *, subject pubsub-publisher),
// and its data a JSON object holding the payload and all metadata exactly.
// Every message is checked before any is appended; on a store error the
// messages before the failing one stay stored, and publishing all of them
// again is safe.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if err := validateTopic(topic); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if topic == TopicAll {
		return fmt.Errorf("publish: %s is not a stream category", TopicAll)
	}
	events := make([]eventstore.NewEvent, len(msgs))
	for i, msg := range msgs {
		ev, err := p.toEvent(topic, msg)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		events[i] = ev
	}

	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return fmt.Errorf("publish to %s: %w", topic, ErrClosed)
	}
	cat := topicCategory(topic)
	for i, msg := range msgs {
		stream := cat + "-" + msg.UUID
		res, err := p.store.Append(msg.Context(), stream, eventstore.NoStream, events[i])
		if err != nil {
			return fmt.Errorf("publish message %s to %s: %w", msg.UUID, topic, err)
		}
		p.logger.Trace("published", watermill.LogFields{"uuid": msg.UUID, "topic": topic, "position": res.Position})
	}
	return nil
}

// toEvent checks msg and builds its event.
func (p *Publisher) toEvent(topic string, msg *message.Message) (eventstore.NewEvent, error) {
	if _, err := uuid.Parse(msg.UUID); err != nil {
		return eventstore.NewEvent{}, fmt.Errorf("message UUID %q is not a UUID: %w", msg.UUID, err)
	}
	md := make(map[string]string, len(msg.Metadata))
	for k, v := range msg.Metadata {
		md[k] = v
	}
	data, err := json.Marshal(wireMessage{Payload: msg.Payload, Metadata: md})
	if err != nil {
		return eventstore.NewEvent{}, fmt.Errorf("encode message %s: %w", msg.UUID, err)
	}
	typ := msg.Metadata.Get(MetaEventType)
	if typ == "" {
		typ = topic
	}
	return eventstore.NewEvent{
		ID:            msg.UUID,
		Type:          typ,
		SchemaVersion: publishedSchemaVersion,
		Data:          data,
		Metadata: eventstore.Metadata{
			Actor:         publisherActor(),
			CorrelationID: msg.Metadata.Get(MetaCorrelationID),
			CausationID:   msg.Metadata.Get(MetaCausationID),
			OccurredAt:    p.now().UTC(),
		},
	}, nil
}

// Close makes later Publish calls fail, after the ones under way have
// returned. It is safe to call more than once.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
