package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// sealedValue is the stored form of one personal text: its ciphertext and
// the customer whose key seals it. Its fields are in the order of their
// names, so that it is written the same whether from this struct or from a
// map (an import's merge patch).
type sealedValue struct {
	Alg string `json:"alg"`
	CT  string `json:"ct"` // standard base64 of the nonce, the ciphertext and the tag
	Key string `json:"key"`
}

// Store is an eventstore.Store that seals personal texts on Append and
// opens them on every read (see the package comment). Methods it does not
// override (Head, Wait) are the wrapped store's.
type Store struct {
	eventstore.Store
	keys *Keyring

	mu     sync.Mutex
	owners map[string]string // offer stream -> customer, for events without customer_id

	tail tail       // the newest events of the log, opened
	fill sync.Mutex // held by the one ReadAll reading past the tail's end
}

// New returns a Store over store with its keys in keys (cached by a
// Keyring, or keys itself when it is one); its Close closes both.
func New(store eventstore.Store, keys KeyStore) *Store {
	return &Store{Store: store, keys: NewKeyring(keys), owners: map[string]string{}}
}

// Close closes the key store and the wrapped store: New hands both over.
func (s *Store) Close() error {
	return errors.Join(s.keys.Close(), s.Store.Close())
}

// Raw returns the wrapped store: the log as stored, sealed texts and all.
func (s *Store) Raw() eventstore.Store { return s.Store }

// Keys returns the key store, with the cache this Store uses: destroy keys
// through it, so that the cache forgets them at once.
func (s *Store) Keys() *Keyring { return s.keys }

// Append seals the personal texts of events under their customer's key
// (made on first use) and appends them. Writing a text for a customer
// whose key was destroyed is domain.ErrCustomerErased: nothing is written.
func (s *Store) Append(ctx context.Context, stream string, expected uint64, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	out, cloned := events, false
	for i, e := range events {
		fields := domain.PersonalTexts(e.Type)
		if len(fields) == 0 {
			continue
		}
		data, err := s.sealData(ctx, stream, e.ID, e.Data, fields)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if !cloned {
			// The caller's events stay as they were.
			out, cloned = slices.Clone(events), true
		}
		out[i].Data = data
	}
	return s.Store.Append(ctx, stream, expected, out...)
}

// ReadStream reads from the wrapped store and opens what it returns.
func (s *Store) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	evs, err := s.Store.ReadStream(ctx, stream, after, limit)
	if err != nil {
		return nil, err
	}
	return s.openAll(ctx, evs)
}

// ReadAll reads from the wrapped store and opens what it returns. The
// newest events come from the tail kept by earlier reads (see tail): the
// events returned are shared, and must not be modified.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return s.Store.ReadAll(ctx, after, limit) // the wrapped store's error
	}
	// The generation is taken before anything is opened: a key forgotten
	// meanwhile makes what is opened here a run no later read is given.
	gen := s.keys.Generation()
	kept, old := s.tail.get(after, limit, gen)
	if s.whole(kept, limit) {
		return kept, nil
	}
	if !old {
		// A read at the newest end: the followers woken by one append all
		// come here at once, so one reads and opens for all, and the
		// others find its events kept when they get the lock.
		s.fill.Lock()
		defer s.fill.Unlock()
		gen = s.keys.Generation()
		if kept, _ = s.tail.get(after, limit, gen); s.whole(kept, limit) {
			return kept, nil
		}
	}
	from := after
	if len(kept) > 0 {
		from = kept[len(kept)-1].Position
	}
	evs, err := s.Store.ReadAll(ctx, from, limit-len(kept))
	if err != nil {
		return nil, err
	}
	if evs, err = s.openAll(ctx, evs); err != nil {
		return nil, err
	}
	if s.keys.Generation() != gen {
		// A key was forgotten while this page was opened: it holds the
		// customer.erased of a key another node destroyed, and what was
		// opened before that event, kept or just read, may show the
		// erased texts. The page is read again under the keys as they are
		// now (erasures are rare) and not kept.
		if evs, err = s.Store.ReadAll(ctx, after, limit); err != nil {
			return nil, err
		}
		return s.openAll(ctx, evs)
	}
	s.tail.put(from, evs, gen)
	return append(kept, evs...), nil
}

// knownHead is a store that knows, without reading, a lower bound of its
// head that covers every append it committed itself (sqlite.Store).
type knownHead interface{ KnownHead() uint64 }

// whole reports whether kept, from the tail, answers a ReadAll of limit
// events without asking the wrapped store for more: it holds limit events,
// or it reaches the head as far as the wrapped store knows. The followers
// woken by a commit found its events kept, and each then asked the store
// for the rest of its page, which is nothing (issue 7: at 100 offers/s,
// nine tenths of the reads of the log were empty). A page that stops short
// of what another process appended meanwhile is still a page of the log
// in order; the next read starts after it, and Wait looks at the file.
func (s *Store) whole(kept []eventstore.Event, limit int) bool {
	if len(kept) == limit {
		return true
	}
	h, ok := s.Store.(knownHead)
	return ok && len(kept) > 0 && kept[len(kept)-1].Position >= h.KnownHead()
}

func (s *Store) openAll(ctx context.Context, evs []eventstore.Event) ([]eventstore.Event, error) {
	for i := range evs {
		e, err := s.Open(ctx, evs[i])
		if err != nil {
			return nil, err
		}
		evs[i] = e
	}
	return evs, nil
}

