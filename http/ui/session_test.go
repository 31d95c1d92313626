package ui_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/offerflow/offerflow/domain"
	ohttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/http/ui"
)

// tokens is a token table for the handler tests: the pasted tokens below
// and the session tokens it issues. "broken" makes the lookup itself fail;
// signing in with "ofr_nosession" makes Start fail, and signing out
// of "ofr_stuck" makes End fail.
type tokens struct {
	mu      sync.Mutex
	known   map[string]domain.Actor
	issued  int
	revoked []string
}

func newTokens() *tokens {
	return &tokens{known: map[string]domain.Actor{
		"ofr_reseller":  {Role: "reseller", Tenant: "r1"},
		"ofr_customer":  {Role: "customer", Tenant: "c1", Subject: "tok-c1"},
		"ofr_auditor":   {Role: "auditor", Tenant: "r1"},
		"ofr_operator":  {Role: "operator"},
		"ofr_nosession": {Role: "customer", Tenant: "c2"},
		"ofr_stuck":     {Role: "customer", Tenant: "c1"},
	}}
}

func (ts *tokens) Identify(_ context.Context, token string) (domain.Actor, bool, error) {
	if token == "broken" {
		return domain.Actor{}, false, errors.New("store unavailable")
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	id, ok := ts.known[token]
	return id, ok, nil
}

func (ts *tokens) Start(_ context.Context, token string) (string, domain.Actor, bool, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	id, ok := ts.known[token]
	switch {
	case !ok:
		return "", domain.Actor{}, false, nil
	case token == "ofr_nosession":
		return "", domain.Actor{}, false, errors.New("cannot issue")
	}
	ts.issued++
	session := fmt.Sprintf("ofr_session%d", ts.issued)
	// A session token is a token of its own: same role and tenant, another
	// subject, as the API's Sessions.Start issues it.
	id.Subject = session
	ts.known[session] = id
	return session, id, true, nil
}

func (ts *tokens) End(_ context.Context, session string) error {
	if session == "ofr_stuck" {
		return errors.New("store unavailable")
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.known, session)
	ts.revoked = append(ts.revoked, session)
	return nil
}

func (ts *tokens) config() ui.Config {
	return ui.Config{Sessions: ts}
}

func MustNew(tb testing.TB) *ui.Handler {
	tb.Helper()
	h, err := ui.New(newTokens().config())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func signIn(token string) *http.Request {
	r := httptest.NewRequest("POST", "/session", strings.NewReader(url.Values{"token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

func body(tb testing.TB, res *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == ui.CookieName {
			return c
		}
	}
	return nil
}

func TestNew_RequiresDependencies(t *testing.T) {
	for name, drop := range map[string]func(*ui.Config){
		"Sessions": func(c *ui.Config) { c.Sessions = nil },
	} {
		cfg := newTokens().config()
		drop(&cfg)
		if _, err := ui.New(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s: err %v, want one naming it", name, err)
		}
	}
}

func TestCookieName_IsTheAPIs(t *testing.T) {
	if ui.CookieName != ohttp.SessionCookie {
		t.Fatalf("ui.CookieName = %q, the API reads %q", ui.CookieName, ohttp.SessionCookie)
	}
}

func TestSignIn(t *testing.T) {
	h := MustNew(t)

	t.Run("OK", func(t *testing.T) {
		res := serve(h, signIn("  ofr_reseller \n"))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app" {
			t.Fatalf("status %d, Location %q; want 303 to /app", res.StatusCode, res.Header.Get("Location"))
		}
		c := sessionCookie(res)
		if c == nil {
			t.Fatal("no session cookie set")
		}
		if !strings.HasPrefix(c.Value, "ofr_session") || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Errorf("cookie = %+v; want a session token (not the pasted one), HttpOnly, SameSite=Strict, Path=/, not Secure over plain http", c)
		}
	})
	t.Run("Auditor", func(t *testing.T) {
		// Auditors have pages: the offers' histories, checked in the browser.
		res := serve(h, signIn("ofr_auditor"))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app" || sessionCookie(res) == nil {
			t.Fatalf("status %d, Location %q; want 303 to /app with a session cookie", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("SecureOverTLS", func(t *testing.T) {
		r := signIn("ofr_customer")
		r.TLS = &tls.ConnectionState{}
		c := sessionCookie(serve(h, r))
		if c == nil || !c.Secure {
			t.Fatalf("cookie over TLS = %+v; want Secure", c)
		}
	})
	t.Run("SecureBehindAProxy", func(t *testing.T) {
		cfg := newTokens().config()
		cfg.SecureCookie = true
		h, err := ui.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := sessionCookie(serve(h, signIn("ofr_customer")))
		if c == nil || !c.Secure {
			t.Fatalf("cookie with SecureCookie = %+v; want Secure", c)
		}
	})
	for _, tt := range []struct {
		name, token string
		status      int
		message     string
	}{
		{"ErrBadToken", "ofr_nope", http.StatusUnauthorized, "This token is not valid"},
		{"ErrEmpty", "", http.StatusUnauthorized, "Please paste your API token"},
		{"ErrTooLong", "ofr_" + strings.Repeat("x", 600), http.StatusUnauthorized, "This token is not valid"},
		{"ErrRole", "ofr_operator", http.StatusForbidden, "a token of the operator role works with the API"},
		{"ErrLookup", "broken", http.StatusServiceUnavailable, "could not be checked"},
		{"ErrStartSession", "ofr_nosession", http.StatusServiceUnavailable, "session could not be started"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(h, signIn(tt.token))
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if c := sessionCookie(res); c != nil {
				t.Errorf("cookie set on a failed sign-in: %+v", c)
			}
			b := body(t, res)
			if !strings.Contains(b, tt.message) || !strings.Contains(b, `action="/session"`) {
				t.Errorf("body lacks the sign-in form with %q:\n%s", tt.message, b)
			}
		})
	}
	t.Run("ErrCrossSite", func(t *testing.T) {
		r := signIn("ofr_reseller")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		res := serve(h, r)
		if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
			t.Fatalf("cross-site sign-in: status %d, cookie %v; want 403 and no cookie", res.StatusCode, sessionCookie(res))
		}
	})
	t.Run("ErrForeignOrigin", func(t *testing.T) {
		r := signIn("ofr_reseller")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Origin", "https://evil.example")
		if res := serve(h, r); res.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in from another origin: status %d, want 403", res.StatusCode)
		}
	})
}

func TestSignInPage_EscapesAndRedirects(t *testing.T) {
	h := MustNew(t)
	res := serve(h, httptest.NewRequest("GET", "/", nil))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: "ofr_customer"})
	if res := serve(h, r); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app" {
		t.Errorf("GET / signed in: %d to %q; want 303 to /app", res.StatusCode, res.Header.Get("Location"))
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: "ofr_stale"})
	if res := serve(h, r); res.StatusCode != http.StatusOK {
		t.Errorf("GET / with a stale cookie: %d; want the sign-in page", res.StatusCode)
	}
}

