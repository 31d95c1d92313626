package command_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// countingStore counts the stream reads of the store it wraps.
type countingStore struct {
	eventstore.Store
	reads atomic.Int64
}

func (s *countingStore) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	s.reads.Add(1)
	return s.Store.ReadStream(ctx, stream, after, limit)
}

// cachedService is a service over store whose token cache follows the log.
func cachedService(t *testing.T, store eventstore.Store) *command.Service {
	t.Helper()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.FollowTokens(ctx, 10*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc
}

func mustLookup(t *testing.T, svc *command.Service, hash string, want bool) {
	t.Helper()
	_, ok, err := svc.LookupToken(context.Background(), hash)
	if err != nil || ok != want {
		t.Fatalf("LookupToken(%s) = %v, %v; want %v", hash, ok, err, want)
	}
}

// TestTokenCache checks that look-ups are served from memory while the
// cache follows the log, that a revocation by this process holds on the
// very next look-up (for the token and every token derived from it), and
// that one by another process sharing the log holds once the log is read.
func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: MustOpenStore(t)}
	svc := cachedService(t, store)
	other := command.NewService(command.NewHandler(store, command.Config{})) // another process on the same log
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "operator"}}
	r, _, err := svc.RegisterReseller(ctx, op, "R")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(hash string) {
		t.Helper()
		if _, err := svc.IssueToken(ctx, op, domain.TokenSpec{ID: "id-" + hash, Hash: hash, Role: domain.RoleReseller, Tenant: string(r.ID())}); err != nil {
			t.Fatal(err)
		}
	}
	derive := func(parent, hash string) {
		t.Helper()
		if _, _, err := svc.DeriveToken(ctx, op, parent, domain.TokenSpec{ID: "id-" + hash, Hash: hash, Idle: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	// caughtUp waits until the cache has read the whole log, so that no
	// invalidation of what a test just wrote is still to come.
	caughtUp := func() {
		t.Helper()
		head, err := store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for pos, live := svc.TokenCacheFollowed(); !live || pos < head; pos, live = svc.TokenCacheFollowed() {
			if time.Now().After(deadline) {
				t.Fatalf("the token cache is at %d (live %v), the log at %d", pos, live, head)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("ServedFromMemory", func(t *testing.T) {
		issue("h1")
		caughtUp()
		mustLookup(t, svc, "h1", true)
		before := store.reads.Load()
		for range 10 {
			mustLookup(t, svc, "h1", true)
		}
		if n := store.reads.Load() - before; n != 0 {
			t.Fatalf("10 warm look-ups read %d streams, want 0", n)
		}
	})
	t.Run("RevokedHereHoldsAtOnce", func(t *testing.T) {
		issue("h2")
		derive("h2", "h2-child")
		derive("h2-child", "h2-grandchild")
		for _, h := range []string{"h2", "h2-child", "h2-grandchild"} {
			mustLookup(t, svc, h, true)
		}
		if _, err := svc.RevokeToken(ctx, op, "h2"); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"h2", "h2-child", "h2-grandchild"} {
			mustLookup(t, svc, h, false)
		}
	})
	t.Run("RevokedElsewhereHoldsOnceRead", func(t *testing.T) {
		issue("h3")
		derive("h3", "h3-child")
		mustLookup(t, svc, "h3", true)
		mustLookup(t, svc, "h3-child", true)
		if _, err := other.RevokeToken(ctx, op, "h3"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, okParent, _ := svc.LookupToken(ctx, "h3")
			_, okChild, _ := svc.LookupToken(ctx, "h3-child")
			if !okParent && !okChild {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a revocation by another process never reached the cache")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("RaceWithLookups", func(t *testing.T) {
		// Look-ups racing a revocation may see the token either way; once
		// RevokeToken has returned, none may see it valid.
		for i := range 20 {
			h := "race-" + string(rune('a'+i))
			issue(h)
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							_, _, _ = svc.LookupToken(ctx, h)
						}
					}
				})
			}
			if _, err := svc.RevokeToken(ctx, op, h); err != nil {
				t.Fatal(err)
			}
			for range 50 {
				mustLookup(t, svc, h, false)
			}
			close(stop)
			wg.Wait()
			mustLookup(t, svc, h, false)
		}
	})
}

// BenchmarkLookupToken compares a token look-up served by the cache with
// one that reads and folds the token's stream (a session token, so its
// parent is looked up too), on one SQLite file.
func BenchmarkLookupToken(b *testing.B) {
	ctx := context.Background()
	store := MustOpenStore(b)
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "operator"}}
	setup := command.NewService(command.NewHandler(store, command.Config{}))
	if _, err := setup.IssueToken(ctx, op, domain.TokenSpec{ID: "p", Hash: "parent", Role: domain.RoleAuditor, Tenant: "*"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := setup.DeriveToken(ctx, op, "parent", domain.TokenSpec{ID: "s", Hash: "session", Idle: time.Hour}); err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		name := "store"
		svc := command.NewService(command.NewHandler(store, command.Config{}))
		if cached {
			name = "cache"
			fctx, cancel := context.WithCancel(ctx)
			go func() { _ = svc.FollowTokens(fctx, time.Second) }()
			for _, live := svc.TokenCacheFollowed(); !live; _, live = svc.TokenCacheFollowed() {
				time.Sleep(time.Millisecond)
			}
			defer cancel()
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, ok, err := svc.LookupToken(ctx, "session"); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
