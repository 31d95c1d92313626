// Package ui is offerflow's web UI: a sign-in page that turns a pasted API
// token into a session cookie holding a session token of its own, and one
// page (/app) whose script calls the JSON API under /v1 with that cookie and
// shows the reseller's or the customer's pages.
//
// The package serves only HTML, CSS and JavaScript of its own, embedded in
// the binary, plus three small session endpoints. It holds no business rule
// and reads no data: everything the pages show comes from the API, which
// checks the cookie on the same terms as a bearer token. The package does
// not import the API's package, so that the API's router can mount it; of
// ours it imports only domain, for the one actor type (domain.Actor).
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// CookieName is the session cookie. The API accepts it on the same terms
// as `Authorization: Bearer` (package http's SessionCookie has this value).
const CookieName = "offerflow_session"

// Sessions is the API's token look-up and session issuer, which the UI
// signs in through (package http's Sessions satisfies it). The UI receives
// it built, as the API does, so neither needs the other to exist first.
type Sessions interface {
	// Identify resolves an API token to the actor it carries. ok is false
	// for a token that was never issued; err is reserved for failures of
	// the lookup itself (the store could not be read), so that the sign-in
	// page does not call a good token bad while the database is unwell.
	Identify(ctx context.Context, token string) (id domain.Actor, ok bool, err error)
	// Start begins a sign-in with token: it issues a new token of the same
	// role and tenant, recorded in the name of token's holder, and returns
	// it with the actor it carries (ok false: token does not authenticate
	// any more). The session cookie holds that session token, never the
	// pasted one, so that signing out can revoke it without touching the
	// token the user pasted.
	Start(ctx context.Context, token string) (session string, id domain.Actor, ok bool, err error)
	// End ends a sign-in by revoking its session token. A session that
	// already ended (its token revoked, or never issued) is no error; err
	// reports that a token which still authenticates could not be revoked.
	End(ctx context.Context, session string) error
}

// Config holds the UI's dependencies. Sessions is required.
type Config struct {
	// Sessions checks tokens at sign-in and on GET /session, issues the
	// session token of a sign-in and revokes it at sign-out.
	Sessions Sessions
	// Logger receives failures of Sessions' calls; nil discards them.
	Logger *slog.Logger
	// SecureCookie marks the session cookie Secure on every response, not
	// only on requests that arrived over TLS: set it when a proxy in front
	// terminates TLS, since the request then reaches the server in plain
	// http.
	SecureCookie bool
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first missing dependency.
func (c *Config) Validate() error {
	if c.Sessions == nil {
		return errors.New("ui config: Sessions is required")
	}
	return nil
}

//go:embed assets
var assetFS embed.FS

// Handler serves the web UI. Mount it at the root of the site, beside the
// API under /v1:
//
//	GET  /                 the sign-in page (or a redirect to /app when signed in)
//	POST /session          sign in: form field "token"; sets the cookie to a new session token, 303 to /app
//	POST /session/logout   sign out: revokes the session token, clears the cookie, 303 to /
//	GET  /session          {"role","tenant"} of the cookie's token, or 401 problem+json
//	GET  /app              the application page
//	GET  /assets/...       its CSS and JavaScript
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	signin *template.Template
	app    *template.Template
	assets map[string]asset
	// catalogs are the message catalogues by language ("en", "de").
	catalogs map[string]catalog
}

// asset is one embedded file with the validator that lets browsers keep it.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New returns the UI over cfg, or an error when a dependency is missing.
func New(cfg Config) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, assets: map[string]asset{}}
	var err error
	if h.signin, err = template.ParseFS(assetFS, "assets/signin.html"); err != nil {
		return nil, fmt.Errorf("ui: parse sign-in page: %w", err)
	}
	if h.app, err = template.ParseFS(assetFS, "assets/app.html"); err != nil {
		return nil, fmt.Errorf("ui: parse app page: %w", err)
	}
	if h.catalogs, err = loadCatalogs(); err != nil {
		return nil, err
	}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}
	h.mux = h.routes()
	return h, nil
}

// loadAssets reads the CSS and JavaScript once, with a content hash as
// ETag: the embedded files carry no modification time, and the hash lets a
// browser revalidate cheaply while never running a stale script.
func (h *Handler) loadAssets() error {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".json": "application/json"}
	return fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := types[path.Ext(p)]
		if !ok {
			return nil // the HTML pages are served by their own routes
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("ui: read %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		h.assets[strings.TrimPrefix(p, "assets/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
}

// routes registers every route of the UI in one place.
func (h *Handler) routes() *http.ServeMux {
	// Sign-in and sign-out are form posts: refuse them from other sites
	// (login CSRF would sign a victim in as the attacker). The API's own
	// writes are protected by the SameSite=Strict cookie instead.
	cop := http.NewCrossOriginProtection()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.handleSignInPage)
	mux.Handle("POST /session", cop.Handler(http.HandlerFunc(h.handleSignIn)))
	mux.Handle("POST /session/logout", cop.Handler(http.HandlerFunc(h.handleSignOut)))
	mux.HandleFunc("GET /session", h.handleSession)
	mux.HandleFunc("GET /app", h.handleApp)
	mux.HandleFunc("GET /assets/{name}", h.handleAsset)
	mux.HandleFunc("/", h.handleNotFound)
	return mux
}

// ServeHTTP serves the UI's routes, each with headers that keep the pages
// from being framed, sniffed, cached with a session in them, or made to run
// anything but their own script.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "+
		"img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

// handleApp serves the application page. It is the same for every visitor:
// the script asks GET /session who is signed in, and goes back to the
// sign-in page when nobody is. (A SameSite=Strict cookie is not sent when
// another site links here, so the server could not tell at this point.)
//
// The page comes in the request's language (see lang); its script reads
// the language from <html lang> and fetches the same catalogue.
func (h *Handler) handleApp(w http.ResponseWriter, r *http.Request) {
	if h.rememberLang(w, r) {
		return
	}
	h.render(w, h.app, http.StatusOK, h.page(r))
}

// page is the data of a server-rendered page for r.
func (h *Handler) page(r *http.Request) pageData {
	l := h.lang(r)
	return pageData{Lang: l, t: h.catalogs[l]}
}

// render writes a page template with status; a template that fails (a
// missing message) is a 500, never a half page.
func (h *Handler) render(w http.ResponseWriter, tmpl *template.Template, status int, data pageData) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		h.cfg.Logger.Error("ui: render page", "page", tmpl.Name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Language", data.Lang)
	// The page depends on these; a shared cache must not mix languages.
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// handleAsset serves an embedded stylesheet or script.
func (h *Handler) handleAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		h.handleNotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.body)
}

// handleNotFound answers every path the UI does not know.
func (h *Handler) handleNotFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 page not found\n"))
}
