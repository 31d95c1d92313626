package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// TestRanks_FollowTheContract pins the ranks of the problems table to the
// contract's order of checks (api.md, Conventions): each check outranks the
// next, and what is no check of that order answers before all of them.
// Changing a rank, or a status beside it, fails here.
func TestRanks_FollowTheContract(t *testing.T) {
	order := []struct {
		code   string
		status int
	}{
		{domain.EUNAUTHENTICATED, 401},
		{domain.EFORBIDDEN, 403},
		{EBODYTOOLARGE, 413},
		{domain.EMALFORMED, 400},
		{domain.ENOTFOUND, 404},
		{domain.EINVALID, 422},
		{domain.EVERSION, 412},
		{domain.ECONFLICT, 409},
	}
	for i, c := range order {
		k, ok := problems[c.code]
		if !ok {
			t.Fatalf("problems has no %s", c.code)
		}
		if k.status != c.status {
			t.Errorf("%s: status %d, the contract says %d", c.code, k.status, c.status)
		}
		if i > 0 && k.rank <= problems[order[i-1].code].rank {
			t.Errorf("%s (rank %d) must rank after %s (rank %d)", c.code, k.rank, order[i-1].code, problems[order[i-1].code].rank)
		}
	}
	// Codes that share a status share its place in the order.
	same := map[string]string{
		EREQUESTTIMEOUT:        EBODYTOOLARGE, // the body cannot be read either way
		EIDEMPOTENCYREUSED:     domain.EINVALID,
		EIDEMPOTENCYINPROGRESS: domain.ECONFLICT,
	}
	for code, like := range same {
		if problems[code].rank != problems[like].rank {
			t.Errorf("%s ranks %d, %s %d: they must rank alike", code, problems[code].rank, like, problems[like].rank)
		}
	}
	for _, code := range []string{domain.EINTERNAL, EUNAVAILABLE, ENOTCAUGHTUP, ERATELIMITED, ECLIENTCLOSED, EMETHODNOTALLOWED} {
		if problems[code].rank >= problems[domain.EUNAUTHENTICATED].rank {
			t.Errorf("%s must answer at once, before every check of the order; it ranks %d", code, problems[code].rank)
		}
	}
}

// TestFirst answers, of two failures found at once, the one the contract
// puts first, whatever order they were found in.
func TestFirst(t *testing.T) {
	e := func(code string) error { return domain.Errorf(code, "%s", code) }
	plain := errors.New("disk on fire") // no code: internal
	cases := []struct {
		name string
		errs []error
		want string // code; "" for nil
	}{
		{"none", []error{nil, nil}, ""},
		{"one", []error{nil, e(domain.EINVALID)}, domain.EINVALID},
		{"404 before 422", []error{e(domain.EINVALID), e(domain.ENOTFOUND)}, domain.ENOTFOUND},
		{"404 before 422, given first", []error{e(domain.ENOTFOUND), e(domain.EINVALID)}, domain.ENOTFOUND},
		{"400 before 404", []error{e(domain.ENOTFOUND), e(domain.EMALFORMED)}, domain.EMALFORMED},
		{"422 before 412", []error{e(domain.EVERSION), e(domain.EINVALID)}, domain.EINVALID},
		{"412 before 409", []error{e(domain.ECONFLICT), e(domain.EVERSION)}, domain.EVERSION},
		{"401 before 403", []error{e(domain.EFORBIDDEN), e(domain.EUNAUTHENTICATED)}, domain.EUNAUTHENTICATED},
		{"413 before 400", []error{e(domain.EMALFORMED), e(EBODYTOOLARGE)}, EBODYTOOLARGE},
		{"not caught up at once", []error{e(domain.ENOTFOUND), e(ENOTCAUGHTUP)}, ENOTCAUGHTUP},
		{"internal at once", []error{e(domain.EUNAUTHENTICATED), plain}, domain.EINTERNAL},
		{"wrapped codes count", []error{e(domain.EINVALID), errors.Join(e(domain.ENOTFOUND))}, domain.ENOTFOUND},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := first(c.errs...)
			if c.want == "" {
				if got != nil {
					t.Fatalf("first = %v, want nil", got)
				}
				return
			}
			if code := domain.ErrorCode(got); code != c.want {
				t.Fatalf("first = %v (%s), want %s", got, code, c.want)
			}
		})
	}
	// Of equal ranks the one found first answers, so a handler's first
	// finding is kept.
	a, b := domain.Invalid("a", "a"), domain.Invalid("b", "b")
	if got := first(a, b); got != a {
		t.Fatalf("first(a, b) = %v, want a", got)
	}
}

