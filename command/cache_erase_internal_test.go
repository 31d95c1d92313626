package command

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// holds reports whether the command cache of h keeps text anywhere in
// stream's decoded events.
func holds(h *Handler, stream, text string) bool {
	cached, _ := h.cache.get(stream)
	b, err := json.Marshal(cached.decoded)
	if err != nil {
		panic(err)
	}
	return strings.Contains(string(b), text)
}

// sealedLog opens a sealed SQLite log in a temporary directory.
func sealedLog(t *testing.T) (*seal.Store, *seal.Keys) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := seal.New(store, keys)
	t.Cleanup(func() { _ = sealed.Close() })
	return sealed, keys
}

// TestStreamCache_ErasedTextsNotKept: once a customer is erased, the
// command cache holds none of its texts, whether the handler next loads the
// customer (it then reads the stream again, opened as erased) or only the
// customerNamed registers a reseller and its customer named name through
// svc, and returns the operator who can erase it and the customer.
func customerNamed(ctx context.Context, t *testing.T, svc *Service, name string) (Meta, *domain.Customer) {
	t.Helper()
	op := Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "op"}}
	r, _, err := svc.RegisterReseller(ctx, op, "R")
	if err != nil {
		t.Fatal(err)
	}
	rm := Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "t"}}
	c, _, err := svc.RegisterCustomer(ctx, rm, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return op, c
}

// log's follower reads the erasure (it drops the entry).
func TestStreamCache_ErasedTextsNotKept(t *testing.T) {
	ctx := context.Background()
	sealed, keys := sealedLog(t)

	svc := NewService(NewHandler(sealed, Config{})).WithKeys(keys)
	followed := NewService(NewHandler(sealed, Config{}))
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = followed.FollowTokens(fctx, 10*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	const secret = "Alice Plaintext"
	op, c := customerNamed(ctx, t, svc, secret)
	stream := domain.CustomerStream(c.ID())
	for _, s := range []*Service{svc, followed} {
		if _, _, err := s.Customer(ctx, c.ID()); err != nil {
			t.Fatal(err)
		}
		if !holds(s.h, stream, secret) {
			t.Fatal("the cache does not hold the customer's name before the erasure: the test would prove nothing")
		}
	}
	// The follower has taken its starting position before the erasure.
	for _, live := followed.TokenCacheFollowed(); !live; _, live = followed.TokenCacheFollowed() {
		time.Sleep(5 * time.Millisecond)
	}

	if _, _, err := svc.EraseCustomer(ctx, op, c.ID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Customer(ctx, c.ID()); err != nil {
		t.Fatal(err)
	}
	if holds(svc.h, stream, secret) {
		t.Error("the handler that loaded the erased customer still holds its name")
	}
	head, err := sealed.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pos, _ := followed.TokenCacheFollowed(); pos < head; pos, _ = followed.TokenCacheFollowed() {
		if time.Now().After(deadline) {
			t.Fatalf("the follower is at %d, the log at %d", pos, head)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if holds(followed.h, stream, secret) {
		t.Error("the handler whose follower read the erasure still holds the customer's name")
	}
}

// TestStreamCache_ErasedWhileNotFollowed: an erasure appended by another
// process while this one's follower was not running (before it started, or
// between a failure and its restart) is never read by the follower, which
// starts at the head: the command cache must not keep the erased texts
// past the follower's start.
func TestStreamCache_ErasedWhileNotFollowed(t *testing.T) {
	ctx := context.Background()
	sealed, keys := sealedLog(t)

	svc := NewService(NewHandler(sealed, Config{})).WithKeys(keys)
	other := NewService(NewHandler(sealed, Config{}))

	const secret = "Bob Plaintext"
	op, c := customerNamed(ctx, t, svc, secret)
	stream := domain.CustomerStream(c.ID())
	if _, _, err := other.Customer(ctx, c.ID()); err != nil {
		t.Fatal(err)
	}
	if !holds(other.h, stream, secret) {
		t.Fatal("the cache does not hold the customer's name before the erasure: the test would prove nothing")
	}
	if _, _, err := svc.EraseCustomer(ctx, op, c.ID()); err != nil {
		t.Fatal(err)
	}

	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = other.FollowTokens(fctx, 10*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for _, live := other.TokenCacheFollowed(); !live; _, live = other.TokenCacheFollowed() {
		if time.Now().After(deadline) {
			t.Fatal("the follower never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if holds(other.h, stream, secret) {
		t.Error("the command cache kept an erased customer's name past its follower's start")
	}
}
