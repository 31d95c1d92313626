package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/eventstore/treehead"
	ofhttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/http/ui"
	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/projections"
	"github.com/offerflow/offerflow/projections/process"
)

// operatorToken is the operator token of every test server.
const operatorToken = "operator-token-for-the-tests-0123456789"

// The real implementations satisfy the interfaces the server declares.
var (
	_ ofhttp.Commands         = (*command.Service)(nil)
	_ ofhttp.TokenLookup      = (*command.Service)(nil)
	_ ofhttp.Queries          = (*projections.DB)(nil)
	_ ofhttp.History          = (*projections.DB)(nil)
	_ ofhttp.History          = (*eventlog.Log)(nil)
	_ ofhttp.Log              = (*eventlog.Log)(nil)
	_ ofhttp.IdempotencyStore = (*idempotency.Store)(nil)
	_ ofhttp.TreeHeads        = (*treehead.Service)(nil)
)

// TestServer is the whole program behind a real listener: a SQLite event
// store, the command service, the projections and the process managers
// (delivery with insecure webhooks allowed), all in files of a temporary
// directory.
type TestServer struct {
	*ofhttp.Server
	Store   *sqlite.Store // the log as stored
	Sealed  *seal.Store   // Store as everything but the tree heads uses it
	Service *command.Service
	Reads   *projections.DB
	Metrics *ofhttp.Metrics
	Log     *eventlog.Log
	Idem    *idempotency.Store
	// Sessions identifies tokens and starts and ends UI sessions, for the
	// API and the UI alike.
	Sessions *ofhttp.Sessions
	// Dir is the directory of the server's files.
	Dir  string
	spec *spec
}

// Options tune MustOpenServer.
type Options struct {
	WebhookAttempts int
	WebhookBackoff  time.Duration
	Heartbeat       time.Duration
	WaitTimeout     time.Duration
	// Processes runs the process managers (delivery, expiry, grant); on
	// by default.
	NoProcesses bool
	// LogTo, when set, receives the server's logs from level Info on.
	LogTo io.Writer
	// Now, when set, is the command side's clock (token expiry, offer
	// deadlines) and the API's (allowed_actions).
	Now func() time.Time
	// ProcessNow, when set, is the process managers' clock (what is due:
	// expiries, reminders, webhook retries); ExpiryInterval, when set, how
	// often they look (a test's clock moves without waking them);
	// ReminderBefore, when set, the reminder window.
	ProcessNow     func() time.Time
	ExpiryInterval time.Duration
	ReminderBefore time.Duration
	// IdempotencySecret, when set, keys the kept Idempotency-Key responses.
	IdempotencySecret []byte
	// Configure, when set, adjusts the server's configuration last (limits,
	// timeouts).
	Configure func(*ofhttp.Config)
	// PastMaxEvents bounds the events one ?as_of= query may replay
	// (projections.PastConfig.MaxEvents; 0: its default).
	PastMaxEvents uint64
}

