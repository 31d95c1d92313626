package http

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"
)

// Limits bound what one token and one client address may ask of the server.
// A zero field switches that limit off; the zero value limits nothing.
// DefaultLimits are what `serve` starts with.
type Limits struct {
	// TokenRate is how many requests one token may make per second.
	TokenRate int
	// AddressRate is how many requests one client address may make per
	// second. Behind a reverse proxy every client has the proxy's address.
	AddressRate int
	// AuthFailures is how many requests with a credential (a token, a
	// session cookie, a sign-in) one address may have refused 401 per
	// minute; beyond that its requests with a credential are 429 until the
	// minute is over, right guesses included, so that guessing stays slow.
	AuthFailures int
	// StreamsPerToken caps the open /v1/stream connections of one token.
	StreamsPerToken int
	// ConnectionsPerAddress caps the open connections of one client
	// address; one more is closed as soon as it is accepted.
	ConnectionsPerAddress int
}

// DefaultLimits leave room for a benchmark of 5,000 offers a second from a
// few tokens on one machine while stopping a runaway client and token
// guessing.
var DefaultLimits = Limits{TokenRate: 2000, AddressRate: 10000, AuthFailures: 20, StreamsPerToken: 8, ConnectionsPerAddress: 1000}

// authFailureWindow is the window of Limits.AuthFailures.
const authFailureWindow = time.Minute

// streamRetryAfter is the Retry-After of a stream refused for the cap: a
// slot frees only when another of the token's streams ends.
const streamRetryAfter = 10 * time.Second

// limiter holds the counters of the Limits. Counting is in memory, per node.
type limiter struct {
	limits   Limits
	token    *httprate.RateLimiter // nil when off
	address  *httprate.RateLimiter
	failures *httprate.RateLimiter
	// counted is told which limit refused a request (metrics).
	counted func(limit string)

	mu      sync.Mutex
	streams map[string]int
}

func newLimiter(l Limits, counted func(string)) *limiter {
	lim := &limiter{limits: l, counted: counted, streams: map[string]int{}}
	// The problem answers Retry-After itself; X-RateLimit-* headers on
	// every answer are left out.
	quiet := httprate.WithResponseHeaders(httprate.ResponseHeaders{})
	if l.TokenRate > 0 {
		lim.token = httprate.NewRateLimiter(l.TokenRate, time.Second, quiet)
	}
	if l.AddressRate > 0 {
		lim.address = httprate.NewRateLimiter(l.AddressRate, time.Second, quiet)
	}
	if l.AuthFailures > 0 {
		lim.failures = httprate.NewRateLimiter(l.AuthFailures, authFailureWindow, quiet)
	}
	return lim
}

// clientAddress is the rate-limit key of the request's peer.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return canonicalIP(host)
}

// canonicalIP is the rate-limit key of an IP address: itself, an IPv6
// address by its /64, which one client usually holds whole.
func canonicalIP(host string) string { return httprate.CanonicalizeIP(host) }

// presentsCredential reports whether r tries to authenticate: a wrong guess
// of it counts against Limits.AuthFailures.
func presentsCredential(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	if _, err := r.Cookie(SessionCookie); err == nil {
		return true
	}
	return r.Method == http.MethodPost && r.URL.Path == "/session"
}

// refuse answers 429 rate_limited, writing nothing else.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, limit string, retryAfter time.Duration, format string, args ...any) {
	s.limiter.counted(limit)
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	s.Error(w, r, errorf(ERATELIMITED, format, args...))
}

// limitAddress applies the per-address limits: the request rate, and the
// failed authentications (counted from the answers, 401 on a request that
// presented a credential, whoever gave them: the API or the web UI).
func (s *Server) limitAddress(next http.Handler) http.Handler {
	l := s.limiter
	if l.address == nil && l.failures == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddress(r)
		credential := presentsCredential(r)
		if l.failures != nil && credential {
			if _, rate, err := l.failures.Status(addr); err == nil && rate >= float64(l.limits.AuthFailures) {
				s.refuse(w, r, "auth_failures", authFailureWindow, "too many failed authentications from this address")
				return
			}
		}
		if l.address != nil && l.address.OnLimit(w, r, addr) {
			s.refuse(w, r, "address", time.Second, "too many requests from this address")
			return
		}
		if l.failures == nil || !credential {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			l.failures.OnLimit(w, r, addr)
		}
	})
}

// limitToken applies the per-token request rate; it runs after
// authentication.
func (s *Server) limitToken(next http.Handler) http.Handler {
	l := s.limiter
	if l.token == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.token.OnLimit(w, r, tokenKey(identity(r))) {
			s.refuse(w, r, "token", time.Second, "too many requests with this token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tokenKey names the token of an identity for the limits.
func tokenKey(id Identity) string {
	return string(id.Role) + "\x00" + id.Tenant + "\x00" + id.Subject
}

// openStream takes one of the token's stream slots; release gives it back.
// ok is false when the token holds all of them.
func (l *limiter) openStream(id Identity) (release func(), ok bool) {
	if l.limits.StreamsPerToken <= 0 {
		return func() {}, true
	}
	key := tokenKey(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[key] >= l.limits.StreamsPerToken {
		return nil, false
	}
	l.streams[key]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.streams[key]--; l.streams[key] <= 0 {
			delete(l.streams, key)
		}
	}, true
}

// acquireStream takes a stream slot for the caller of r or answers 429.
func (s *Server) acquireStream(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	id := identity(r)
	release, ok = s.limiter.openStream(id)
	if !ok {
		s.refuse(w, r, "streams", streamRetryAfter, "this token has %d streams open already", s.limiter.limits.StreamsPerToken)
	}
	return release, ok
}
