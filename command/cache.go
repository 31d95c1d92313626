package command

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// maxCachedStreams bounds the cache of customers and templates, and
// maxCachedOffers that of offers; past them an arbitrary stream is dropped
// (and read whole again the next time it is loaded).
const (
	maxCachedStreams = 16384
	maxCachedOffers  = 8192
)

// streamCache keeps, decoded, the events of streams that commands read
// again and again (see cacheFor), so that loading one again reads from the
// log only what was appended since, or nothing at all.
//
// A load that must be current (a read answered to a caller, a command's
// second round) asks the log for the stream's tail after the cached
// version (one query, which usually answers nothing): the log is
// append-only and a stream's versions run on without gaps, so the cached
// events followed by that tail are the stream as it is now, also when
// other processes append to the same log.
//
// A command's first round reads nothing from the log when the stream is
// cached: the version it decided on goes into its append's expected
// version, or into the conditions of an append to another stream
// (eventstore.WithConditions), which the store checks in the transaction
// that writes. An outdated entry so costs a rejected append and a second,
// current, round, never a write the log as it stands would not allow; and
// since a decision on outdated state may also refuse what the current
// state allows, only a write is taken from a first round, anything else
// goes to the second (Execute, CreateOffer). A command that wrote extends
// the entry with its own events (remember), so the next one reads nothing
// either.
//
// The decoded events are shared by every load: aggregates' Apply copies
// what it keeps (items, times), never changing an event. An erased
// customer's texts are not kept: when a load meets customer.erased, or
// this handler appends it, the customer's entry and every offer's are
// dropped (a load then reads the stream again whole, its texts opened as
// erased), and the log's follower (FollowTokens) does the same as soon as
// it reads an erasure, whoever appended it.
type streamCache struct {
	max     int
	mu      sync.Mutex
	streams map[string]cachedStream
	// epoch changes with every entry dropped: a load that began before
	// stores nothing, since what it read may hold texts since erased.
	epoch uint64
}

// cachedStream is a stream's events up to its version when read: where
// each stands (what a command asks of them besides their data) and the
// events decoded.
type cachedStream struct {
	envelopes []stored
	decoded   []domain.Event
}

// stored is where an event of a stream stands: a whole envelope is ten
// times the size, and an offers' cache of them was 11 MB of the heap.
type stored struct {
	ID                string
	Version, Position uint64
}

func newStreamCache(maxStreams int) *streamCache {
	return &streamCache{max: maxStreams, streams: map[string]cachedStream{}}
}

func (c *streamCache) get(stream string) (cachedStream, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[stream], c.epoch
}

// put stores s for stream unless a longer version of it is already there
// (a concurrent load that read further) or an entry was dropped since
// epoch.
func (c *streamCache) put(stream string, s cachedStream, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || len(c.streams[stream].envelopes) >= len(s.envelopes) {
		return
	}
	if _, ok := c.streams[stream]; !ok && len(c.streams) >= c.max {
		for k := range c.streams {
			delete(c.streams, k)
			break
		}
	}
	c.streams[stream] = s
}

// drop forgets stream.
func (c *streamCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.streams, stream)
	c.epoch++
}

// clear forgets every stream.
func (c *streamCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.streams)
	c.epoch++
}

// cacheFor returns the cache that keeps stream's events, nil for a stream
// not kept: customers and templates (read by every offer sent), and offers,
// in a smaller cache of their own (the commands of an offer's life come
// soon after it is made: its delivery, a reminder, the customer's answer).
func (h *Handler) cacheFor(stream string) *streamCache {
	switch {
	case strings.HasPrefix(stream, domain.CustomerStream("")), strings.HasPrefix(stream, domain.TemplateStream("")):
		return h.cache
	case strings.HasPrefix(stream, domain.OfferStream("")):
		return h.offers
	}
	return nil
}

