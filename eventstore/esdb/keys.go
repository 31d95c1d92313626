package esdb

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"golang.org/x/crypto/chacha20poly1305"
)

// The customers' keys (seal.KeyStore) in the cluster, so that nodes on
// several machines seal and open the texts with the same keys and an
// erasure on one node holds on all of them.
//
//   - A stream per customer, $offerflow-key-<HMAC>: named by the HMAC of
//     the customer id under a key derived from the server's secret, as the
//     Idempotency-Key streams are, so the names reveal no customer. A
//     system stream, like the lease's, so the log's readers never see it.
//   - Its first event holds the key, wrapped (XChaCha20-Poly1305) under
//     another key derived from the secret and bound to the customer: a
//     reader of the cluster without the secret gets nothing from it. It is
//     appended at "no stream", so of two nodes making a customer's first
//     key one wins and the other reads the winner's.
//   - Destroy appends a "destroyed" event (the erasure's time), at the
//     revision read, so it cannot pass a key being made unseen, and sets
//     the stream's $tb to it: stream reads show only the tombstone from
//     then on, and the next scavenge removes the key's event. Until that
//     scavenge the wrapped key is still in $all (and in backups); it opens
//     only with the secret. The tombstone stays: no key is made again.
//   - Erasures whose customer.erased may be missing from the log (a crash
//     between the two) are listed in one more stream, the customer id
//     wrapped there too, until Recorded.
//   - One check event, wrapped under the secret, tells a node started with
//     another secret, which would find no keys and make new ones, that its
//     secret is not the cluster's.

// Event types of the key streams.
const (
	keyEventType       = "offerflow.customer-key"
	destroyedEventType = "offerflow.customer-key-destroyed"
	erasureEventType   = "offerflow.customer-key-erasure"
	recordedEventType  = "offerflow.customer-key-erasure-recorded"
	checkEventType     = "offerflow.customer-keys-check"
)

// minSecret is the shortest server secret the keys are derived from.
const minSecret = 32

// Keys is the customers' key store in the cluster (see above). It uses
// the Store's connection: close the Store, not Keys, when done.
type Keys struct {
	s     *Store
	names []byte      // HMAC key naming the streams
	wrap  cipher.AEAD // XChaCha20-Poly1305 wrapping the keys
}

// Keys returns the key store of the cluster, under keys derived from
// secret (the nodes' shared --secret-file). It fails when the cluster's
// keys were made under another secret.
func (s *Store) Keys(ctx context.Context, secret []byte) (*Keys, error) {
	if len(secret) < minSecret {
		return nil, fmt.Errorf("esdb: customer keys: the secret must be at least %d bytes", minSecret)
	}
	aead, err := chacha20poly1305.NewX(derive(secret, "wrap"))
	if err != nil {
		return nil, fmt.Errorf("esdb: customer keys: %w", err)
	}
	k := &Keys{s: s, names: derive(secret, "names"), wrap: aead}
	if err := k.check(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// derive returns the key for purpose under secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("offerflow customer keys " + purpose))
	return m.Sum(nil)
}

// name returns the hex HMAC that names customer's stream.
func (k *Keys) name(customer string) string {
	m := hmac.New(sha256.New, k.names)
	m.Write([]byte(customer))
	return hex.EncodeToString(m.Sum(nil))
}

func (k *Keys) stream(name string) string { return "$" + k.s.prefix + "offerflow-key-" + name }
func (k *Keys) erasures() string          { return "$" + k.s.prefix + "offerflow-key-erasures" }
func (k *Keys) checkStream() string       { return "$" + k.s.prefix + "offerflow-keys-check" }

// seal wraps plaintext bound to aad: the nonce, then ciphertext and tag.
func (k *Keys) seal(plaintext []byte, aad string) []byte {
	out := make([]byte, k.wrap.NonceSize(), k.wrap.NonceSize()+len(plaintext)+k.wrap.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails (Go 1.24+)
	return k.wrap.Seal(out, out, plaintext, []byte(aad))
}

// open reverses seal.
func (k *Keys) open(box []byte, aad string) ([]byte, error) {
	if len(box) < k.wrap.NonceSize()+k.wrap.Overhead() {
		return nil, errors.New("wrapped value too short")
	}
	return k.wrap.Open(nil, box[:k.wrap.NonceSize()], box[k.wrap.NonceSize():], []byte(aad))
}

// The events' data. []byte fields are base64 in JSON.
type (
	keyEvent struct {
		Wrapped []byte `json:"wrapped"`
	}
	destroyedEvent struct {
		At time.Time `json:"at"`
	}
	erasureEvent struct {
		Stream   string    `json:"stream"`   // the customer's stream name (its HMAC)
		Customer []byte    `json:"customer"` // the customer id, wrapped
		At       time.Time `json:"at"`
	}
	recordedEvent struct {
		Stream string `json:"stream"`
	}
	checkEvent struct {
		Check []byte `json:"check"`
	}
)

const checkAAD = "offerflow customer keys check v1"

// check makes the check event, or opens the one there.
func (k *Keys) check(ctx context.Context) error {
	const op = "esdb: customer keys: check the secret"
	for range 2 {
		rec, err := k.s.last(ctx, op, k.checkStream())
		if err != nil {
			return err
		}
		if rec != nil {
			var ev checkEvent
			if err := json.Unmarshal(rec.Data, &ev); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if _, err := k.open(ev.Check, checkAAD); err != nil {
				return fmt.Errorf("%s: the cluster's customer keys were made under another secret: give every node the same --secret-file", op)
			}
			return nil
		}
		data, _ := json.Marshal(checkEvent{Check: k.seal(nil, checkAAD)})
		err = k.s.appendOne(ctx, k.checkStream(), esdbclient.NoStream{}, checkEventType, data)
		if err == nil {
			return nil
		}
		if !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			return wrap(ctx, op, err)
		}
		// Another node wrote it first: read that one.
	}
	return fmt.Errorf("%s: the check stream exists but shows no event", op)
}

// Key returns customer's key (see seal.KeyStore).
func (k *Keys) Key(ctx context.Context, customer string, create bool) ([]byte, bool, error) {
	const op = "esdb: customer key"
	stream := k.stream(k.name(customer))
	for range 3 {
		rec, err := k.s.last(ctx, op, stream)
		if err != nil {
			return nil, false, err
		}
		if rec != nil {
			return k.decode(customer, rec)
		}
		if !create {
			return nil, false, nil
		}
		fresh := make([]byte, chacha20poly1305.KeySize)
		_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
		data, _ := json.Marshal(keyEvent{Wrapped: k.seal(fresh, keyAAD(customer))})
		err = k.s.appendOne(ctx, stream, esdbclient.NoStream{}, keyEventType, data)
		if err == nil {
			return fresh, false, nil
		}
		if !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			return nil, false, wrap(ctx, op, err)
		}
		// Another node made the key, or erased the customer, first: what
		// it wrote is read on the next round.
	}
	return nil, false, fmt.Errorf("%s: the stream exists but shows no event", op)
}

