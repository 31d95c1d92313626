package process_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/projections/process"
)

// processClock is a clock the test moves by hand.
type processClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *processClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *processClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// processEnv is a real SQLite event store and read-model database in a
// temporary directory, with one reseller, one template of one item, and one
// customer.
type processEnv struct {
	store    *sqlite.Store
	svc      *command.Service
	db       *sql.DB
	now      func() time.Time
	reseller domain.Actor
	customer domain.Actor
	template domain.TemplateID
	log      *slog.Logger
}

// newProcessEnv builds the environment; now is the clock of the command
// side (nil: the real one). wrap, when given, wraps the store the command
// side (and so the process managers) writes and reads through.
func newProcessEnv(t testing.TB, now func() time.Time, wrap ...func(eventstore.Store) eventstore.Store) *processEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	// One connection, as the read-model database's writer has: a handler
	// that held a connection while asking for another would hang here.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "read.db")+"?_busy_timeout=5000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	var writes eventstore.Store = store
	for _, w := range wrap {
		writes = w(writes)
	}
	svc := command.NewService(command.NewHandler(writes, command.Config{Now: now}))
	e := &processEnv{store: store, svc: svc, db: db, now: now,
		log: slog.New(slog.NewTextHandler(processTestWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))}

	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "op"}}
	r, _, err := svc.RegisterReseller(ctx, op, "Reseller One")
	if err != nil {
		t.Fatal(err)
	}
	e.reseller = domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "reseller-user"}
	rm := command.Meta{Actor: e.reseller}
	p, _, err := svc.AddProduct(ctx, rm, "Module A", domain.KindModule, []int{12, 24})
	if err != nil {
		t.Fatal(err)
	}
	tpl, _, err := svc.CreateTemplate(ctx, rm, "Basic")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.AddTemplateItem(ctx, rm, tpl.ID(), p.ID(), 12, domain.ModeAbsolute, nil); err != nil {
		t.Fatal(err)
	}
	e.template = tpl.ID()
	c, _, err := svc.RegisterCustomer(ctx, rm, "Customer One", "")
	if err != nil {
		t.Fatal(err)
	}
	e.customer = domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID()), Subject: "customer-admin"}
	return e
}

// processTestWriter sends log lines to the test's log.
type processTestWriter struct{ t testing.TB }

