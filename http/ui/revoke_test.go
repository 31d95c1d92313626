package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	ohttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/http/ui"
)

// noRedirects is a client that shows the UI's 303s instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post sends a same-origin form post to the stack, with cookie when set.
func (s *stack) post(t *testing.T, path string, form url.Values, cookie string) *http.Response {
	t.Helper()
	r, err := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
	}
	res, err := noRedirects.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

// status is the status of GET path on the stack, authenticated by the
// session cookie or else by a bearer token.
func (s *stack) status(t *testing.T, path, cookie, bearer string) int {
	t.Helper()
	r, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// tokenEvents reads the stream of the token whose hash is that of token.
func (s *stack) tokenEvents(t *testing.T, token string) []tokenEvent {
	t.Helper()
	evs, err := s.Svc.Handler().Store().ReadStream(context.Background(), "token-"+ohttp.HashToken(token), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]tokenEvent, len(evs))
	for i, e := range evs {
		out[i] = tokenEvent{Type: e.Type, Role: string(e.Metadata.Actor.Role), Tenant: e.Metadata.Actor.Tenant, Subject: e.Metadata.Actor.Subject}
	}
	return out
}

// tokenEvent is what these tests check of a token's event: its type
// and its actor.
type tokenEvent struct{ Type, Role, Tenant, Subject string }

// TestSession_OwnTokenRevokedAtSignOut runs sign-in and sign-out against the
// real stack: the cookie holds a session token issued for the sign-in, the
// API accepts it, and sign-out revokes it and nothing else.
func TestSession_OwnTokenRevokedAtSignOut(t *testing.T) {
	st := startStack(t)
	sd := st.seedScenario(t)
	pasted, ok, err := st.Svc.LookupToken(context.Background(), ohttp.HashToken(sd.CustomerToken))
	if err != nil || !ok {
		t.Fatalf("look up the customer token: ok %v, err %v", ok, err)
	}

	res := st.post(t, "/session", url.Values{"token": {sd.CustomerToken}}, "")
	c := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || c == nil {
		t.Fatalf("sign-in: %d, cookie %v; want 303 with the cookie", res.StatusCode, c)
	}
	session := c.Value
	if session == sd.CustomerToken || !strings.HasPrefix(session, ohttp.TokenPrefix) {
		t.Fatalf("cookie holds %q; want a new token, not the pasted one", session)
	}
	if got := st.status(t, "/v1/inbox/badge", session, ""); got != http.StatusOK {
		t.Fatalf("GET /v1/inbox/badge with the session cookie: %d, want 200", got)
	}
	want := tokenEvent{Type: domain.TypeTokenIssued, Role: "customer", Tenant: sd.CustomerID, Subject: pasted.Subject}
	if evs := st.tokenEvents(t, session); len(evs) != 1 || evs[0] != want {
		t.Fatalf("session token's stream = %+v; want one %+v (the signed-in customer as actor)", evs, want)
	}
	issued, ok, err := st.Svc.LookupToken(context.Background(), ohttp.HashToken(session))
	if err != nil || !ok || issued.Role != domain.RoleCustomer || issued.Tenant != sd.CustomerID || issued.Subject == pasted.Subject {
		t.Fatalf("session token = %+v (ok %v, err %v); want a customer token of %s with an id of its own", issued, ok, err, sd.CustomerID)
	}

	res = st.post(t, "/session/logout", nil, session)
	if c := sessionCookie(res); res.StatusCode != http.StatusSeeOther || c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("sign-out: %d, cookie %+v; want 303 clearing the cookie", res.StatusCode, c)
	}
	if got := st.status(t, "/v1/inbox/badge", session, ""); got != http.StatusUnauthorized {
		t.Errorf("GET /v1/inbox/badge with the signed-out cookie: %d, want 401", got)
	}
	if got := st.status(t, "/v1/inbox/badge", "", sd.CustomerToken); got != http.StatusOK {
		t.Errorf("GET /v1/inbox/badge with the pasted token after sign-out: %d, want 200", got)
	}
	revoked := tokenEvent{Type: domain.TypeTokenRevoked, Role: "customer", Tenant: sd.CustomerID, Subject: issued.Subject}
	if evs := st.tokenEvents(t, session); len(evs) != 2 || evs[1] != revoked {
		t.Errorf("session token's stream after sign-out = %+v; want %+v last", evs, revoked)
	}

	// Signing out again (a second tab, a replayed form) finds the session
	// ended and is no error.
	if res := st.post(t, "/session/logout", nil, session); res.StatusCode != http.StatusSeeOther {
		t.Errorf("second sign-out: %d, want 303", res.StatusCode)
	}
}

// TestSession_ResellerGetsOwnToken checks the other UI role: its session
// token carries the reseller's tenant and works on a reseller route.
func TestSession_ResellerGetsOwnToken(t *testing.T) {
	st := startStack(t)
	sd := st.seedScenario(t)
	pasted, _, err := st.Svc.LookupToken(context.Background(), ohttp.HashToken(sd.ResellerToken))
	if err != nil {
		t.Fatal(err)
	}
	c := sessionCookie(st.post(t, "/session", url.Values{"token": {sd.ResellerToken}}, ""))
	if c == nil || c.Value == sd.ResellerToken {
		t.Fatalf("cookie %+v; want a session token of its own", c)
	}
	if got := st.status(t, "/v1/customers", c.Value, ""); got != http.StatusOK {
		t.Errorf("GET /v1/customers with the session cookie: %d, want 200", got)
	}
	want := tokenEvent{Type: domain.TypeTokenIssued, Role: "reseller", Tenant: pasted.Tenant, Subject: pasted.Subject}
	if evs := st.tokenEvents(t, c.Value); len(evs) != 1 || evs[0] != want {
		t.Errorf("session token's stream = %+v; want one %+v", evs, want)
	}
}

// TestSession_EndsWhenThePastedTokenIsRevoked is the sign-in of defect 4
// of issue 8 through POST /session: the session, and a session begun by
// pasting that session's token, stop working when the pasted token is
// revoked.
func TestSession_EndsWhenThePastedTokenIsRevoked(t *testing.T) {
	st := startStack(t)
	sd := st.seedScenario(t)
	first := sessionCookie(st.post(t, "/session", url.Values{"token": {sd.CustomerToken}}, ""))
	if first == nil {
		t.Fatal("sign-in set no cookie")
	}
	second := sessionCookie(st.post(t, "/session", url.Values{"token": {first.Value}}, ""))
	if second == nil || second.Value == first.Value {
		t.Fatalf("sign-in with the session token: cookie %+v, want a session of its own", second)
	}
	for _, s := range []string{first.Value, second.Value} {
		if got := st.status(t, "/v1/inbox/badge", s, ""); got != http.StatusOK {
			t.Fatalf("a fresh session: %d, want 200", got)
		}
	}
	if got := st.status(t, "/v1/inbox/badge", "", sd.CustomerToken); got != http.StatusOK {
		t.Fatalf("the pasted token: %d, want 200", got)
	}
	if _, err := st.Svc.RevokeToken(context.Background(), command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "test"}},
		ohttp.HashToken(sd.CustomerToken)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{first.Value, second.Value} {
		if got := st.status(t, "/v1/inbox/badge", s, ""); got != http.StatusUnauthorized {
			t.Fatalf("a session after its token was revoked: %d, want 401", got)
		}
	}
	if res := st.post(t, "/session", url.Values{"token": {first.Value}}, ""); sessionCookie(res) != nil {
		t.Fatal("a session of a revoked token starts another")
	}
}
