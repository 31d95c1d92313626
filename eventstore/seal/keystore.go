package seal

import (
	"context"
	"errors"
	"sync"
	"time"
)

// KeyStore is where the customers' keys live: Keys (a SQLite file) for a
// log on one machine or one shared disk, the cluster (eventstore/esdb) for
// nodes on several machines. Store reaches it through a Keyring, which
// caches what it returns. Its methods use only built-in types, so that an
// adapter implements it without importing this package (eventstore/esdb
// may import only the log's own packages); keystest is its conformance
// suite.
//
// A destroyed key leaves a tombstone: no key is ever made again for that
// customer, and the time of the first erasure stays known.
type KeyStore interface {
	// Key returns customer's key. Without one it makes one when create is
	// set (of several callers racing, on one node or several, all get
	// the one key stored) and returns nil otherwise. For a destroyed key
	// it returns nil and erased.
	Key(ctx context.Context, customer string, create bool) (key []byte, erased bool, err error)
	// Destroy destroys customer's key as of at, leaving a tombstone, and
	// returns the time of the first erasure (at, unless it was destroyed
	// before). A customer without a key gets the tombstone alone.
	Destroy(ctx context.Context, customer string, at time.Time) (time.Time, error)
	// Unrecorded returns the destroyed keys (customer -> erasure time)
	// not yet marked Recorded: erasures whose customer.erased a crash may
	// have kept from the log.
	Unrecorded(ctx context.Context) (map[string]time.Time, error)
	// Recorded marks customer's erasure as stored in the log.
	Recorded(ctx context.Context, customer string) error
	// Close releases the store.
	Close() error
}

// ErrErased is returned for the key of a customer whose key was destroyed.
var ErrErased = errors.New("the customer's key was destroyed (erased)")

// errNoKey is returned for a customer that has no key and none is made.
var errNoKey = errors.New("the customer has no key")

// Keyring is a KeyStore with the keys it returned cached: every text
// opened needs its customer's key, and the store behind may be a network
// away. A key destroyed here, or by another node (Store forgets it when it
// reads the customer.erased that follows every destruction), is forgotten,
// and the generation counts such forgettings so that texts opened before
// are not served again (see tail).
type Keyring struct {
	store KeyStore

	mu    sync.Mutex
	cache map[string][]byte // customer -> key; nil: erased
	gen   uint64
}

var _ KeyStore = (*Keyring)(nil)

// NewKeyring returns store with a cache in front; a Keyring is returned as
// it is, so that stores sharing one share its cache too.
func NewKeyring(store KeyStore) *Keyring {
	if k, ok := store.(*Keyring); ok {
		return k
	}
	return &Keyring{store: store, cache: map[string][]byte{}}
}

// Key is KeyStore.Key, from the cache when it holds customer.
func (k *Keyring) Key(ctx context.Context, customer string, create bool) ([]byte, bool, error) {
	key, err := k.key(ctx, customer, create)
	switch {
	case errors.Is(err, ErrErased):
		return nil, true, nil
	case errors.Is(err, errNoKey):
		return nil, false, nil
	}
	return key, false, err
}

// key returns customer's key. Without one, it makes one when create is
// set, and fails with errNoKey otherwise; a destroyed key is ErrErased.
func (k *Keyring) key(ctx context.Context, customer string, create bool) ([]byte, error) {
	k.mu.Lock()
	key, ok := k.cache[customer]
	gen := k.gen
	k.mu.Unlock()
	if ok {
		if key == nil {
			return nil, ErrErased
		}
		return key, nil
	}
	key, erased, err := k.store.Key(ctx, customer, create)
	switch {
	case err != nil:
		return nil, err
	case !erased && key == nil:
		return nil, errNoKey
	case !erased && len(key) != KeySize:
		return nil, errors.New("the key store returned a key of the wrong size")
	}
	k.mu.Lock()
	// A key forgotten while this one was read may be this one: the store
	// is asked again next time rather than a stale key kept.
	if k.gen == gen {
		k.cache[customer] = key
	}
	k.mu.Unlock()
	if erased {
		return nil, ErrErased
	}
	return key, nil
}

// Destroy destroys customer's key in the store (see KeyStore) and forgets
// it here.
func (k *Keyring) Destroy(ctx context.Context, customer string, at time.Time) (time.Time, error) {
	first, err := k.store.Destroy(ctx, customer, at)
	if err != nil {
		return time.Time{}, err
	}
	k.forget(customer)
	return first, nil
}

// Unrecorded is the store's.
func (k *Keyring) Unrecorded(ctx context.Context) (map[string]time.Time, error) {
	return k.store.Unrecorded(ctx)
}

// Recorded is the store's.
func (k *Keyring) Recorded(ctx context.Context, customer string) error {
	return k.store.Recorded(ctx, customer)
}

// Close closes the store.
func (k *Keyring) Close() error { return k.store.Close() }

// forget marks customer's key destroyed in the cache: after Destroy, and
// when the log shows a customer.erased that another node wrote.
// Forgetting a key already forgotten changes nothing: every follower
// reads every customer.erased, and each new generation drops the tail.
func (k *Keyring) forget(customer string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.cache[customer]; ok && key == nil {
		return
	}
	k.cache[customer] = nil
	k.gen++
}

// generation returns how many keys were forgotten so far.
func (k *Keyring) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}
