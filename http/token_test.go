package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	ofhttp "github.com/offerflow/offerflow/http"
)

// TestFlow_RevokeToken issues a customer token, uses it, revokes it, and
// uses it again: from the revocation on it is 401 everywhere (header,
// session cookie, the web UI's sign-in), while other tokens keep working.
func TestFlow_RevokeToken(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, reseller := ts.NewReseller(t, "Lernwerk")
	customerID, other := reseller.CreateCustomer(t, "Musterschule")
	ctx := context.Background()

	// The operator issues a customer token; the customer uses it.
	issued := ts.Operator().Must(t, 201, "POST", "/v1/tokens", map[string]string{"role": "customer", "tenant": customerID}).Map(t)
	tok := ts.As(str(t, issued, "token"))
	tok.Must(t, 200, "GET", "/v1/inbox/badge", nil)

	// It signs out for good: one event, recorded with the token as actor.
	before := ts.Head(t)
	r := tok.Must(t, 204, "DELETE", "/v1/tokens/self", nil)
	if wrote := ts.Wrote(t, before, r); len(wrote) != 1 || wrote[0] != "token.revoked" {
		t.Fatalf("DELETE /v1/tokens/self wrote %v, want [token.revoked]", wrote)
	}
	if pos := r.Position(t); pos != ts.Head(t) || len(r.Body) != 0 {
		t.Fatalf("X-Log-Position %d, head %d, body %q", pos, ts.Head(t), r.Body)
	}
	evs, err := ts.Store.ReadAll(ctx, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a := evs[0].Metadata.Actor; a.Role != "customer" || a.Tenant != customerID || a.Subject != issued["id"] {
		t.Fatalf("revoked by %+v, want the token itself (customer %s, subject %v)", a, customerID, issued["id"])
	}

	// The same token again: 401, by header, by cookie, and at sign-in.
	if got := tok.Do(t, "GET", "/v1/inbox/badge", nil); got.Status != 401 || got.Code() != "unauthenticated" {
		t.Fatalf("a revoked token: %s, want 401 unauthenticated", got)
	}
	if got := ts.As("").Do(t, "GET", "/v1/inbox/badge", nil, "Cookie", ofhttp.SessionCookie+"="+tok.Token); got.Status != 401 {
		t.Fatalf("a revoked token in the session cookie: %s, want 401", got)
	}
	if _, ok, err := ts.Sessions.Identify(ctx, tok.Token); ok || err != nil {
		t.Fatalf("the UI's sign-in accepts a revoked token: ok %v, err %v", ok, err)
	}
	before = ts.Head(t)
	if got := tok.Do(t, "DELETE", "/v1/tokens/self", nil); got.Status != 401 || ts.Head(t) != before {
		t.Fatalf("revoking a revoked token itself: %s, head %d -> %d", got, before, ts.Head(t))
	}
	if got := ts.Operator().Do(t, "POST", "/v1/tokens/revoke", map[string]string{"token": tok.Token}); got.Status != 409 || got.Code() != "invalid_transition" {
		t.Fatalf("the operator revoking it again: %s, want 409 invalid_transition", got)
	}

	// The customer's other token is untouched.
	other.Must(t, 200, "GET", "/v1/inbox/badge", nil)

	// The operator revokes a leaked token by its hash, as an export shows it.
	leaked := ts.NewToken(t, "customer", customerID)
	leaked.Must(t, 200, "GET", "/v1/inbox/badge", nil)
	ts.Operator().Must(t, 204, "POST", "/v1/tokens/revoke", map[string]string{"token_hash": ofhttp.HashToken(leaked.Token)})
	leaked.Must(t, 401, "GET", "/v1/inbox/badge", nil)

	// The web UI's sign-out through the session cookie: a cross-site
	// request is refused and writes nothing; a same-site one revokes.
	session := ts.NewToken(t, "customer", customerID)
	cookie := ofhttp.SessionCookie + "=" + session.Token
	before = ts.Head(t)
	if got := ts.As("").Do(t, "DELETE", "/v1/tokens/self", nil, "Cookie", cookie, "Sec-Fetch-Site", "cross-site"); got.Status != 403 || ts.Head(t) != before {
		t.Fatalf("a cross-site sign-out: %s, head %d -> %d", got, before, ts.Head(t))
	}
	session.Must(t, 200, "GET", "/v1/inbox/badge", nil)
	out := ts.As("").Must(t, 204, "DELETE", "/v1/tokens/self", nil, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	ts.As("").Must(t, 401, "GET", "/v1/inbox/badge?min_position="+strconv.FormatUint(out.Position(t), 10), nil, "Cookie", cookie)
	session.Must(t, 401, "GET", "/v1/inbox/badge", nil)
}

// TestStillAuthenticated checks the re-check that long-lived responses make:
// true while the request's token (by header or cookie) is valid, false from
// its revocation on.
func TestStillAuthenticated(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, reseller := ts.NewReseller(t, "Lernwerk")
	for _, byCookie := range []bool{false, true} {
		tok := reseller.ts.NewToken(t, "reseller", identityOf(t, reseller).Tenant)
		r := httptest.NewRequest("GET", "/v1/stream", nil)
		if byCookie {
			r.AddCookie(&http.Cookie{Name: ofhttp.SessionCookie, Value: tok.Token})
		} else {
			r.Header.Set("Authorization", "Bearer "+tok.Token)
		}
		if ok, err := ts.StillAuthenticated(context.Background(), r); !ok || err != nil {
			t.Fatalf("cookie %v: a valid token: ok %v, err %v", byCookie, ok, err)
		}
		tok.Must(t, 204, "DELETE", "/v1/tokens/self", nil)
		if ok, err := ts.StillAuthenticated(context.Background(), r); ok || err != nil {
			t.Fatalf("cookie %v: a revoked token: ok %v, err %v", byCookie, ok, err)
		}
	}
}

// identityOf returns who c's token authenticates.
func identityOf(tb testing.TB, c Client) ofhttp.Identity {
	tb.Helper()
	id, ok, err := c.ts.Sessions.Identify(context.Background(), c.Token)
	if !ok || err != nil {
		tb.Fatalf("token does not identify: ok %v, err %v", ok, err)
	}
	return id
}
