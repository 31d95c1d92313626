// Package seal keeps the personal texts of the log (domain.PersonalTexts:
// customer names and references, offer messages, rejection reasons) sealed
// under a key per customer, so that destroying the key erases them while
// the events, and the hashes that cover their sealed bytes, stay.
//
// Store wraps an eventstore.Store: Append seals those fields before they
// reach the log, and every read opens them again, or shows them as null
// when the customer's key was destroyed. The keys live outside the log, in
// a KeyStore: Keys (a SQLite file of their own), or the cluster's own
// streams on EventStoreDB (eventstore/esdb). Everything that must see the log as
// stored (hash chains, the Merkle tree, import) reads the wrapped store;
// everything that shows or folds events reads through Store.
package seal

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a customer's key.
const KeySize = chacha20poly1305.KeySize

// Algorithm names the cipher in every sealed value, so that a later one can
// be told apart.
const Algorithm = "XChaCha20-Poly1305"

// errOpen is returned when a sealed value does not open: a wrong key, or
// bytes changed since they were sealed.
var errOpen = errors.New("sealed text does not open: wrong key or changed ciphertext")

// sealText encrypts plaintext under key, bound to aad (where the text
// belongs), with a random nonce: XChaCha20's 24-byte nonce makes random
// nonces safe for any number of texts under one key. The result is the
// nonce followed by the ciphertext and its tag.
func sealText(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// openText reverses sealText; it fails with errOpen unless box was sealed
// under key with the same aad and is unchanged.
func openText(key, box, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if len(box) < aead.NonceSize()+aead.Overhead() {
		return nil, errOpen
	}
	pt, err := aead.Open(nil, box[:aead.NonceSize()], box[aead.NonceSize():], aad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}
