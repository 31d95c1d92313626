// Package http is offerflow's HTTP API: it authenticates the caller, decodes
// and checks the request, calls a command or a query, and encodes the
// answer. It holds no business rule and touches no storage: the write side
// arrives as Commands, the read side as Queries, the log as Log and History,
// and everything else through the small interfaces declared beside them.
//
// The package is named http and imports net/http as is; callers that need
// both import this one under another name.
package http

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Config holds the server's dependencies and settings. Commands, Queries,
// History, Log, Sessions and Idempotency are required.
type Config struct {
	// Addr is where Open listens, "127.0.0.1:8080" by default; ":0" picks a
	// free port (see Server.Addr).
	Addr string

	Commands Commands
	Queries  Queries
	History  History
	Log      Log
	// Sessions tells who holds a token (bearer, session cookie, operator);
	// the web UI signs in through the same one (ui.Config.Sessions).
	Sessions    *Sessions
	Idempotency IdempotencyStore
	// IdempotencySecret keys the responses kept for Idempotency-Key (at
	// least 32 bytes; cmd keeps it in the data directory): without it the
	// idempotency store can be neither searched nor opened. Empty: a
	// random one for this process, so replays do not outlive it.
	IdempotencySecret []byte

	// Past answers ?as_of= on the offer list, the inbox and a customer's
	// page from the read models replayed up to that point of the log; nil
	// answers as_of 422.
	Past PastQueries

	// TreeHeads is the Merkle tree over the log with its signed heads
	// (/v1/audit/head, /v1/audit/key, /v1/audit/consistency,
	// /v1/offers/{id}/proof); nil answers those 404.
	TreeHeads TreeHeads

	// AllowInsecureWebhooks lets customers set http and private-address
	// webhooks (tests and development only).
	AllowInsecureWebhooks bool

	// ChartText returns the text of a message key in a language ("en",
	// "de") for the dashboard's charts (the web UI's catalogues, see
	// ui.Handler.Text); nil writes the keys themselves.
	ChartText func(lang, key string) string

	// UI is the web UI (package http/ui), served at /, /app, /session and
	// /assets/; nil serves no UI.
	UI http.Handler

	// Ready reports whether the server may take traffic (/readyz); nil means
	// always ready.
	Ready func(ctx context.Context) error

	// ParkedEvents counts the events the read models parked (see
	// projections.DB.ParkedCount); more than none makes a ready /readyz
	// answer "degraded" with the count. nil leaves it out.
	ParkedEvents func(ctx context.Context) (int, error)

	// Projectors returns each projector's checkpoint (log position) by name,
	// for the metrics; nil leaves the projector gauges out.
	Projectors func(ctx context.Context) map[string]uint64

	// Metrics collects the server's Prometheus metrics and serves /metrics;
	// nil creates one with its own registry.
	Metrics *Metrics

	// Logger receives one line per request; never a token.
	Logger *slog.Logger

	// WaitTimeout bounds how long a query waits for min_position (5 s).
	WaitTimeout time.Duration
	// Heartbeat is the interval of comment lines on /v1/stream (15 s).
	Heartbeat time.Duration
	// StreamRecheck is how often an open /v1/stream checks that its token
	// still authenticates (15 s): a revoked or expired token's stream ends
	// within that time.
	StreamRecheck time.Duration
	// Limits bound the requests of one token and one client address; the
	// zero value limits nothing (serve starts with DefaultLimits).
	Limits Limits

	// MaxCommandsInFlight bounds the commands (POST, PUT, PATCH and DELETE
	// of /v1) in progress at once on this server; one more is answered 503
	// unavailable with Retry-After and writes nothing. Queries are never
	// counted nor refused. 0: no bound (serve starts with
	// DefaultMaxCommandsInFlight).
	MaxCommandsInFlight int

	// BodyTimeout bounds how long a request's body may take to arrive (30 s);
	// a request whose body is late is answered 408 request_timeout and its
	// connection closed.
	BodyTimeout time.Duration
	// ReadHeaderTimeout bounds how long a request's headers may take to
	// arrive (10 s); IdleTimeout how long a kept-alive connection waits for
	// its next request (2 min).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// NewID returns new unique ids (token ids, request ids); UUIDv7 by default.
	NewID func() string
	// Now is the clock of what responses say about the present: the
	// allowed_actions of an offer depend on whether its deadline has
	// passed (time.Now by default; tests set the command side's clock).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.WaitTimeout <= 0 {
		c.WaitTimeout = 5 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.StreamRecheck <= 0 {
		c.StreamRecheck = 15 * time.Second
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = 30 * time.Second
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if len(c.IdempotencySecret) == 0 {
		c.IdempotencySecret = make([]byte, 32)
		_, _ = rand.Read(c.IdempotencySecret) // crypto/rand.Read never fails (Go 1.24+)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
}

// Validate reports the first missing dependency.
func (c *Config) Validate() error {
	switch {
	case c.Commands == nil:
		return errors.New("http config: Commands is required")
	case c.Queries == nil:
		return errors.New("http config: Queries is required")
	case c.History == nil:
		return errors.New("http config: History is required")
	case c.Log == nil:
		return errors.New("http config: Log is required")
	case c.Sessions == nil:
		return errors.New("http config: Sessions is required")
	case c.Idempotency == nil:
		return errors.New("http config: Idempotency is required")
	case len(c.IdempotencySecret) < 32:
		return errors.New("http config: IdempotencySecret must be at least 32 bytes")
	}
	return nil
}

// DefaultMaxCommandsInFlight is the bound serve starts with. It is above
// what a server that keeps up holds (its rate times a command's latency:
// 2,000 offers a second at 40 ms is 80) and far below what one that has
// fallen behind would: without it, offerflow bench's 256 connections at
// 5,000 offers a second kept 256 commands waiting on two cores, answered
// after their clients had given up, at 15-30 s.
const DefaultMaxCommandsInFlight = 128

// maxHeaderBytes bounds a request's headers: a token, a cookie and a few
// short values need far less than net/http's default of 1 MB.
const maxHeaderBytes = 64 << 10

// DefaultSessionIdle is how long a web UI session lasts unused.
const DefaultSessionIdle = 12 * time.Hour

// Server is the HTTP API.
type Server struct {
	cfg         Config
	logger      *slog.Logger
	metrics     *Metrics
	handler     http.Handler
	hub         *hub
	limiter     *limiter
	gate        *commandGate
	crossOrigin *http.CrossOriginProtection

	// ctx ends when the server shuts down; long-lived responses (the event
	// stream) end with it so that shutdown does not wait for them.
	ctx    context.Context
	cancel context.CancelFunc

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

// NewServer returns a server over cfg's dependencies, or an error when one is
// missing.
func NewServer(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, logger: cfg.Logger, metrics: cfg.Metrics, ctx: ctx, cancel: cancel,
		crossOrigin: http.NewCrossOriginProtection()}
	s.metrics.SetLogSources(cfg.Log.Head, cfg.Projectors)
	if cfg.ParkedEvents != nil {
		s.metrics.SetParkedSource(cfg.ParkedEvents)
	}
	s.hub = newHub(cfg.Log, s.logger)
	s.limiter = newLimiter(cfg.Limits, s.metrics.rateLimited)
	s.gate = &commandGate{max: int64(cfg.MaxCommandsInFlight)}
	s.metrics.setCommandsInFlight(s.gate.inFlight.Load)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's handler: every route of the API, operations
// endpoints included.
func (s *Server) Handler() http.Handler { return s.handler }

// Open starts listening on the configured address and serving in the
// background. It returns once the listener is open.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	// No ReadTimeout or WriteTimeout: they would cut the event stream. The
	// body has its own deadline (bodyDeadline), the headers this one.
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	capped := newCapListener(ln, s.cfg.Limits.ConnectionsPerAddress, func() { s.metrics.rateLimited("connections") })
	go func() {
		if err := srv.Serve(capped); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on, once Open has returned.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns the base URL of the listening server.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Shutdown stops accepting connections, ends the event streams, and waits
// until every request in flight has been answered (so no command that was
// acknowledged is lost) or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Close ends the event streams without waiting for requests in flight; use
// it for a server that was never opened (tests over Handler).
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		return srv.Close()
	}
	return nil
}
