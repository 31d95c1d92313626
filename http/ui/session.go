package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// maxTokenLen bounds the token the UI accepts; issued tokens are far shorter.
const maxTokenLen = 512

// maxFormBytes bounds the sign-in form.
const maxFormBytes = 8 << 10

// uiRoles are the roles that have pages in the UI. Operators use the API
// (and the command line) only.
var uiRoles = map[domain.Role]bool{domain.RoleReseller: true, domain.RoleCustomer: true, domain.RoleAuditor: true}

// handleSignInPage shows the sign-in form, or sends a visitor who already
// holds a valid session on to the application.
func (h *Handler) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	if id, ok := h.session(r); ok && uiRoles[id.Role] {
		http.Redirect(w, r, "/app", http.StatusSeeOther)
		return
	}
	if h.rememberLang(w, r) {
		return
	}
	h.renderSignIn(w, r, http.StatusOK, "")
}

// handleSignIn checks the pasted token and, when it is good, starts a
// session: a token derived from it (same role and tenant) goes into the
// cookie, and the pasted token is kept nowhere. The API checks the session
// token, and the token it derives from, on every request, so signing out
// (which revokes the session), revoking it otherwise, revoking the pasted
// token or leaving the session unused past its idle timeout ends it, while
// signing out leaves the pasted token as valid as it was.
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderSignIn(w, r, http.StatusBadRequest, "signin.error.form")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		h.renderSignIn(w, r, http.StatusUnauthorized, "signin.error.empty")
		return
	}
	id, ok, err := h.lookup(r, token)
	switch {
	case err != nil:
		h.renderSignIn(w, r, http.StatusServiceUnavailable, "signin.error.lookup")
		return
	case !ok:
		h.renderSignIn(w, r, http.StatusUnauthorized, "signin.error.invalid")
		return
	case !uiRoles[id.Role]:
		h.renderSignIn(w, r, http.StatusForbidden, "signin.error.role", "role", id.Role)
		return
	}
	session, sid, ok, err := h.cfg.Sessions.Start(r.Context(), token)
	switch {
	case err != nil:
	case !ok:
		// Revoked or expired since the look-up.
		err = errors.New("start session: the token is not valid")
	case sid.Role != id.Role || sid.Tenant != id.Tenant:
		// The token changed hands between the look-up and the issue (it
		// was revoked and its hash can never be reissued, so this is a
		// bug of Start): sign nobody in with a mismatched identity.
		err = errors.New("session identity differs from the token's")
	}
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "ui: start session failed", "err", err)
		h.renderSignIn(w, r, http.StatusServiceUnavailable, "signin.error.start")
		return
	}
	http.SetCookie(w, h.sessionCookie(r, session, 0))
	http.Redirect(w, r, "/app", http.StatusSeeOther)
}

// handleSignOut revokes the cookie's session token and clears the cookie.
// The cookie is cleared even when the revocation fails, since this browser
// should be signed out either way; the failure is logged and shown, because
// a copy of the token would then still work.
func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.sessionCookie(r, "", -1))
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" && len(c.Value) <= maxTokenLen {
		if err := h.cfg.Sessions.End(r.Context(), c.Value); err != nil {
			h.cfg.Logger.ErrorContext(r.Context(), "ui: end session failed", "err", err)
			h.renderSignIn(w, r, http.StatusServiceUnavailable, "signin.error.signout")
			return
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleSession tells the page's script who is signed in, so that it can
// show the pages of that role. The cookie itself is HttpOnly: no script can
// read the token.
func (h *Handler) handleSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := h.session(r)
	if !ok {
		writeProblem(w, http.StatusUnauthorized, "unauthenticated", "Not signed in", "Sign in with an API token first.")
		return
	}
	// Role and tenant only: the pages need no more, and the subject names
	// the session token itself.
	writeJSON(w, http.StatusOK, struct {
		Role   domain.Role `json:"role"`
		Tenant string      `json:"tenant"`
	}{id.Role, id.Tenant})
}

// session returns the identity of the request's session cookie, if it holds
// a valid token. A failing lookup counts as no session: the visitor sees the
// sign-in page, which reports the failure when they try again.
func (h *Handler) session(r *http.Request) (domain.Actor, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return domain.Actor{}, false
	}
	id, ok, err := h.lookup(r, c.Value)
	if err != nil || !ok {
		return domain.Actor{}, false
	}
	return id, true
}

// lookup checks token through Sessions, refusing oversized
// tokens without a look-up and logging failures (never the token).
func (h *Handler) lookup(r *http.Request, token string) (domain.Actor, bool, error) {
	if len(token) > maxTokenLen {
		return domain.Actor{}, false, nil
	}
	id, ok, err := h.cfg.Sessions.Identify(r.Context(), token)
	if err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "ui: token lookup failed", "err", err)
		return domain.Actor{}, false, err
	}
	return id, ok, nil
}

// sessionCookie is the session cookie holding token: HttpOnly so that no
// script reads it, SameSite=Strict so that no other site's page sends it
// (which is what protects the API's writes from cross-site requests), Secure
// whenever the request came over TLS (or always, with Config.SecureCookie),
// for the whole site so that /v1 gets it. It lives as long as the browser
// session; maxAge -1 deletes it.
func (h *Handler) sessionCookie(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || h.cfg.SecureCookie,
		SameSite: http.SameSiteStrictMode,
	}
}

// renderSignIn writes the sign-in page with status and, unless msgKey is
// empty, the error message msgKey (with its placeholder args), in the
// request's language.
func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msgKey string, args ...any) {
	data := h.page(r)
	if msgKey != "" {
		msg, err := data.t.text(msgKey, args...)
		if err != nil {
			msg = msgKey
			h.cfg.Logger.Error("ui: sign-in message", "err", err)
		}
		data.Error = msg
	}
	h.render(w, h.signin, status, data)
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem writes an RFC 9457 problem in the API's shape, so that the
// page's script reads the UI's errors and the API's alike.
func writeProblem(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "https://offerflow.dev/problems/" + code, "title": title, "status": status, "detail": detail, "code": code,
	})
}
