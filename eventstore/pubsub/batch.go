package pubsub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/domain"
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

// batchFormat is the first byte of a batch payload; a new layout gets a new
// value, so an old reader fails instead of misreading.
const batchFormat = 3

// batchMessage builds the message that carries evs (at least one) in order.
// The payload is a compact binary encoding: a batch never leaves the
// process (the subscriber hands it to a handler over a channel), so it need
// not be JSON, and encoding a thousand events must cost little next to
// applying them.
func batchMessage(evs []eventstore.Event) *message.Message {
	size := 16
	for i := range evs {
		e := &evs[i]
		size += 64 + len(e.ID) + len(e.Stream) + len(e.Type) + len(e.Data) + len(e.Metadata.Actor.Role) +
			len(e.Metadata.Actor.Tenant) + len(e.Metadata.Actor.Subject) + len(e.Metadata.Actor.Name) + len(e.Metadata.CorrelationID) +
			len(e.Metadata.CausationID) + len(e.PrevHash) + len(e.Hash) + len(e.Sealed)
	}
	b := make([]byte, 0, size)
	b = append(b, batchFormat)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		b = appendString(b, e.ID)
		b = appendString(b, e.Stream)
		b = binary.AppendUvarint(b, e.Version)
		b = binary.AppendUvarint(b, e.Position)
		b = appendString(b, e.Type)
		b = binary.AppendVarint(b, int64(e.SchemaVersion))
		b = appendString(b, string(e.Data))
		b = appendString(b, string(e.Metadata.Actor.Role))
		b = appendString(b, e.Metadata.Actor.Tenant)
		b = appendString(b, e.Metadata.Actor.Subject)
		b = appendString(b, e.Metadata.Actor.Name) // since format 3
		b = appendString(b, e.Metadata.CorrelationID)
		b = appendString(b, e.Metadata.CausationID)
		b = binary.AppendVarint(b, e.Metadata.OccurredAt.UnixNano())
		b = appendString(b, e.PrevHash)
		b = appendString(b, e.Hash)
		// What a sealing store (package seal) opened: since format 2.
		b = appendString(b, string(e.Sealed))
		erased := byte(0)
		if e.Erased {
			erased = 1
		}
		b = append(b, erased)
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

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Events returns the events msg carries, in log order: the batch of a
// subscriber with MaxBatch above 1, or the one event of any other message
// that a Subscriber delivered (its Data is then the message payload). The
// events' Data alias msg.Payload.
func Events(msg *message.Message) ([]eventstore.Event, error) {
	if EventType(msg) != BatchEventType {
		ev, err := eventOf(msg)
		if err != nil {
			return nil, err
		}
		return []eventstore.Event{ev}, nil
	}
	d := batchDecoder{b: msg.Payload}
	if len(d.b) == 0 || d.b[0] != batchFormat {
		return nil, fmt.Errorf("message %s: not a batch of format %d", msg.UUID, batchFormat)
	}
	d.b = d.b[1:]
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errors.New("count larger than the payload")
	}
	out := make([]eventstore.Event, 0, n)
	for range n {
		var e eventstore.Event
		e.ID, e.Stream = d.str(), d.str()
		e.Version, e.Position = d.uvarint(), d.uvarint()
		e.Type, e.SchemaVersion = d.str(), int(d.varint())
		e.Data = d.bytes()
		e.Metadata.Actor.Role, e.Metadata.Actor.Tenant, e.Metadata.Actor.Subject = domain.Role(d.str()), d.str(), d.str()
		e.Metadata.Actor.Name = d.str()
		e.Metadata.CorrelationID, e.Metadata.CausationID = d.str(), d.str()
		e.Metadata.OccurredAt = time.Unix(0, d.varint()).UTC()
		e.PrevHash, e.Hash = d.str(), d.str()
		if sealed := d.bytes(); len(sealed) > 0 {
			e.Sealed = sealed
		}
		e.Erased = d.uvarint() == 1
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

// batchDecoder reads a batch payload; the first failure sticks, so that the
// loop above checks once per event.
type batchDecoder struct {
	b   []byte
	err error
}

func (d *batchDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *batchDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("truncated number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *batchDecoder) str() string { return string(d.bytes()) }

// bytes returns the next length-prefixed field, aliasing the payload.
func (d *batchDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("truncated field")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// eventOf reads back the event of a one-event message, as toMessage wrote
// it.
func eventOf(msg *message.Message) (eventstore.Event, error) {
	md := msg.Metadata
	pos, err := Position(msg)
	if err != nil {
		return eventstore.Event{}, err
	}
	version, err := strconv.ParseUint(md.Get(MetaStreamVersion), 10, 64)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, MetaStreamVersion, err)
	}
	at, err := time.Parse(time.RFC3339Nano, md.Get(MetaOccurredAt))
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, MetaOccurredAt, err)
	}
	schema, err := strconv.Atoi(md.Get(MetaSchemaVersion))
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: bad %s: %w", msg.UUID, MetaSchemaVersion, err)
	}
	var sealed []byte
	if s := md.Get(MetaSealed); s != "" {
		sealed = []byte(s)
	}
	return eventstore.Event{
		Sealed: sealed, Erased: md.Get(MetaErased) == "true",
		ID: msg.UUID, Stream: md.Get(MetaStream), Version: version, Position: pos, Type: EventType(msg),
		SchemaVersion: schema, Data: []byte(msg.Payload),
		Metadata: eventstore.Metadata{
			Actor: domain.Actor{Role: domain.Role(md.Get(MetaActorRole)), Tenant: md.Get(MetaActorTenant),
				Subject: md.Get(MetaActorSubject)},
			CorrelationID: md.Get(MetaCorrelationID), CausationID: md.Get(MetaCausationID), OccurredAt: at.UTC(),
		},
		PrevHash: md.Get(MetaPrevHash), Hash: md.Get(MetaHash),
	}, nil
}

// Message returns the one-event message a Subscriber delivers for ev
// (without MaxBatch): what a handler written for single events expects,
// for running it over the events of a batch.
func Message(ev eventstore.Event) *message.Message { return toMessage(ev) }
