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
// reads from the log only what was appended since. The log is append-only
// and a stream's versions run on without gaps, so the cached events
// followed by that tail are the stream as it is now: every load still asks
// the log (one query, which usually answers nothing), so the cache is
// never staler than a read without it, also when other processes append to
// the same log. The decoded events are shared by every load: aggregates'
// Apply copies what it keeps (items, times), never changing an event.
type streamCache struct {
	mu      sync.Mutex
	streams map[string]cachedStream
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

func (c *streamCache) get(stream string) cachedStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[stream]
}

// put stores s for stream unless a longer version of it is already there
// (a concurrent load that read further).
func (c *streamCache) put(stream string, s cachedStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.streams[stream].envelopes) >= len(s.envelopes) {
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

// loadCached folds stream into agg from the cache and the log's tail after
// it, and caches the result.
func (h *Handler) loadCached(ctx context.Context, stream string, agg domain.Aggregate) (version, position uint64, evs []eventstore.Event, err error) {
	cached := h.cache.get(stream)
	if n := len(cached.envelopes); n > 0 {
		version = cached.envelopes[n-1].Version
	}
	tail, err := eventstore.ReadStreamAll(ctx, h.store, stream, version)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("load %s: %w", stream, err)
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
		h.cache.put(stream, s)
	}
	for _, de := range s.decoded {
		agg.Apply(de)
	}
	if n := len(s.envelopes); n > 0 {
		version, position = s.envelopes[n-1].Version, s.envelopes[n-1].Position
	}
	return version, position, s.envelopes, nil
}
