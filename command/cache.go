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

// maxCachedStreams bounds the cache; past it an arbitrary stream is dropped
// (and read whole again the next time it is loaded).
const maxCachedStreams = 16384

// streamCache keeps, decoded, the events of the streams that every offer
// sent reads (its customer and its template), so that loading one again
// reads from the log only what was appended since, or nothing at all.
//
// A load that must be current (a read answered to a caller, a command
// appending to the stream itself after a conflict) asks the log for the
// stream's tail after the cached version (one query, which usually answers
// nothing): the log is append-only and a stream's versions run on without
// gaps, so the cached events followed by that tail are the stream as it is
// now, also when other processes append to the same log.
//
// A load that the write it leads to will check (see loadUnchecked) reads no
// tail: its version goes into the append's expected version or its
// conditions (eventstore.WithConditions), which the store checks in the
// transaction that writes, so an outdated entry costs a rejected append
// and a second, current, load, never a write the log as it stands would
// not allow.
//
// The decoded events are shared by every load: aggregates' Apply copies
// what it keeps (items, times), never changing an event. An erased
// customer's texts are not kept: when a load meets customer.erased it
// reads the stream again whole (its texts now opened as erased), and the
// log's follower (FollowTokens) drops the customer's entry as soon as it
// reads the erasure, whoever appended it.
type streamCache struct {
	mu      sync.Mutex
	streams map[string]cachedStream
	// epoch changes with every entry dropped: a load that began before
	// stores nothing, since what it read may hold texts since erased.
	epoch uint64
}

// cachedStream is a stream's events up to its version when read: their
// envelopes without data (ids, versions, positions) and the events decoded.
type cachedStream struct {
	envelopes []eventstore.Event
	decoded   []domain.Event
}

func newStreamCache() *streamCache { return &streamCache{streams: map[string]cachedStream{}} }

// cacheable names the streams worth keeping: read on every offer sent, and
// few (a reseller's customers and templates).
func cacheable(stream string) bool {
	return strings.HasPrefix(stream, domain.CustomerStream("")) || strings.HasPrefix(stream, domain.TemplateStream(""))
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
	if _, ok := c.streams[stream]; !ok && len(c.streams) >= maxCachedStreams {
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

// loadCached folds stream into agg from the cache and the log's tail after
// it, and caches the result. Unless current is set and the stream is
// cached, it reads no tail: the caller's write must then check the version
// returned (see streamCache).
func (h *Handler) loadCached(ctx context.Context, stream string, agg domain.Aggregate, current bool) (version, position uint64, evs []eventstore.Event, err error) {
	cached, epoch := h.cache.get(stream)
	n := len(cached.envelopes)
	if n > 0 && !current {
		return fold(cached, agg)
	}
	if n > 0 {
		version = cached.envelopes[n-1].Version
	}
	tail, err := eventstore.ReadStreamAll(ctx, h.store, stream, version)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("load %s: %w", stream, err)
	}
	if slices.ContainsFunc(tail, func(e eventstore.Event) bool { return e.Type == domain.TypeCustomerErased }) {
		// The cached events, or those read before the erasure in the
		// same read (opened before the key was forgotten on reading it),
		// may hold the texts the erasure took away: read the stream again,
		// opened as it now is.
		h.cache.drop(stream)
		cached, epoch = h.cache.get(stream)
		if tail, err = eventstore.ReadStreamAll(ctx, h.store, stream, 0); err != nil {
			return 0, 0, nil, fmt.Errorf("load %s: %w", stream, err)
		}
	}
	s := cached
	if len(tail) > 0 {
		// New slices: the cached ones are shared with other loads.
		s = cachedStream{
			envelopes: slices.Grow(slices.Clone(cached.envelopes), len(tail)),
			decoded:   slices.Grow(slices.Clone(cached.decoded), len(tail)),
		}
		for _, e := range tail {
			de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
			if err != nil {
				return 0, 0, nil, fmt.Errorf("load %s version %d: %w", stream, e.Version, err)
			}
			e.Data, e.Metadata = nil, eventstore.Metadata{}
			s.envelopes = append(s.envelopes, e)
			s.decoded = append(s.decoded, de)
		}
		h.cache.put(stream, s, epoch)
	}
	return fold(s, agg)
}

// fold applies s to agg and returns where s ends.
func fold(s cachedStream, agg domain.Aggregate) (version, position uint64, evs []eventstore.Event, err error) {
	for _, de := range s.decoded {
		agg.Apply(de)
	}
	if n := len(s.envelopes); n > 0 {
		version, position = s.envelopes[n-1].Version, s.envelopes[n-1].Position
	}
	return version, position, s.envelopes, nil
}
