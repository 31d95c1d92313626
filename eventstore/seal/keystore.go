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
// are not served again (see tail). A live key is asked of the store again
// once it has been cached for KeyringConfig.Recheck, so that a node also
// stops using a key destroyed elsewhere whose customer.erased never came
// (the destroying node crashed in between).
type Keyring struct {
	store   KeyStore
	recheck time.Duration
	now     func() time.Time

	mu       sync.Mutex
	cache    map[string]cachedKey
	gen      uint64
	onForget []func()
}

// cachedKey is a key and when the store last returned it; a nil key is a
// destroyed one, never asked again.
type cachedKey struct {
	key []byte
	at  time.Time
}

// KeyringConfig configures a Keyring; zero values take the defaults named.
type KeyringConfig struct {
	// Recheck is how long a live key is used from the cache before the
	// store is asked again (DefaultRecheck).
	Recheck time.Duration
	// Now is the clock the Recheck is judged by (time.Now).
	Now func() time.Time
}

// DefaultRecheck bounds how long a node keeps using a key destroyed by
// another node when the log never tells it: one read of the store per
// customer in use per minute.
const DefaultRecheck = time.Minute

var _ KeyStore = (*Keyring)(nil)

// NewKeyring returns store with a cache in front; a Keyring is returned as
// it is, so that stores sharing one share its cache too.
func NewKeyring(store KeyStore) *Keyring {
	if k, ok := store.(*Keyring); ok {
		return k
	}
	return NewKeyringConfig(store, KeyringConfig{})
}

// NewKeyringConfig is NewKeyring configured by cfg.
func NewKeyringConfig(store KeyStore, cfg KeyringConfig) *Keyring {
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Keyring{store: store, recheck: cfg.Recheck, now: cfg.Now, cache: map[string]cachedKey{}}
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
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[customer]
	gen := k.gen
	k.mu.Unlock()
	switch {
	case ok && c.key == nil:
		return nil, ErrErased
	case ok && now.Sub(c.at) < k.recheck:
		return c.key, nil
	}
	key, erased, err := k.store.Key(ctx, customer, create)
	switch {
	case err != nil && ok:
		// The store is unreachable for the recheck: the key was live when
		// last asked, and is asked again on the next use.
		return c.key, nil
	case err != nil:
		return nil, err
	case erased && ok:
		// Destroyed by another node, whose customer.erased this node has
		// not read (yet, or ever).
		k.forget(customer)
		return nil, ErrErased
	case !erased && key == nil:
		return nil, errNoKey
	case !erased && len(key) != KeySize:
		return nil, errors.New("the key store returned a key of the wrong size")
	}
	k.mu.Lock()
	// A key forgotten while this one was read may be this one: the store
	// is asked again next time rather than a stale key kept.
	if k.gen == gen {
		k.cache[customer] = cachedKey{key: key, at: now}
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
	if c, ok := k.cache[customer]; ok && c.key == nil {
		k.mu.Unlock()
		return
	}
	k.cache[customer] = cachedKey{}
	k.gen++
	fs := k.onForget
	k.mu.Unlock()
	// Outside the lock: a callback may read texts again, which asks for
	// keys.
	for _, f := range fs {
		f()
	}
}

// OnForget has f called after each key forgotten (a destruction here, or
// one another node made that this node learned of), once the generation
// has moved on: what keeps texts opened before, outside the log, drops
// them then rather than at its next use (projections.Past's scratch read
// models, which are files). f runs on the goroutine that forgot, which
// may be reading the log: it must not wait for a read of the log.
func (k *Keyring) OnForget(f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.onForget = append(k.onForget, f)
}

// Generation returns how many keys were forgotten so far: texts opened
// under an older generation may since have been erased.
func (k *Keyring) Generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}
