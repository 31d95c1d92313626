// Package pubsub is a Watermill Pub/Sub over the event store: the store's
// global log is the only message log.
//
// A Subscriber follows the log from a durable per-consumer-group checkpoint
// and delivers matching events one at a time, in global order, moving the
// checkpoint only after a message is acked (at-least-once, ordered). A
// Publisher appends each message as one event of its own stream, so that
// everything Watermill publishes (poison queues, tests) lands in the same
// log. Domain events are never published through it: commands append to the
// store, and projectors follow the log (see docs/pubsub.md).
//
// Topics name stream categories: the part of a stream name before its first
// '-' ("offer" selects "offer-<id>"). TopicAll selects every event.
package pubsub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TopicAll is the topic that selects every event of the log, whatever its
// stream. Nothing can be published to it.
const TopicAll = "$all"

// Metadata keys set on every delivered message. A message carries the
// stored event's envelope whole (MetaEnvelope, or a batch's events in its
// context), which EventFrom and Events read back; the two keys beside it are what
// Watermill's routing and the checkpoint need without decoding it. For
// events written by Publisher, a value of the original message under one of
// these keys is replaced.
const (
	// MetaEventType is the event's type (BatchEventType for a batch).
	MetaEventType = "event_type"
	// MetaPosition is the event's global position (a batch's last).
	MetaPosition = "position"
	// MetaEnvelope is the envelope of a one-event message, everything of
	// eventstore.Event but its data (the payload), in a compact binary
	// encoding (base64).
	MetaEnvelope = "envelope"
)

// Metadata keys that Publisher reads from a message it appends, by
// Watermill's convention (its middleware sets correlation_id): they become
// the event's correlation and causation ids.
const (
	MetaCorrelationID = "correlation_id"
	MetaCausationID   = "causation_id"
)

// Position returns the global log position of the event msg carries, as set
// by Subscriber. It fails when msg did not come from a Subscriber.
func Position(msg *message.Message) (uint64, error) {
	v := msg.Metadata.Get(MetaPosition)
	if v == "" {
		return 0, fmt.Errorf("message %s has no %s metadata", msg.UUID, MetaPosition)
	}
	p, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("message %s: bad %s %q: %w", msg.UUID, MetaPosition, v, err)
	}
	return p, nil
}

// EventType returns the type of the event msg carries (empty when msg did not
// come from a Subscriber).
func EventType(msg *message.Message) string {
	return msg.Metadata.Get(MetaEventType)
}

// category returns the category of a stream name: the part before its first
// '-', or the whole name when it has none.
func category(stream string) string {
	if i := strings.IndexByte(stream, '-'); i >= 0 {
		return stream[:i]
	}
	return stream
}

// topicCategory maps a topic to the stream category that holds its events.
// Topics without '-' and '%' map to themselves, so the topic "offer" reads
// the domain's "offer-<id>" streams. Watermill topics may contain '-' (its
// own test suite uses them), which would end the category early, so '%' and
// '-' are percent-encoded: the mapping stays one-to-one and never yields '-'.
func topicCategory(topic string) string {
	if !strings.ContainsAny(topic, "-%") {
		return topic
	}
	var b strings.Builder
	for _, r := range topic {
		switch r {
		case '%':
			b.WriteString("%25")
		case '-':
			b.WriteString("%2D")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validateTopic rejects topics that cannot name a category.
func validateTopic(topic string) error {
	if topic == "" {
		return errors.New("empty topic")
	}
	if topic != TopicAll && strings.HasPrefix(topic, "$") {
		// '$' streams are reserved for system streams (EventStoreDB's among them).
		return fmt.Errorf("topic %q: names starting with '$' are reserved", topic)
	}
	return nil
}

// wireMessage is the event data Publisher writes: the message's payload
// (base64 in JSON, so any bytes survive) and its metadata, both exactly.
type wireMessage struct {
	Payload  []byte            `json:"watermill_payload"`
	Metadata map[string]string `json:"watermill_metadata"`
}

// wireMarker is the key whose presence marks data written by Publisher.
const wireMarker = `"watermill_payload"`

// decodeWire returns the message that Publisher wrapped in data, or ok false
// when data is anything else (a domain event).
func decodeWire(data []byte) (wireMessage, bool) {
	if !bytes.Contains(data, []byte(wireMarker)) {
		return wireMessage{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireMessage
	if err := dec.Decode(&w); err != nil || dec.More() {
		return wireMessage{}, false
	}
	return w, true
}
