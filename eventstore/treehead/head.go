package treehead

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Canonical returns the bytes a tree head's signature covers: five lines,
// each ending in a line feed,
//
//	offerflow tree head v1
//	size <decimal>
//	root_hash <lower-case hex>
//	timestamp <the timestamp as the JSON gives it: RFC 3339, UTC>
//	key_id <lower-case hex>
//
// The timestamp is signed whole seconds, so its RFC 3339 form is the same
// whether read from JSON or built from a time value.
func Canonical(h domain.TreeHead) []byte {
	b := make([]byte, 0, 160)
	b = append(b, "offerflow tree head v1\nsize "...)
	b = strconv.AppendUint(b, h.Size, 10)
	b = append(b, "\nroot_hash "...)
	b = append(b, h.RootHash...)
	b = append(b, "\ntimestamp "...)
	b = append(b, h.Timestamp.UTC().Format(time.RFC3339Nano)...)
	b = append(b, "\nkey_id "...)
	b = append(b, h.KeyID...)
	b = append(b, '\n')
	return b
}

// Sign returns the head of a tree of size leaves with root, signed at t.
func (k *Key) Sign(size uint64, root []byte, t time.Time) domain.TreeHead {
	h := domain.TreeHead{Size: size, RootHash: hex.EncodeToString(root), Timestamp: t.UTC().Truncate(time.Second), KeyID: k.id}
	h.Signature = hex.EncodeToString(ed25519.Sign(k.priv, Canonical(h)))
	return h
}

// ErrBadSignature is matched by Verify's error when the signature does not
// verify.
var ErrBadSignature = errors.New("tree head signature does not verify")

// Verify checks h's signature with the public key pub (hex, as
// domain.TreeKey gives it) and that h names that key.
func Verify(h domain.TreeHead, pub domain.TreeKey) error {
	raw, err := hex.DecodeString(pub.PublicKey)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return fmt.Errorf("public key %q is not %d bytes of hex", pub.PublicKey, ed25519.PublicKeySize)
	}
	if id := KeyID(raw); h.KeyID != id {
		return fmt.Errorf("head is signed by key %s, not %s: %w", h.KeyID, id, ErrBadSignature)
	}
	sig, err := hex.DecodeString(h.Signature)
	if err != nil || !ed25519.Verify(raw, Canonical(h), sig) {
		return ErrBadSignature
	}
	return nil
}
