package pubsub

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// This file is the Watermill edge of the envelope: ToMessage puts a stored
// event into a message and EventFrom takes it out again, whole, so that
// handlers read the one envelope type (eventstore.Event) and never
// metadata strings. (Batches, batch.go, carry their events in process and
// are not encoded.)

// envelopeFormat is the first byte of an encoded envelope; a new
// layout gets a new value, so that an old reader fails instead of
// misreading. Format 3 carries the actor's name.
const envelopeFormat = 3

// ToMessage returns the one-event message a Subscriber delivers for ev
// (without MaxBatch). Its payload is ev's data and MetaEnvelope the rest of
// the envelope. An event written by Publisher gives back the original
// message's payload and metadata instead, with the keys above added.
func ToMessage(ev eventstore.Event) *message.Message {
	payload := []byte(ev.Data)
	md := message.Metadata{}
	if w, ok := decodeWire(ev.Data); ok {
		payload = w.Payload
		maps.Copy(md, w.Metadata)
	}
	env := ev
	env.Data = nil
	md[MetaEventType] = ev.Type
	md[MetaPosition] = strconv.FormatUint(ev.Position, 10)
	md[MetaEnvelope] = base64.RawStdEncoding.EncodeToString(appendEnvelope([]byte{envelopeFormat}, &env))
	msg := message.NewMessage(ev.ID, payload)
	msg.Metadata = md
	return msg
}

// EventFrom returns the event of a one-event message that ToMessage made
// (a Subscriber without MaxBatch delivers those). Its Data is the message's
// payload. A batch, or a message from anywhere else, is an error.
func EventFrom(msg *message.Message) (eventstore.Event, error) {
	raw, err := base64.RawStdEncoding.DecodeString(msg.Metadata.Get(MetaEnvelope))
	if err != nil || len(raw) == 0 || raw[0] != envelopeFormat {
		return eventstore.Event{}, fmt.Errorf("message %s carries no envelope of format %d", msg.UUID, envelopeFormat)
	}
	d := envelopeDecoder{b: raw[1:]}
	ev := d.envelope()
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: decode envelope: %w", msg.UUID, d.err)
	}
	ev.Data = []byte(msg.Payload)
	return ev, nil
}

// appendEnvelope appends every field of e, length-prefixed where it has a
// length.
func appendEnvelope(b []byte, e *eventstore.Event) []byte {
	m := &e.Metadata
	b = appendString(b, e.ID)
	b = appendString(b, e.Stream)
	b = binary.AppendUvarint(b, e.Version)
	b = binary.AppendUvarint(b, e.Position)
	b = appendString(b, e.Type)
	b = binary.AppendVarint(b, int64(e.SchemaVersion))
	b = appendString(b, string(e.Data))
	b = appendString(b, string(m.Actor.Role))
	b = appendString(b, m.Actor.Tenant)
	b = appendString(b, m.Actor.Subject)
	b = appendString(b, m.Actor.Name)
	b = appendString(b, m.CorrelationID)
	b = appendString(b, m.CausationID)
	b = binary.AppendVarint(b, m.OccurredAt.UnixNano())
	b = appendString(b, e.PrevHash)
	b = appendString(b, e.Hash)
	// What a sealing store (package seal) opened.
	b = appendString(b, string(e.Sealed))
	erased := byte(0)
	if e.Erased {
		erased = 1
	}
	return append(b, erased)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// envelopeDecoder reads what appendEnvelope wrote; the first failure
// sticks, so that callers check once per envelope.
type envelopeDecoder struct {
	b   []byte
	err error
}

// envelope reads one envelope. Its Data and Sealed alias the input.
func (d *envelopeDecoder) envelope() eventstore.Event {
	var e eventstore.Event
	m := &e.Metadata
	e.ID, e.Stream = d.str(), d.str()
	e.Version, e.Position = d.uvarint(), d.uvarint()
	e.Type, e.SchemaVersion = d.str(), int(d.varint())
	e.Data = d.bytes()
	m.Actor.Role, m.Actor.Tenant, m.Actor.Subject, m.Actor.Name = domain.Role(d.str()), d.str(), d.str(), d.str()
	m.CorrelationID, m.CausationID = d.str(), d.str()
	m.OccurredAt = time.Unix(0, d.varint()).UTC()
	e.PrevHash, e.Hash = d.str(), d.str()
	if sealed := d.bytes(); len(sealed) > 0 {
		e.Sealed = sealed
	}
	e.Erased = d.uvarint() == 1
	return e
}

func (d *envelopeDecoder) uvarint() uint64 {
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

func (d *envelopeDecoder) varint() int64 {
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

func (d *envelopeDecoder) str() string { return string(d.bytes()) }

// bytes returns the next length-prefixed field, aliasing the input.
func (d *envelopeDecoder) bytes() []byte {
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
