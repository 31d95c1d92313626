package pubsub

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// batchMessage builds the message that carries evs (at least one) in order.
// The payload is the envelopes in the compact binary encoding of
// envelope.go: a batch never leaves the process (the subscriber hands it
// to a handler over a channel), so it need not be JSON, and encoding a
// thousand events must cost little next to applying them.
func batchMessage(evs []eventstore.Event) *message.Message {
	size := 16
	for i := range evs {
		size += envelopeSize(&evs[i])
	}
	b := make([]byte, 0, size)
	b = append(b, envelopeFormat)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		b = appendEnvelope(b, &evs[i])
	}
	first, last := evs[0], evs[len(evs)-1]
	msg := message.NewMessage(first.ID, b)
	msg.Metadata = message.Metadata{
		MetaEventType:  BatchEventType,
		MetaPosition:   strconv.FormatUint(last.Position, 10),
		MetaBatchFirst: strconv.FormatUint(first.Position, 10),
		MetaBatchSize:  strconv.Itoa(len(evs)),
	}
	return msg
}

// Events returns the events msg carries, in log order: the batch of a
// subscriber with MaxBatch above 1, or the one event of any other message
// that a Subscriber delivered (EventFrom). The events' Data alias
// msg.Payload.
func Events(msg *message.Message) ([]eventstore.Event, error) {
	if EventType(msg) != BatchEventType {
		ev, err := EventFrom(msg)
		if err != nil {
			return nil, err
		}
		return []eventstore.Event{ev}, nil
	}
	d := envelopeDecoder{b: msg.Payload}
	if len(d.b) == 0 || d.b[0] != envelopeFormat {
		return nil, fmt.Errorf("message %s: not a batch of format %d", msg.UUID, envelopeFormat)
	}
	d.b = d.b[1:]
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errors.New("count larger than the payload")
	}
	out := make([]eventstore.Event, 0, n)
	for range n {
		e := d.envelope()
		if d.err != nil {
			break
		}
		out = append(out, e)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("message %s: decode batch: %w", msg.UUID, d.err)
	}
	return out, nil
}
