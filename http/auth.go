package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// TokenPrefix starts every token the server issues, so that a leaked token
// is recognisable (secret scanners, logs) for what it is.
const TokenPrefix = "ofr_"

// tokenRandomBytes is how much randomness a token carries.
const tokenRandomBytes = 32

// maxTokenLen bounds what the server hashes from an Authorization header.
const maxTokenLen = 256

// SessionCookie is the web UI's cookie; it holds a token and is accepted on
// the same terms as the Authorization header.
const SessionCookie = "offerflow_session"

// NewToken returns a new random token (the prefix and 32 bytes from
// crypto/rand, base64url) and the hash under which it is recorded. The token
// itself is shown once and never stored.
func NewToken() (token, hash string) {
	b := make([]byte, tokenRandomBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it aborts the program instead
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the hex SHA-256 of token: the only form in which tokens
// are stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenLookup finds the holder of a token by the token's hash.
type TokenLookup interface {
	// LookupToken returns the actor of the token whose HashToken is hash:
	// its role, its tenant, and as subject the token's id. ok is false when
	// no such token was issued; err is reserved for failures of the lookup
	// itself.
	LookupToken(ctx context.Context, hash string) (actor domain.Actor, ok bool, err error)
}

// Identity is the authenticated caller of a request.
type Identity = domain.Actor

type identityKey struct{}

// IdentityFrom returns the caller that authenticated the request of ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

func withIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// bearerToken returns the token of the request: from the Authorization
// header, or else from the session cookie (fromCookie).
func bearerToken(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.TrimSpace(tok), false
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

// authenticate resolves the request's token to an identity, or answers 401.
// A browser sends the session cookie by itself, so a write authenticated by
// the cookie must also come from this site: besides the cookie's
// SameSite=Strict, cross-origin writes are refused (403) by their
// Sec-Fetch-Site or Origin header.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := bearerToken(r)
		id, err := s.cfg.Sessions.identify(r.Context(), token)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if fromCookie {
			if err := s.crossOrigin.Check(r); err != nil {
				s.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "a cross-origin request may not use the session cookie"))
				return
			}
		}
		if st := stateOf(r.Context()); st != nil {
			// For the log line, which is written outside this context.
			st.caller = &id
		}
		next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), id)))
	})
}

// StillAuthenticated reports whether the credential that authenticated r
// (its bearer token or session cookie) still authenticates: not revoked, neither it nor a token it derives from, and not expired.
// Long-lived responses (the event stream) call it now and then, since a
// request is authenticated only once, at its start. err is reserved for
// failures of the look-up itself.
func (s *Server) StillAuthenticated(ctx context.Context, r *http.Request) (bool, error) {
	token, _ := bearerToken(r)
	_, ok, err := s.cfg.Sessions.Identify(ctx, token)
	return ok, err
}

// allow answers 403 unless the caller has one of roles. It runs before the
// body is read, as the contract orders 403 before 413 and 400.
func (s *Server) allow(roles ...domain.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := IdentityFrom(r.Context())
			if !ok {
				s.Error(w, r, errUnauthenticated)
				return
			}
			if !slices.Contains(roles, id.Role) {
				s.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "the %s role may not call this endpoint", id.Role))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// identity returns the caller of an authenticated request. Routes that reach
// a handler have passed authenticate, so the zero value is never used for a
// decision.
func identity(r *http.Request) Identity {
	id, _ := IdentityFrom(r.Context())
	return id
}