func TestSession(t *testing.T) {
	h := MustNew(t)
	t.Run("OK", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/session", nil)
		r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: "ofr_customer"})
		res := serve(h, r)
		// The page learns the role and the tenant, not the token's subject.
		var got map[string]string
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /session: %d, %v", res.StatusCode, err)
		}
		if !maps.Equal(got, map[string]string{"role": "customer", "tenant": "c1"}) {
			t.Errorf("GET /session = %+v", got)
		}
	})
	for name, cookie := range map[string]string{"ErrNoCookie": "", "ErrBadToken": "ofr_nope", "ErrLookup": "broken"} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/session", nil)
			if cookie != "" {
				r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
			}
			res := serve(h, r)
			var p struct{ Code string }
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 401 || p.Code != "unauthenticated" || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET /session: %d %s code %q; want 401 problem+json unauthenticated", res.StatusCode, res.Header.Get("Content-Type"), p.Code)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	logout := func(cookie string) *http.Request {
		r := httptest.NewRequest("POST", "/session/logout", nil)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
		}
		return r
	}
	cleared := func(t *testing.T, res *http.Response) {
		t.Helper()
		if c := sessionCookie(res); c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != "/" {
			t.Fatalf("logout cookie = %+v; want an expired empty cookie for /", c)
		}
	}
	t.Run("OK", func(t *testing.T) {
		ts := newTokens()
		h, err := ui.New(ts.config())
		if err != nil {
			t.Fatal(err)
		}
		session := sessionCookie(serve(h, signIn("ofr_customer"))).Value
		res := serve(h, logout(session))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("logout: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		cleared(t, res)
		if len(ts.revoked) != 1 || ts.revoked[0] != session {
			t.Errorf("revoked %q; want just the session %q", ts.revoked, session)
		}
		if _, ok, _ := ts.Identify(context.Background(), "ofr_customer"); !ok {
			t.Error("the pasted token was revoked with the session")
		}
	})
	t.Run("NoCookie", func(t *testing.T) {
		ts := newTokens()
		h, err := ui.New(ts.config())
		if err != nil {
			t.Fatal(err)
		}
		res := serve(h, logout(""))
		if res.StatusCode != http.StatusSeeOther || len(ts.revoked) != 0 {
			t.Fatalf("logout without a cookie: %d, revoked %q; want 303 and nothing revoked", res.StatusCode, ts.revoked)
		}
		cleared(t, res)
	})
	t.Run("ErrEndSession", func(t *testing.T) {
		res := serve(MustNew(t), logout("ofr_stuck"))
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("logout with a failing revocation: %d, want 503", res.StatusCode)
		}
		cleared(t, res)
		if b := body(t, res); !strings.Contains(b, "could not end the session") || !strings.Contains(b, `action="/session"`) {
			t.Errorf("body lacks the failure on the sign-in page:\n%s", b)
		}
	})
}

func TestAssets(t *testing.T) {
	h := MustNew(t)
	res := serve(h, httptest.NewRequest("GET", "/assets/app.js", nil))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("app.js: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	etag := res.Header.Get("ETag")
	r := httptest.NewRequest("GET", "/assets/app.js", nil)
	r.Header.Set("If-None-Match", etag)
	if res := serve(h, r); etag == "" || res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d, want 304", etag, res.StatusCode)
	}
	for _, p := range []string{"/assets/nope.js", "/assets/signin.html", "/nope"} {
		if res := serve(h, httptest.NewRequest("GET", p, nil)); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	res = serve(h, httptest.NewRequest("GET", "/app", nil))
	if b := body(t, res); res.StatusCode != 200 || !strings.Contains(b, `src="/assets/app.js"`) {
		t.Errorf("GET /app: %d\n%s", res.StatusCode, b)
	}
}

// TestScripts_BuildNoMarkupFromData keeps the rule that data reaches the
// page only as text: none of the APIs that parse strings as HTML or code.
func TestScripts_BuildNoMarkupFromData(t *testing.T) {
	files, err := filepath.Glob("assets/*.js")
	if err != nil || len(files) < 4 {
		t.Fatalf("scripts: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(string(b), banned) {
				t.Errorf("%s uses %s", f, banned)
			}
		}
	}
}