// MustOpenServer starts a TestServer and stops it when the test ends.
func MustOpenServer(tb testing.TB, opts ...func(*Options)) *TestServer {
	tb.Helper()
	o := Options{WebhookAttempts: 3, WebhookBackoff: 20 * time.Millisecond, Heartbeat: 15 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir := tb.TempDir()
	// Registered first, so it runs last: goroutines that log after the
	// test must not reach its log.
	tw := &testWriter{tb: tb}
	tb.Cleanup(func() {
		tw.mu.Lock()
		defer tw.mu.Unlock()
		tw.done = true
	})
	var closers []func() error
	tb.Cleanup(func() {
		cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](); err != nil {
				tb.Errorf("closing the test server: %v", err)
			}
		}
	})
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}

	raw, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	must(err)
	keys, err := seal.OpenKeys(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		_ = raw.Close()
		tb.Fatal(err)
	}
	// Everything but the tree heads works through the sealing store, as
	// in serve.
	store := seal.New(raw, keys)
	closers = append(closers, store.Close)
	reads, err := projections.OpenDB(ctx, filepath.Join(dir, "read.db"))
	must(err)
	closers = append(closers, reads.Close)
	procDB, err := process.OpenDB(filepath.Join(dir, "processes.db"))
	must(err)
	closers = append(closers, procDB.Close)
	idem, err := idempotency.Open(ctx, filepath.Join(dir, "idempotency.db"), idempotency.Config{})
	must(err)
	closers = append(closers, idem.Close)

	metrics := ofhttp.NewMetrics(nil)
	logger := slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srvLogger := logger
	if o.LogTo != nil {
		srvLogger = slog.New(slog.NewJSONHandler(o.LogTo, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	svc := command.NewService(command.NewHandler(store, command.Config{OnConflict: metrics.AppendConflicts.Inc, Logger: logger, Now: o.Now})).WithKeys(keys)

	proj, err := projections.New(reads, store, projections.Config{Logger: logger})
	must(err)
	closers = append(closers, proj.Close)
	must(proj.Start(ctx))
	if !o.NoProcesses {
		procs, err := process.NewProcesses(ctx, process.ProcessDeps{Service: svc, Store: store, DB: procDB, Logger: logger},
			process.ProcessConfig{AllowInsecure: true, WebhookAttempts: o.WebhookAttempts, WebhookBackoff: o.WebhookBackoff,
				OnWebhookAttempt: metrics.WebhookAttempt, OnDelivery: metrics.Delivery,
				OnExpired: metrics.OfferExpired, OnPoisoned: metrics.MessagePoisoned,
				Now: o.ProcessNow, ExpiryInterval: o.ExpiryInterval, ReminderBefore: o.ReminderBefore})
		must(err)
		closers = append(closers, procs.Close)
		go func() { _ = procs.Run(ctx) }()
		select {
		case <-procs.Running():
		case <-time.After(10 * time.Second):
			tb.Fatal("process managers did not start")
		}
	}

	go func() { _ = svc.FollowTokens(ctx, 50*time.Millisecond) }()
	log := eventlog.New(store)
	// The API and the UI identify tokens and start sessions through one
	// Sessions, made before both.
	sessions, err := ofhttp.NewSessions(ofhttp.SessionsConfig{Tokens: svc, Commands: svc, OperatorToken: operatorToken})
	must(err)
	webUI, err := ui.New(ui.Config{Logger: logger, Sessions: sessions})
	must(err)
	treeKey, err := treehead.LoadOrCreateKey(filepath.Join(dir, "treehead.key"))
	must(err)
	trees, err := treehead.New(ctx, treehead.Config{Store: raw, Key: treeKey, Witness: filepath.Join(dir, "merkle.witness"), Logger: logger}, nil)
	must(err)
	closers = append(closers, trees.Close)
	past, err := projections.NewPast(store, filepath.Join(dir, "asof"), projections.PastConfig{MaxEvents: o.PastMaxEvents, Generation: store.Keys().Generation})
	must(err)
	store.Keys().OnForget(func() {
		if err := past.Expire(); err != nil {
			tb.Errorf("expire past read models: %v", err)
		}
	})
	closers = append(closers, past.Close)
	cfg := ofhttp.Config{
		Past:                  ofhttp.PastFrom[*projections.DB](past),
		Addr:                  "127.0.0.1:0",
		Commands:              svc,
		Queries:               reads,
		History:               log,
		Log:                   log,
		TreeHeads:             trees,
		Sessions:              sessions,
		Idempotency:           idem,
		IdempotencySecret:     o.IdempotencySecret,
		AllowInsecureWebhooks: true,
		Projectors:            reads.Positions,
		Metrics:               metrics,
		Logger:                srvLogger,
		Heartbeat:             o.Heartbeat,
		WaitTimeout:           o.WaitTimeout,
		Now:                   o.Now,
		UI:                    webUI,
		ChartText:             webUI.Text,
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	srv, err := ofhttp.NewServer(cfg)
	must(err)
	must(srv.Open())
	closers = append(closers, func() error {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		return srv.Shutdown(sctx)
	})
	return &TestServer{Server: srv, Store: raw, Sealed: store, Service: svc, Reads: reads, Metrics: metrics, Log: log, Idem: idem, Sessions: sessions, Dir: dir, spec: mustSpec(tb)}
}

// testWriter sends log lines to the test log while the test runs.
type testWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

// Head returns the position of the last event in the log.
func (ts *TestServer) Head(tb testing.TB) uint64 {
	tb.Helper()
	h, err := ts.Store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// Wrote returns the events after position after that the request of r
// wrote (their correlation id is its request id).
func (ts *TestServer) Wrote(tb testing.TB, after uint64, r Response) []string {
	tb.Helper()
	evs, err := ts.Store.ReadAll(context.Background(), after, 10_000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Metadata.CorrelationID == r.RequestID {
			out = append(out, e.Type)
		}
	}
	return out
}

var requestCounter atomic.Uint64

// newRequestID returns a request id no other request of the test binary
// has.
func newRequestID() string {
	return fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), requestCounter.Add(1))
}

// Client calls the test server with one token ("" for none).
type Client struct {
	ts    *TestServer
	Token string
}

// As returns a client that authenticates with token.
func (ts *TestServer) As(token string) Client { return Client{ts: ts, Token: token} }

// Operator returns the operator's client.
func (ts *TestServer) Operator() Client { return ts.As(operatorToken) }

// Response is a response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// RequestID is the X-Request-ID the request was sent with: the
	// correlation id of every event it wrote.
	RequestID string
}

// Decode decodes the JSON body into v.
func (r Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Map returns the JSON body as a map.
func (r Response) Map(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.Decode(tb, &m)
	return m
}

// Code returns the problem code of an error response.
func (r Response) Code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// Do sends a request and checks the response against the OpenAPI document.
// body is nil (no body), a string or []byte (sent as is), or a value sent as
// JSON; header holds name, value pairs.
func (c Client) Do(tb testing.TB, method, path string, body any, header ...string) Response {
	tb.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			tb.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.ts.URL()+path, bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("X-Request-ID", newRequestID())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: b, RequestID: req.Header.Get("X-Request-ID")}
	c.ts.spec.check(tb, req, r)
	return r
}

// Must sends a request and fails the test unless the status is want.
func (c Client) Must(tb testing.TB, want int, method, path string, body any, header ...string) Response {
	tb.Helper()
	r := c.Do(tb, method, path, body, header...)
	if r.Status != want {
		tb.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// Eventually retries f until it returns true or the time is up.
func Eventually(tb testing.TB, timeout time.Duration, what string, f func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Settle waits until the background processes have stopped writing (the
// head has not moved for a while) and the read models have caught up.
func (ts *TestServer) Settle(tb testing.TB) {
	tb.Helper()
	last, since := ts.Head(tb), time.Now()
	Eventually(tb, 10*time.Second, "the log to settle", func() bool {
		if h := ts.Head(tb); h != last {
			last, since = h, time.Now()
		}
		return time.Since(since) > 300*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Reads.WaitFor(ctx, last); err != nil {
		tb.Fatal(err)
	}
}