// Open returns e, read from the wrapped store, with its personal texts
// opened: Data shows each as its text, or as null when its customer's key
// was destroyed (Erased), and Sealed holds their stored form. Texts stored
// before they were sealed (plain strings) are shown as they are. A sealed
// text that its key does not open (changed bytes, another key store) is an
// error, never shown as erased.
func (s *Store) Open(ctx context.Context, e eventstore.Event) (eventstore.Event, error) {
	if e.Type == domain.TypeCustomerErased {
		// The key was destroyed before this event was stored (maybe by
		// another node): stop using a copy cached here.
		var ev domain.CustomerErased
		if err := json.Unmarshal(e.Data, &ev); err == nil && ev.CustomerID != "" {
			s.keys.forget(string(ev.CustomerID))
		}
		return e, nil
	}
	fields := domain.PersonalTexts(e.Type)
	if len(fields) == 0 || !bytes.Contains(e.Data, []byte(`"ct"`)) {
		return e, nil
	}
	var (
		patch  = map[string]any{}
		erased bool
	)
	data, _, err := domain.RewriteTexts(e.Data, fields, func(path domain.PersonalText, v json.RawMessage) (json.RawMessage, error) {
		var sv sealedValue
		if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &sv) != nil || sv.CT == "" {
			return v, nil // a plain text, stored before texts were sealed
		}
		setPath(patch, path, json.RawMessage(bytes.Clone(v)))
		key, err := s.keys.key(ctx, sv.Key, false)
		if errors.Is(err, ErrErased) || errors.Is(err, errNoKey) {
			erased = true
			return json.RawMessage("null"), nil
		}
		if err != nil {
			return nil, err
		}
		box, err := base64.StdEncoding.DecodeString(sv.CT)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(path, "."), errOpen)
		}
		pt, err := openText(key, box, aad(sv.Key, e.Stream, e.ID, path))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(path, "."), err)
		}
		return json.Marshal(string(pt))
	})
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("open %s/%d: %w", e.Stream, e.Version, err)
	}
	if len(patch) == 0 {
		return e, nil
	}
	p, err := json.Marshal(patch)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("open %s/%d: %w", e.Stream, e.Version, err)
	}
	e.Data, e.Sealed, e.Erased = data, p, erased
	return e, nil
}

// sealData seals the non-empty string values at fields of data.
func (s *Store) sealData(ctx context.Context, stream, id string, data json.RawMessage, fields []domain.PersonalText) (json.RawMessage, error) {
	owner := ""
	out, _, err := domain.RewriteTexts(data, fields, func(path domain.PersonalText, v json.RawMessage) (json.RawMessage, error) {
		var text string
		if json.Unmarshal(v, &text) != nil || text == "" {
			// Not a text, or an empty one, which says nothing about anyone.
			return v, nil
		}
		if owner == "" {
			var err error
			if owner, err = s.owner(ctx, stream, data); err != nil {
				return nil, err
			}
		}
		key, err := s.keys.key(ctx, owner, true)
		if errors.Is(err, ErrErased) {
			return nil, domain.ErrCustomerErased
		}
		if err != nil {
			return nil, err
		}
		box, err := sealText(key, []byte(text), aad(owner, stream, id, path))
		if err != nil {
			return nil, err
		}
		return json.Marshal(sealedValue{Alg: Algorithm, Key: owner, CT: base64.StdEncoding.EncodeToString(box)})
	})
	return out, err
}

// owner returns the customer whose key seals the texts of an event of
// stream with data: its customer_id, or, for an offer's later events
// (offer.rejected names only the offer), the customer of the offer's first
// event.
func (s *Store) owner(ctx context.Context, stream string, data json.RawMessage) (string, error) {
	var ids struct {
		CustomerID string `json:"customer_id"`
	}
	if err := json.Unmarshal(data, &ids); err == nil && ids.CustomerID != "" {
		return ids.CustomerID, nil
	}
	s.mu.Lock()
	c, ok := s.owners[stream]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	first, err := s.Store.ReadStream(ctx, stream, 0, 1)
	if err != nil {
		return "", fmt.Errorf("find the customer of %s: %w", stream, err)
	}
	if len(first) == 1 {
		if err := json.Unmarshal(first[0].Data, &ids); err == nil && ids.CustomerID != "" {
			s.mu.Lock()
			if len(s.owners) >= maxOwners {
				clear(s.owners)
			}
			s.owners[stream] = ids.CustomerID
			s.mu.Unlock()
			return ids.CustomerID, nil
		}
	}
	return "", fmt.Errorf("seal a text of %s: no customer to seal it for", stream)
}

// maxOwners bounds the cache of offers' customers (cleared when full: a
// miss costs one read of the offer's first event).
const maxOwners = 1 << 16

// aad binds a sealed text to where it belongs: its customer, event and
// field. A ciphertext moved elsewhere does not open.
func aad(customer, stream, id string, path domain.PersonalText) []byte {
	return []byte("offerflow sealed text v1\x00" + customer + "\x00" + stream + "\x00" + id + "\x00" + strings.Join(path, "."))
}

// setPath sets v at path in the nested map m.
func setPath(m map[string]any, path domain.PersonalText, v any) {
	for _, k := range path[:len(path)-1] {
		inner, ok := m[k].(map[string]any)
		if !ok {
			inner = map[string]any{}
			m[k] = inner
		}
		m = inner
	}
	m[path[len(path)-1]] = v
}