// TestPrecede checks when Error looks the path's resource up: only for a
// failure ranked after not_found, once a request, never once the route
// left it to its command; and a resource not found answers before such a
// failure.
func TestPrecede(t *testing.T) {
	cases := []struct {
		name      string
		err       error // what the handler found
		missing   bool  // whether the resource is absent
		byCommand bool  // whether the route left the look-up to its command
		id        string
		want      string
		lookUps   int
	}{
		{"422 on a missing resource", domain.Invalid("x", "x"), true, false, "o1", domain.ENOTFOUND, 1},
		{"422 on a found resource", domain.Invalid("x", "x"), false, false, "o1", domain.EINVALID, 1},
		{"412 on a missing resource", domain.Errorf(domain.EVERSION, "v"), true, false, "o1", domain.ENOTFOUND, 1},
		{"400 needs no look-up", domain.Errorf(domain.EMALFORMED, "m"), true, false, "o1", domain.EMALFORMED, 0},
		{"503 needs no look-up", errorf(ENOTCAUGHTUP, "wait"), true, false, "o1", ENOTCAUGHTUP, 0},
		{"an id naming nothing needs no look-up", domain.Invalid("x", "x"), false, false, "no such id!", domain.ENOTFOUND, 0},
		{"the command looked itself", domain.Errorf(domain.ECONFLICT, "c"), true, true, "o1", domain.ECONFLICT, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lookUps := 0
			spec := &pathResource{
				params: []pathID{{"id", domain.ErrOfferNotFound}},
				find: func(*Server, *http.Request) (any, error) {
					lookUps++
					if c.missing {
						return nil, domain.ErrOfferNotFound
					}
					return "the offer", nil
				},
			}
			r := httptest.NewRequest("GET", "/v1/offers/x", nil)
			rc := chi.NewRouteContext()
			rc.URLParams.Add("id", c.id)
			ps := &pathState{spec: spec, found: c.byCommand}
			ctx := context.WithValue(context.WithValue(r.Context(), chi.RouteCtxKey, rc), pathStateKey{}, ps)
			r = r.WithContext(ctx)
			s := &Server{}
			got := s.precede(r, c.err)
			if code := domain.ErrorCode(got); code != c.want {
				t.Fatalf("precede = %v (%s), want %s", got, code, c.want)
			}
			// A second failure of the same request does not look again.
			s.precede(r, c.err)
			if lookUps != c.lookUps {
				t.Fatalf("looked the resource up %d times, want %d", lookUps, c.lookUps)
			}
		})
	}
}

// TestFailures answers, of the failures one error carries (a command's
// refusal joined with a stale If-Match), the first-ranked, and keeps an
// error that carries no domain failure as it is.
func TestFailures(t *testing.T) {
	refused := domain.Errorf(domain.ECONFLICT, "withdrawn already")
	stale := domain.Errorf(domain.EVERSION, "stale")
	missing := domain.ErrOfferNotFound
	disk := errors.New("disk on fire")
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"refused and stale", errors.Join(refused, stale), domain.EVERSION},
		{"missing and stale", errors.Join(missing, stale), domain.ENOTFOUND},
		{"stale alone", errors.Join(nil, stale), domain.EVERSION},
		{"a refusal wrapped with a store's error", fmt.Errorf("%w: %w", refused, disk), domain.ECONFLICT},
		{"wrapped", fmt.Errorf("withdraw: %w", missing), domain.ENOTFOUND},
		{"no domain failure", disk, domain.EINTERNAL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := problemFor(first(failures(c.err)...)).Code; got != c.want {
				t.Fatalf("answered %s, want %s", got, c.want)
			}
		})
	}
}
