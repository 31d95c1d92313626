package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// A reseller's products must have distinct names, and so must its
// templates: a customer cannot tell two "Erste Hilfe" apart. Uniqueness
// spans aggregates, which the log cannot check in one append, so each name
// in use is held by a reservation: a stream of its own per reseller, kind
// and name key (NameStream), appended to with an expected version before
// the product or template is created. Two concurrent creations of one name
// append to the same reservation stream at the same version, and the
// store lets exactly one of them through.

// NameKind is what a reserved name names.
type NameKind string

// Name kinds.
const (
	NameOfProduct  NameKind = "product"
	NameOfTemplate NameKind = "template"
)

// NameKey is the form in which names are compared: case folded, the white
// space between words made one space ("Erste  Hilfe" and "erste hilfe" are
// the same name).
func NameKey(name string) string { return strings.Join(strings.Fields(strings.ToLower(name)), " ") }

// NameStream returns the stream of the reservation of name (any spelling
// with the same NameKey) among reseller's things of kind. The id part is a
// hash, so that names of any length and characters make valid stream names.
func NameStream(reseller ResellerID, kind NameKind, name string) string {
	sum := sha256.Sum256([]byte(string(reseller) + "\x00" + string(kind) + "\x00" + NameKey(name)))
	return "name-" + hex.EncodeToString(sum[:])
}

// NameReservationTimeout is how long a reservation whose holder was never
// created still stands. A creation appends the reservation and then the
// holder's first event, moments apart; a reservation left behind by a
// creation that failed between the two is taken over after this time, so
// the name is not lost for good.
const NameReservationTimeout = time.Minute

// NameReserved records that a name is held by a product or template.
type NameReserved struct {
	ResellerID ResellerID `json:"reseller_id"`
	Kind       NameKind   `json:"kind"`
	Name       string     `json:"name"`
	// Holder is the id of the product or template holding the name.
	Holder string    `json:"holder"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (NameReserved) EventType() string { return TypeNameReserved }

// HolderState is what the command side found of a reservation's holder.
type HolderState int

// Holder states.
const (
	// HolderMissing: the holder was never created (or its creation has
	// not reached the log yet).
	HolderMissing HolderState = iota
	// HolderLive: the holder exists and uses the name.
	HolderLive
	// HolderGone: the holder exists but gave the name up (an archived
	// template).
	HolderGone
)

// NameReservation is the reservation of one name (the aggregate of a
// NameStream).
type NameReservation struct {
	name   string
	kind   NameKind
	holder string
	at     time.Time
}

// Holder returns the id of the reservation's holder, "" when the name was
// never reserved.
func (n *NameReservation) Holder() string { return n.holder }

// Reserve records name held by holder. The name is free when it was never
// reserved, when its holder gave it up, or when its holder was never
// created and NameReservationTimeout has passed; reserving it again for the
// same holder (a retried creation) records nothing. Otherwise the name is
// taken: invalid on "name", naming it. state is what the caller found of
// the current holder.
func (n *NameReservation) Reserve(reseller ResellerID, kind NameKind, name, holder string, state HolderState, now time.Time) ([]Event, error) {
	if n.holder == holder {
		return nil, nil
	}
	if n.holder != "" {
		switch {
		case state == HolderLive:
			return nil, Invalid("name", "a %s named %q exists already; choose another name", kind, n.name)
		case state == HolderMissing && now.Sub(n.at) < NameReservationTimeout:
			return nil, Invalid("name", "a %s named %q is being created just now; choose another name", kind, n.name)
		}
	}
	return []Event{&NameReserved{ResellerID: reseller, Kind: kind, Name: name, Holder: holder, At: now}}, nil
}

// Apply folds an event into the reservation.
func (n *NameReservation) Apply(e Event) {
	if ev, ok := e.(*NameReserved); ok {
		n.name, n.kind, n.holder, n.at = ev.Name, ev.Kind, ev.Holder, ev.At
	}
}
