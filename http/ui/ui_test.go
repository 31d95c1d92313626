package ui_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/eventstore/treehead"
	ohttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/http/ui"
	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/projections"
	"github.com/offerflow/offerflow/projections/process"
)

// stack is the whole service wired as cmd/offerflow/serve.go wires it (the
// SQLite event store, the command service, the read models with their
// projections, the process managers, the idempotency store and the API),
// with the UI mounted in the API's router, served over HTTP.
type stack struct {
	URL string
	Svc *command.Service
	// Events is the event store's SQLite file, for tests that tamper with
	// the log behind the server's back.
	Events string
}

// startStack starts the stack on files in a fresh temporary directory and
// stops it when the test ends.
func startStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	events := filepath.Join(dir, "events.db")
	store, err := sqlite.Open(ctx, events, sqlite.Config{})
	if err != nil {
		t.Fatalf("open event store: %v", err)
	}
	t.Cleanup(func() { closeOrFail(t, "event store", store.Close) })
	rm, err := projections.OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatalf("open read models: %v", err)
	}
	t.Cleanup(func() { closeOrFail(t, "read models", rm.Close) })
	procDB, err := process.OpenDB(filepath.Join(dir, "processes.db"))
	if err != nil {
		t.Fatalf("open processes db: %v", err)
	}
	t.Cleanup(func() { closeOrFail(t, "processes db", procDB.Close) })
	idem, err := idempotency.Open(ctx, filepath.Join(dir, "idempotency.db"), idempotency.Config{})
	if err != nil {
		t.Fatalf("open idempotency keys: %v", err)
	}
	t.Cleanup(func() { closeOrFail(t, "idempotency keys", idem.Close) })

	// The Merkle tree over the log with its signed heads, as serve keeps
	// it (from the stored hashes), for the auditor's proofs.
	key, err := treehead.LoadOrCreateKey(filepath.Join(dir, "treehead.key"))
	if err != nil {
		t.Fatalf("tree head key: %v", err)
	}
	trees, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, StoredHashes: true, Logger: log}, nil)
	if err != nil {
		t.Fatalf("tree heads: %v", err)
	}
	t.Cleanup(func() { closeOrFail(t, "tree heads", trees.Close) })

	metrics := ohttp.NewMetrics(nil)
	svc := command.NewService(command.NewHandler(store, command.Config{Logger: log, OnConflict: metrics.AppendConflicts.Inc}))
	// The token cache follows the log until the test ends; it stops (and
	// is waited for) before the store closes, so that it neither fails
	// against a closed store nor logs after the test (a panic under -v).
	followCtx, stopFollow := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = svc.FollowTokens(followCtx, 50*time.Millisecond)
	}()
	t.Cleanup(func() {
		stopFollow()
		<-followed
	})
	proj, err := projections.New(rm, store, projections.Config{Logger: log})
	if err != nil {
		t.Fatalf("projections: %v", err)
	}
	procs, err := process.NewProcesses(ctx, process.ProcessDeps{Service: svc, Store: store, DB: procDB, Logger: log},
		process.ProcessConfig{})
	if err != nil {
		t.Fatalf("processes: %v", err)
	}

	// The UI looks tokens up as the API authenticates them, and issues and
	// revokes session tokens as serve does: through the one Sessions both
	// receive.
	sessions, err := ohttp.NewSessions(ohttp.SessionsConfig{Tokens: svc, Commands: svc})
	if err != nil {
		t.Fatalf("sessions: %v", err)
	}
	web, err := ui.New(ui.Config{Sessions: sessions, Logger: log})
	if err != nil {
		t.Fatalf("ui: %v", err)
	}
	api, err := ohttp.NewServer(ohttp.Config{
		Addr:        "127.0.0.1:0",
		Commands:    svc,
		Queries:     rm,
		History:     eventlog.New(store), // the truth, with its hash chain
		Log:         eventlog.New(store),
		Sessions:    sessions,
		TreeHeads:   trees,
		Idempotency: idem,
		UI:          web,
		ChartText:   web.Text,
		Projectors:  rm.Positions,
		Metrics:     metrics,
		Logger:      log,
	})
	if err != nil {
		t.Fatalf("api server: %v", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{"projections": proj.Run, "processes": procs.Run} {
		wg.Go(func() {
			if err := run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s stopped: %v", name, err)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		closeOrFail(t, "processes", procs.Close)
		closeOrFail(t, "projections", proj.Close)
		wg.Wait()
	})

	// The API's router serves the UI's routes (Config.UI), as in serve.
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)
	// Runs before ts.Close: it ends the open event streams, which
	// ts.Close would otherwise wait for.
	t.Cleanup(func() { closeOrFail(t, "api server", api.Close) })
	return &stack{URL: ts.URL, Svc: svc, Events: events}
}

// closeOrFail closes one part of the stack; a failing close (such as a
// router close timeout) is a bug of that part, not noise.
func closeOrFail(t *testing.T, what string, close func() error) {
	if err := close(); err != nil {
		t.Errorf("close %s: %v", what, err)
	}
}

// seed is what the browser scenario starts from.
type seed struct {
	ResellerToken, CustomerToken string
	// AuditorToken is an auditor of the reseller, named as the customer's
	// token is (CustomerAdmin), so that the pages show who acted.
	AuditorToken             string
	CustomerID, CustomerName string
	Template, EmptyTemplate  domain.TemplateID
	Product, OtherProduct    domain.ProductID
}

// CustomerAdmin is the name of the seeded customer's token: the reseller
// sees who opened and who decided an offer, the auditor who did what.
const CustomerAdmin = "Anna Admin"

// seedScenario registers, through the command service, a reseller with two
// products, a template with one item, an empty template, and a customer
// whose name is markup (it must show as text); and a token for each side.
func (s *stack) seedScenario(t *testing.T) seed {
	t.Helper()
	ctx := context.Background()
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "test"}}
	r, _, err := s.Svc.RegisterReseller(ctx, op, "Lernwerk Reseller GmbH")
	if err != nil {
		t.Fatalf("register reseller: %v", err)
	}
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "test"}}
	p, _, err := s.Svc.AddProduct(ctx, rm, "Datenschutz-Grundlagen", domain.KindModule, []int{12, 24})
	if err != nil {
		t.Fatalf("add product: %v", err)
	}
	p2, _, err := s.Svc.AddProduct(ctx, rm, "Arbeitsschutz kompakt", domain.KindCourse, []int{6, 12})
	if err != nil {
		t.Fatalf("add product: %v", err)
	}
	tmpl, _, err := s.Svc.CreateTemplate(ctx, rm, "Pflichtschulungen")
	if err != nil {
		t.Fatalf("create template: %v", err)
	}
	if _, _, _, err := s.Svc.AddTemplateItem(ctx, rm, tmpl.ID(), p.ID(), 12, domain.ModeAbsolute, nil); err != nil {
		t.Fatalf("add template item: %v", err)
	}
	empty, _, err := s.Svc.CreateTemplate(ctx, rm, "Leere Vorlage")
	if err != nil {
		t.Fatalf("create template: %v", err)
	}
	const customerName = `Stadtwerke <b>Nordheim</b> & Co`
	c, _, err := s.Svc.RegisterCustomer(ctx, rm, customerName, "")
	if err != nil {
		t.Fatalf("register customer: %v", err)
	}
	issue := func(role domain.Role, tenant, name string) string {
		tok, hash := ohttp.NewToken()
		if _, err := s.Svc.IssueToken(ctx, op, domain.TokenSpec{ID: s.Svc.Handler().NewID(), Hash: hash, Role: role, Tenant: tenant, Name: name}); err != nil {
			t.Fatalf("issue %s token: %v", role, err)
		}
		return tok
	}
	return seed{
		ResellerToken: issue(domain.RoleReseller, string(r.ID()), ""),
		CustomerToken: issue(domain.RoleCustomer, string(c.ID()), CustomerAdmin),
		AuditorToken:  issue(domain.RoleAuditor, string(r.ID()), "Petra Prüfer"),
		CustomerID:    string(c.ID()), CustomerName: customerName,
		Template: tmpl.ID(), EmptyTemplate: empty.ID(),
		Product: p.ID(), OtherProduct: p2.ID(),
	}
}
