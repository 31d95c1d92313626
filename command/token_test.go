package command_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

func TestRevokeToken(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "operator"}, CorrelationID: "req-1"}
	if _, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-1", Hash: "hash-1", Role: domain.RoleCustomer, Tenant: string(w.cust)}); err != nil {
		t.Fatal(err)
	}
	head := func() uint64 {
		t.Helper()
		h, err := w.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	t.Run("OK", func(t *testing.T) {
		holder := command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(w.cust), Subject: "tok-1"}}
		res, err := w.svc.RevokeToken(ctx, holder, "hash-1")
		if err != nil {
			t.Fatal(err)
		}
		if res.Version != 2 || res.Position != head() || len(res.Events) != 1 {
			t.Fatalf("result %+v, want version 2 at the head with one event", res)
		}
		evs, err := w.store.ReadStream(ctx, "token-hash-1", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].Type != domain.TypeTokenRevoked || evs[1].Metadata.Actor.Subject != "tok-1" ||
			evs[1].Metadata.Actor.Role != domain.RoleCustomer || string(evs[1].Data) != `{"token_id":"tok-1"}` {
			t.Fatalf("token stream %+v", evs)
		}
		if a, ok, err := w.svc.LookupToken(ctx, "hash-1"); ok || err != nil || a != (domain.Actor{}) {
			t.Fatalf("lookup of a revoked token: %+v %v %v", a, ok, err)
		}
	})
	for _, tc := range []struct {
		name string
		hash string
		want error
	}{
		{"ErrTokenRevoked", "hash-1", domain.ErrTokenRevoked},
		{"ErrTokenNotFound", "hash-2", domain.ErrTokenNotFound},
		{"EmptyHash", "", domain.ErrTokenNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := head()
			_, err := w.svc.RevokeToken(ctx, op, tc.hash)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if after := head(); after != before {
				t.Fatalf("a refused revocation moved the log from %d to %d", before, after)
			}
		})
	}
	t.Run("NotReissued", func(t *testing.T) {
		// A revoked hash stays revoked: issuing it again would bring a
		// leaked token back to life.
		_, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-9", Hash: "hash-1", Role: domain.RoleCustomer, Tenant: string(w.cust)})
		if !errors.Is(err, domain.ErrTokenExists) {
			t.Fatalf("reissue: %v, want %v", err, domain.ErrTokenExists)
		}
		if _, ok, _ := w.svc.LookupToken(ctx, "hash-1"); ok {
			t.Fatal("the revoked token authenticates again")
		}
	})
	t.Run("OthersUnaffected", func(t *testing.T) {
		if _, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-3", Hash: "hash-3", Role: domain.RoleAuditor, Tenant: "*"}); err != nil {
			t.Fatal(err)
		}
		if a, ok, err := w.svc.LookupToken(ctx, "hash-3"); !ok || err != nil || a.Subject != "tok-3" {
			t.Fatalf("another token after a revocation: %+v %v %v", a, ok, err)
		}
	})
}

// TestRevokeToken_Concurrent revokes one token from many goroutines at
// once: exactly one revocation is recorded, every other caller is told it
// came second.
func TestRevokeToken_Concurrent(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "operator"}}
	if _, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-1", Hash: "hash-1", Role: domain.RoleAuditor, Tenant: "*"}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = w.svc.RevokeToken(ctx, op, "hash-1") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case domain.ErrorCode(err) != domain.ECONFLICT:
			t.Errorf("a losing revocation: %v, want invalid_transition", err)
		}
	}
	evs, err := w.store.ReadStream(ctx, "token-hash-1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(evs) != 2 {
		t.Fatalf("%d revocations succeeded and the stream holds %d events, want 1 and 2", ok, len(evs))
	}
}
