package command

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// The token cache keeps the tokens that requests present, folded, so that
// authenticating a request does not read and decode the token's stream
// every time (the hot path of every API call).
//
// It is correct because every change of a token is an event in the
// token's own stream: this process drops an entry the moment it appends to
// that stream (revocation, extension), and FollowTokens drops it when it
// reads such an event from the log (appended by another process sharing
// the log, or the command line). Expiry is checked on every look-up
// against the clock, never cached. A derived token's entry holds only its
// own state: its parents are looked up (in the cache) on every request,
// so a parent's revocation reaches every token below it at once.
//
// Until FollowTokens runs and has taken its starting position, nothing is
// cached: every look-up reads the stream, as without a cache.

// maxCachedTokens bounds the cache; when full it starts over.
const maxCachedTokens = 100_000

type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*domain.Token
	// epoch changes with every invalidation: a look-up that read a stream
	// while an invalidation happened stores nothing, since what it read
	// may be older than the invalidating event.
	epoch uint64
	// live is set while FollowTokens follows the log: only then are
	// entries kept.
	live bool
	// followed is the log position FollowTokens has read up to.
	followed uint64
}

func newTokenCache() *tokenCache {
	return &tokenCache{entries: map[string]*domain.Token{}}
}

func (c *tokenCache) get(hash string) (*domain.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.entries[hash]
	return t, ok
}

func (c *tokenCache) epochNow() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put keeps t under hash if nothing was invalidated since epoch.
func (c *tokenCache) put(hash string, t *domain.Token, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.epoch != epoch {
		return
	}
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[hash] = t
}

func (c *tokenCache) invalidate(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, hash)
	c.epoch++
}

// reset drops every entry and sets whether entries may be kept.
func (c *tokenCache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.epoch++
	c.live = live
}

// TokenCacheFollowed returns the log position up to which the token cache
// has read the log, and whether it is in use (FollowTokens runs).
func (s *Service) TokenCacheFollowed() (position uint64, live bool) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.followed, s.tokens.live
}

func (c *tokenCache) setFollowed(pos uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.followed = pos
}

// followPage is how many events FollowTokens reads at a time.
const followPage = 1000

// FollowTokens keeps the token cache true to the log: it follows the log
// from its head and drops the cached token of every token stream an event
// is appended to, whoever appended it; it also drops the command cache's
// entries of every customer erased and all its offers'. The cache is used only while it
// runs; it returns when ctx ends (with ctx's error), and on a failure of
// the log it empties the cache, stops using it, and starts over after
// retry.
func (s *Service) FollowTokens(ctx context.Context, retry time.Duration) error {
	for {
		err := s.followTokens(ctx)
		s.tokens.reset(false)
		// An erasure appended while nobody follows would not drop the
		// erased customer's texts from the command cache (see streamCache).
		s.h.forgetAll()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.h.cfg.Logger.WarnContext(ctx, "token cache: following the log failed; look-ups read the log until it resumes", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

func (s *Service) followTokens(ctx context.Context) error {
	store := s.h.store
	pos, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("token cache: head: %w", err)
	}
	// Entries loaded from here on reflect the log at pos or later; later
	// events are read below and invalidate them. The command cache may
	// hold texts of a customer erased before pos, which will not be read
	// below: it starts over too.
	s.h.forgetAll()
	s.tokens.reset(true)
	s.tokens.setFollowed(pos)
	for {
		if err := store.Wait(ctx, pos); err != nil {
			return fmt.Errorf("token cache: wait after %d: %w", pos, err)
		}
		evs, err := store.ReadAll(ctx, pos, followPage)
		if err != nil {
			return fmt.Errorf("token cache: read after %d: %w", pos, err)
		}
		for _, e := range evs {
			if hash, ok := strings.CutPrefix(e.Stream, domain.TokenStream("")); ok {
				s.tokens.invalidate(hash)
			}
			if e.Type == domain.TypeCustomerErased {
				// The command cache must not keep the erased texts until
				// the customer is next loaded (see streamCache).
				s.h.forgetErased(e.Stream)
			}
			pos = e.Position
		}
		s.tokens.setFollowed(pos)
	}
}