// Import stores key as customer's, for moving keys from another store (a
// keys.db): done when the cluster holds that key already, or holds the
// customer erased (the erasure stands); an error when it holds another key,
// which the texts sealed with key would not open under.
func (k *Keys) Import(ctx context.Context, customer string, key []byte) error {
	const op = "esdb: import customer key"
	if len(key) != chacha20poly1305.KeySize {
		return fmt.Errorf("%s %s: a key of %d bytes", op, customer, len(key))
	}
	data, _ := json.Marshal(keyEvent{Wrapped: k.seal(key, keyAAD(customer))})
	err := k.s.appendOne(ctx, k.stream(k.name(customer)), esdbclient.NoStream{}, keyEventType, data)
	if err == nil {
		return nil
	}
	if !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
		return wrap(ctx, op, err)
	}
	have, erased, err := k.Key(ctx, customer, false)
	switch {
	case err != nil:
		return err
	case erased:
		return nil
	case !hmac.Equal(have, key):
		return fmt.Errorf("%s %s: the cluster holds another key for this customer", op, customer)
	}
	return nil
}

// keyAAD binds a wrapped key to its customer.
func keyAAD(customer string) string { return "offerflow customer key v1\x00" + customer }

// decode returns the key, or the tombstone, that rec holds.
func (k *Keys) decode(customer string, rec *esdbclient.RecordedEvent) ([]byte, bool, error) {
	switch rec.EventType {
	case keyEventType:
		var ev keyEvent
		if err := json.Unmarshal(rec.Data, &ev); err != nil {
			return nil, false, fmt.Errorf("esdb: customer key: %w", err)
		}
		key, err := k.open(ev.Wrapped, keyAAD(customer))
		if err != nil {
			return nil, false, fmt.Errorf("esdb: customer key: does not unwrap under this secret: %w", err)
		}
		return key, false, nil
	case destroyedEventType:
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("esdb: customer key: unknown event type %q in %s", rec.EventType, rec.StreamID)
}

// Destroy destroys customer's key as of at (see seal.KeyStore).
func (k *Keys) Destroy(ctx context.Context, customer string, at time.Time) (time.Time, error) {
	const op = "esdb: destroy customer key"
	name := k.name(customer)
	stream := k.stream(name)
	for range 3 {
		rec, err := k.s.last(ctx, op, stream)
		if err != nil {
			return time.Time{}, err
		}
		expected := esdbclient.ExpectedRevision(esdbclient.NoStream{})
		if rec != nil {
			if rec.EventType == destroyedEventType {
				var ev destroyedEvent
				if err := json.Unmarshal(rec.Data, &ev); err != nil {
					return time.Time{}, fmt.Errorf("%s: %w", op, err)
				}
				// A repeated erasure truncates again: the first may have
				// failed after its tombstone.
				return ev.At.UTC(), k.truncate(ctx, op, stream, rec.EventNumber)
			}
			expected = esdbclient.Revision(rec.EventNumber)
		}
		// Listed first: a crash before the tombstone leaves the erasure
		// to be completed (Unrecorded), not forgotten.
		data, _ := json.Marshal(erasureEvent{Stream: name, Customer: k.seal([]byte(customer), erasureAAD(name)), At: at.UTC()})
		if err := k.s.appendOne(ctx, k.erasures(), esdbclient.Any{}, erasureEventType, data); err != nil {
			return time.Time{}, wrap(ctx, op, err)
		}
		data, _ = json.Marshal(destroyedEvent{At: at.UTC()})
		err = k.s.appendOne(ctx, stream, expected, destroyedEventType, data)
		switch {
		case err == nil && rec == nil:
			return at.UTC(), nil // no key to truncate
		case err == nil:
			return at.UTC(), k.truncate(ctx, op, stream, rec.EventNumber+1)
		case !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion):
			return time.Time{}, wrap(ctx, op, err)
		}
		// A key was made, or the customer erased, meanwhile: again.
	}
	return time.Time{}, fmt.Errorf("%s: the stream keeps moving", op)
}

