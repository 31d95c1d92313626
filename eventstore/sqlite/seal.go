package sqlite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/offerflow/offerflow/eventstore"
)

// presealed is an event's canonical envelope (eventstore.Canonical) cut
// around the two fields only the writer knows, its prev_hash and its version.
// The canonical form sorts its keys, so these are the last but three and the
// last:
//
//	{"data":…,"id":…,"metadata":…,"prev_hash":  PREV  ,"schema_version":…,"stream":…,"type":…,"version":  VERSION  }
//	\____________________ head _______________/         \___________________ tail ____________________/
//
// Encoding the data canonically is most of the cost of a hash; cutting the
// envelope in prepare, in the caller's goroutine, leaves the single writer
// one SHA-256 per event. seal checks the result against eventstore.Hash's
// layout in prepare, and the conformance suite recomputes every hash with
// eventstore.Hash, so a change of the canonical form cannot go unnoticed.
type presealed struct {
	head, tail []byte
}

// placeholder is where prepare's canonical envelope has prev_hash and version
// before they are known.
var (
	placeholderPrev    = []byte(`,"prev_hash":null,"schema_version":`)
	placeholderVersion = []byte(`,"version":0}`)
)

// preseal cuts e's canonical envelope. e must have no PrevHash and version 0.
func preseal(e eventstore.Event) (presealed, error) {
	if e.PrevHash != "" || e.Version != 0 {
		return presealed{}, fmt.Errorf("preseal %s: already placed in a stream", e.ID)
	}
	c, err := eventstore.Canonical(e)
	if err != nil {
		return presealed{}, err
	}
	// The data and metadata come before prev_hash and may hold any text;
	// what follows it (schema_version, stream, type) is JSON-escaped
	// strings and a number, which cannot contain the placeholder's quotes
	// unescaped, so its last occurrence is the field itself.
	i := bytes.LastIndex(c, placeholderPrev)
	if i < 0 || !bytes.HasSuffix(c, placeholderVersion) {
		return presealed{}, fmt.Errorf("preseal %s: canonical envelope has an unexpected layout", e.ID)
	}
	head := c[:i+len(`,"prev_hash":`)]
	tail := c[i+len(`,"prev_hash":null`) : len(c)-len(`0}`)]
	return presealed{head: head, tail: tail}, nil
}

// seal sets e's Version, PrevHash and Hash as eventstore.Seal would, from
// the envelope cut in prepare.
func (p presealed) seal(e *eventstore.Event, version uint64, prev string) {
	e.Version, e.PrevHash = version, prev
	h := sha256.New()
	h.Write(p.head)
	if prev == "" {
		h.Write([]byte("null"))
	} else {
		// A hash is lowercase hex: its JSON string needs no escapes.
		h.Write([]byte(`"` + prev + `"`))
	}
	h.Write(p.tail)
	h.Write(strconv.AppendUint(nil, version, 10))
	h.Write([]byte("}"))
	e.Hash = hex.EncodeToString(h.Sum(nil))
}