func (w processTestWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// start runs the process managers until the test ends.
func (e *processEnv) start(t testing.TB, cfg process.ProcessConfig) *process.Processes {
	t.Helper()
	p, _ := e.startStoppable(t, cfg)
	return p
}

// startStoppable runs the process managers until stop is called or the
// test ends.
func (e *processEnv) startStoppable(t testing.TB, cfg process.ProcessConfig) (p *process.Processes, stop func()) {
	t.Helper()
	var err error
	p, err = process.NewProcesses(context.Background(), process.ProcessDeps{Service: e.svc, DB: e.db, Logger: e.log}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(context.Background()) }()
	select {
	case <-p.Running():
	case err := <-errc:
		t.Fatalf("processes stopped at start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("processes did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := p.Close(); err != nil {
				t.Errorf("close processes: %v", err)
			}
			if err := <-errc; err != nil {
				t.Errorf("run processes: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// checkpoint returns the position a consumer group has acked in topic offer.
func (e *processEnv) checkpoint(t testing.TB, group string) uint64 {
	t.Helper()
	var pos uint64
	err := e.db.QueryRow(`SELECT position FROM pubsub_checkpoints WHERE consumer_group = ? AND topic = 'offer'`, group).Scan(&pos)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return pos
}

// resetCheckpoint makes a consumer group start over from the beginning of
// the log, as after a lost read-model database.
func (e *processEnv) resetCheckpoint(t testing.TB, group string) {
	t.Helper()
	if _, err := e.db.Exec(`DELETE FROM pubsub_checkpoints WHERE consumer_group = ?`, group); err != nil {
		t.Fatal(err)
	}
}

// deliverAndAccept waits for the offer's delivery and accepts it as the
// customer.
func (e *processEnv) deliverAndAccept(t testing.TB, id domain.OfferID) {
	t.Helper()
	e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)
	if _, _, err := e.svc.AcceptOffer(context.Background(), command.Meta{Actor: e.customer}, id); err != nil {
		t.Fatal(err)
	}
}

// setWebhook sets the customer's webhook and returns its secret.
func (e *processEnv) setWebhook(t testing.TB, url string) string {
	t.Helper()
	c, _, err := e.svc.SetWebhook(context.Background(), command.Meta{Actor: e.customer}, url, true)
	if err != nil {
		t.Fatal(err)
	}
	_, secret := c.Webhook()
	return secret
}

// createOffer sends the template to the customer.
func (e *processEnv) createOffer(t testing.TB, expiresAt *time.Time) domain.OfferID {
	t.Helper()
	o, _, err := e.svc.CreateOffer(context.Background(), command.Meta{Actor: e.reseller},
		domain.CustomerID(e.customer.Tenant), e.template, "Hello from your reseller", expiresAt)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID()
}

func (e *processEnv) offer(t testing.TB, id domain.OfferID) domain.OfferView {
	t.Helper()
	o, _, err := e.svc.Offer(context.Background(), domain.SystemActor("test"), id, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return o.View()
}

// events returns the events of stream.
func (e *processEnv) events(t testing.TB, stream string) []eventstore.Event {
	t.Helper()
	evs, err := eventstore.ReadStreamAll(context.Background(), e.store, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// ofType returns the events of stream with type typ.
func (e *processEnv) ofType(t testing.TB, stream, typ string) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for _, ev := range e.events(t, stream) {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// waitStatus waits until the offer has status want.
func (e *processEnv) waitStatus(t testing.TB, id domain.OfferID, want domain.OfferStatus, within time.Duration) domain.OfferView {
	t.Helper()
	var v domain.OfferView
	processWait(t, within, func() bool {
		// Not found is "not yet": a campaign's offers are made by the
		// campaign process once it runs.
		o, _, err := e.svc.Offer(context.Background(), domain.SystemActor("test"), id, 0, time.Time{})
		if errors.Is(err, domain.ErrOfferNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		v = o.View()
		return v.Status == want
	}, "offer "+string(id)+" to become "+string(want))
	return v
}

// eventually bounds waits for what must happen with no time the contract
// sets: generous, since the -race suite on a loaded 2-core machine runs far
// slower than the code, and a wait that holds returns at once anyway.
const eventually = 30 * time.Second

// waitIdle waits until no delivery job is pending.
func (e *processEnv) waitIdle(t testing.TB, p *process.Processes) {
	t.Helper()
	processWait(t, eventually, func() bool {
		jobs, err := p.Delivery().Jobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return jobs["pending"] == 0
	}, "the delivery queue to drain")
}

// processWait polls cond until it holds or within passes.
func processWait(t testing.TB, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hookCall is one request a test webhook received.
type hookCall struct {
	id, timestamp, signature string
	body                     []byte
	verified                 bool      // the signature checked out against the secret
	at                       time.Time // when the request arrived
}

// hookServer is a customer's webhook endpoint: it answers with status(n)
// to its n-th call (from 1) and checks every signature on its own,
// following the Standard Webhooks rules rather than the code under test.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	calls  []hookCall
	status func(n int) int
	onCall func(n int)
}

func newHookServer(t testing.TB, status func(n int) int) *hookServer {
	h := &hookServer{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	c := hookCall{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
		signature: r.Header.Get("webhook-signature"), body: body, at: at}
	h.mu.Lock()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.secret, "whsec_"))
	if err == nil && strings.HasPrefix(h.secret, "whsec_") {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(c.id + "." + c.timestamp + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		c.verified = hmac.Equal([]byte(want), []byte(c.signature))
	}
	h.calls = append(h.calls, c)
	n := len(h.calls)
	status, onCall := h.status, h.onCall
	h.mu.Unlock()
	if onCall != nil {
		onCall(n)
	}
	w.WriteHeader(status(n))
}

func (h *hookServer) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

func (h *hookServer) setStatus(f func(n int) int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = f
}

func (h *hookServer) Calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

// fastRetries is a configuration whose webhook retries take milliseconds.
func fastRetries(attempts int) process.ProcessConfig {
	return process.ProcessConfig{
		WebhookAttempts: attempts,
		WebhookBackoff:  10 * time.Millisecond,
		WebhookTimeout:  2 * time.Second,
		AllowInsecure:   true,
		ExpiryInterval:  20 * time.Millisecond,
		HandlerBackoff:  10 * time.Millisecond,
	}
}

// decode decodes an event's data.
func decode[T any](t testing.TB, ev eventstore.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