// erasureAAD binds a wrapped customer id to its stream's name.
func erasureAAD(name string) string { return "offerflow customer key erasure v1\x00" + name }

// truncate sets stream's $tb to before: its events before that revision
// are no longer read, and the next scavenge removes them.
func (k *Keys) truncate(ctx context.Context, op, stream string, before uint64) error {
	if before == 0 {
		return nil
	}
	var md esdbclient.StreamMetadata
	md.SetTruncateBefore(before)
	if _, err := k.s.client.SetStreamMetadata(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}}, md); err != nil {
		return wrap(ctx, op+": truncate", err)
	}
	return nil
}

// Unrecorded returns the erasures not yet marked Recorded (see
// seal.KeyStore). When there are none, the list's events are truncated,
// so that a scavenge removes them.
func (k *Keys) Unrecorded(ctx context.Context) (map[string]time.Time, error) {
	const op = "esdb: list erasures"
	rs, err := k.s.client.ReadStream(ctx, k.erasures(), esdbclient.ReadStreamOptions{From: esdbclient.Start{}}, math.MaxUint64)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	defer rs.Close()
	type erasure struct {
		customer string
		at       time.Time
	}
	pending := map[string]erasure{}
	var last *uint64
	for {
		re, err := rs.Recv()
		if isEOF(err) || isCode(err, esdbclient.ErrorCodeResourceNotFound) {
			break
		}
		if err != nil {
			return nil, wrap(ctx, op, err)
		}
		rec := re.OriginalEvent()
		if rec == nil {
			return nil, fmt.Errorf("%s: the server sent no event", op)
		}
		n := rec.EventNumber
		last = &n
		switch rec.EventType {
		case erasureEventType:
			var ev erasureEvent
			if err := json.Unmarshal(rec.Data, &ev); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			customer, err := k.open(ev.Customer, erasureAAD(ev.Stream))
			if err != nil {
				return nil, fmt.Errorf("%s: a customer id does not unwrap under this secret: %w", op, err)
			}
			if _, ok := pending[ev.Stream]; !ok {
				pending[ev.Stream] = erasure{string(customer), ev.At.UTC()}
			}
		case recordedEventType:
			var ev recordedEvent
			if err := json.Unmarshal(rec.Data, &ev); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			delete(pending, ev.Stream)
		}
	}
	out := make(map[string]time.Time, len(pending))
	for _, e := range pending {
		out[e.customer] = e.at
	}
	if len(out) == 0 && last != nil {
		// Everything listed is recorded. An erasure listed after this
		// read is after *last, so stays.
		if err := k.truncate(ctx, op, k.erasures(), *last+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Recorded marks customer's erasure as stored in the log.
func (k *Keys) Recorded(ctx context.Context, customer string) error {
	data, _ := json.Marshal(recordedEvent{Stream: k.name(customer)})
	if err := k.s.appendOne(ctx, k.erasures(), esdbclient.Any{}, recordedEventType, data); err != nil {
		return wrap(ctx, "esdb: mark erasure recorded", err)
	}
	return nil
}

// Close does nothing: the keys use the Store's connection, which its
// owner closes.
func (k *Keys) Close() error { return nil }