// loadCached folds stream, a stream with a cache (cacheFor), into agg from
// the cache and the log's tail after it, and caches the result. When
// current is not set and the stream is cached, it reads nothing from the
// log and read is false: the caller's write must then check the version
// returned (see streamCache).
func (h *Handler) loadCached(ctx context.Context, stream string, agg domain.Aggregate, current bool) (version, position uint64, evs []stored, read bool, err error) {
	c := h.cacheFor(stream)
	cached, epoch := c.get(stream)
	n := len(cached.envelopes)
	if n > 0 && !current {
		version, position, evs = fold(cached, agg)
		return version, position, evs, false, nil
	}
	if n > 0 {
		version = cached.envelopes[n-1].Version
	}
	tail, err := eventstore.ReadStreamAll(ctx, h.store, stream, version)
	if err != nil {
		return 0, 0, nil, true, fmt.Errorf("load %s: %w", stream, err)
	}
	if slices.ContainsFunc(tail, erasure) {
		// The cached events, or those read before the erasure in the
		// same read (opened before the key was forgotten on reading it),
		// may hold the texts the erasure took away: read the stream again,
		// opened as it now is.
		h.forgetErased(stream)
		cached, epoch = c.get(stream)
		if tail, err = eventstore.ReadStreamAll(ctx, h.store, stream, 0); err != nil {
			return 0, 0, nil, true, fmt.Errorf("load %s: %w", stream, err)
		}
	}
	s := cached
	if len(tail) > 0 {
		// New slices: the cached ones are shared with other loads.
		s = cachedStream{
			envelopes: append(make([]stored, 0, len(cached.envelopes)+len(tail)), cached.envelopes...),
			decoded:   append(make([]domain.Event, 0, len(cached.decoded)+len(tail)), cached.decoded...),
		}
		for _, e := range tail {
			de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
			if err != nil {
				return 0, 0, nil, true, fmt.Errorf("load %s version %d: %w", stream, e.Version, err)
			}
			s.envelopes = append(s.envelopes, stored{ID: e.ID, Version: e.Version, Position: e.Position})
			s.decoded = append(s.decoded, de)
		}
		c.put(stream, s, epoch)
	}
	version, position, evs = fold(s, agg)
	return version, position, evs, true, nil
}

func erasure(e eventstore.Event) bool { return e.Type == domain.TypeCustomerErased }

// forgetErased drops what the caches keep of a customer whose erasure was
// just seen in customerStream: its own entry, and every offer, since any
// may be one of its own holding its message.
func (h *Handler) forgetErased(customerStream string) {
	h.cache.drop(customerStream)
	h.offers.clear()
}

// forgetAll drops every cached stream: for when erasures may have been
// appended that nothing read (the log's follower starting or failing).
func (h *Handler) forgetAll() {
	h.cache.clear()
	h.offers.clear()
}

// cacheEpoch returns the epoch of stream's cache, 0 for a stream without
// one: taken before an append, for remember.
func (h *Handler) cacheEpoch(stream string) uint64 {
	c := h.cacheFor(stream)
	if c == nil {
		return 0
	}
	_, epoch := c.get(stream)
	return epoch
}

// remember extends stream's cached events with those just appended to it
// at version expected, so that the next command on the stream reads
// nothing from the log: the stream was at expected when they were written,
// so the entry that ends at expected, followed by them, is the stream as
// the append left it (an entry that ends elsewhere is left alone). They
// are decoded from the data written, as a read would decode them. Only the
// last of them gets its position (the append's result): a load answers the
// position of the stream's last event, and an earlier run found by its
// idempotency seed ends at the last event of its append. epoch is the
// cache's before the append: an entry dropped meanwhile (an erasure) keeps
// this from putting back texts. An erasure itself is not kept: the
// customer's entry and the offers are dropped instead.
func (h *Handler) remember(stream string, epoch, expected uint64, batch []eventstore.NewEvent, res eventstore.AppendResult) {
	c := h.cacheFor(stream)
	if c == nil {
		return
	}
	if slices.ContainsFunc(batch, func(e eventstore.NewEvent) bool { return e.Type == domain.TypeCustomerErased }) {
		h.forgetErased(stream)
		return
	}
	cached, _ := c.get(stream)
	at := uint64(0)
	if n := len(cached.envelopes); n > 0 {
		at = cached.envelopes[n-1].Version
	}
	if at != expected {
		return
	}
	s := cachedStream{
		envelopes: append(make([]stored, 0, len(cached.envelopes)+len(batch)), cached.envelopes...),
		decoded:   append(make([]domain.Event, 0, len(cached.decoded)+len(batch)), cached.decoded...),
	}
	for i, ne := range batch {
		de, err := domain.DecodeEvent(ne.Type, ne.SchemaVersion, ne.Data)
		if err != nil {
			return // the next load reads the stream
		}
		e := stored{ID: ne.ID, Version: expected + uint64(i) + 1}
		if i == len(batch)-1 {
			e.Position = res.Position
		}
		s.envelopes = append(s.envelopes, e)
		s.decoded = append(s.decoded, de)
	}
	c.put(stream, s, epoch)
}

// fold applies s to agg and returns where s ends.
func fold(s cachedStream, agg domain.Aggregate) (version, position uint64, evs []stored) {
	for _, de := range s.decoded {
		agg.Apply(de)
	}
	if n := len(s.envelopes); n > 0 {
		version, position = s.envelopes[n-1].Version, s.envelopes[n-1].Position
	}
	return version, position, s.envelopes
}
