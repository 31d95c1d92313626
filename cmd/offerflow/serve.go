package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // the processes' database
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/treehead"
	ohttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/http/ui"
	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/projections"
	"github.com/offerflow/offerflow/projections/process"
	"github.com/offerflow/offerflow/sqlitefile"
)

const processesFile = "processes.db"

// runServe runs the service until ctx ends (SIGINT or SIGTERM).
func runServe(ctx context.Context, args []string, e env) error {
	m := NewMain(e)
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	err := m.Run(ctx)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return err
}

// Main is the serve command: its configuration and everything it opened, so
// that Close can release it in order.
type Main struct {
	env env
	cfg serveConfig
	log *slog.Logger

	store  eventstore.Store
	sealed *seal.Store // store, sealing customers' texts: what everything but the tree heads uses
	rm     *projections.DB
	past   *projections.Past
	procDB *sql.DB
	idem   idempotency.Records
	trees  *treehead.Service
	proj   *projections.Projections
	procs  *process.Processes
	srv    *ohttp.Server
	// leaderDone is closed when the lease-gated process managers have
	// stopped and the lease is released (a shared log only).
	leaderDone chan struct{}

	// bg yields the error of each background runner when it returns.
	bg []chan error
}

type serveConfig struct {
	storeFlags
	addr            string
	operatorToken   string
	demo            bool
	allowInsecure   bool
	webhookAttempts int
	webhookBackoff  time.Duration
	webhookShare    int
	asOfMaxEvents   uint64
	reminderBefore  time.Duration
	logLevel        string
	logJSON         bool
	shutdownTimeout time.Duration
	sessionIdle     time.Duration
	headInterval    time.Duration
	bodyTimeout     time.Duration
	limits          ohttp.Limits
	limitsOn        bool
	maxCommands     int
	processes       bool
	secureCookie    bool
	pprofAddr       string
	leaseTTL        time.Duration
	// memoryLimit is the soft memory limit serve sets (0: none), unless
	// GOMEMLIMIT is set (gomemlimit), which then rules.
	memoryLimit byteSize
	gomemlimit  string
}

// NewMain returns a serve command that talks to the outside world through e.
func NewMain(e env) *Main { return &Main{env: e} }

// ParseFlags reads the command line and the environment.
func (m *Main) ParseFlags(args []string) error {
	fs := newFlagSet("serve", m.env)
	c := &m.cfg
	c.register(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.operatorToken, "operator-token", "", "the operator's API token (env OFFERFLOW_OPERATOR_TOKEN)")
	fs.BoolVar(&c.demo, "demo", false, "seed a demo reseller with a catalog, two templates, three customers and six months of history, and print a token for each role (revoking the previous start's)")
	fs.BoolVar(&c.allowInsecure, "allow-insecure-webhooks", false, "permit http and loopback/private webhook addresses (tests and development only)")
	fs.IntVar(&c.webhookAttempts, "webhook-attempts", 8, "tries of a webhook notification before the delivery fails")
	fs.DurationVar(&c.webhookBackoff, "webhook-backoff", time.Second, "wait before the first webhook retry; each further wait doubles")
	fs.IntVar(&c.webhookShare, "webhook-calls-per-customer", 4, "webhook calls in flight at once for one customer, so that one customer's slow or failing webhook leaves the delivery slots to others (deliveries without a webhook are not limited by it)")
	fs.DurationVar(&c.reminderBefore, "reminder-before", 72*time.Hour, "remind the customer of an undecided offer once when less than this is left before its expires_at (offer.reminded, an offer.expiring webhook notification)")
	fs.BoolVar(&c.processes, "processes", true, "run the process managers (delivery, expiry, license grant, revision, reminder); on a shared log (--eventstore) they run on one node at a time, the holder of a lease; false: never on this node")
	fs.DurationVar(&c.leaseTTL, "lease-ttl", 10*time.Second, "on a shared log: how long the background-work lease lasts unrenewed before another node takes it over (renewed every third of it)")
	fs.BoolVar(&c.secureCookie, "secure-cookie", false, "mark the web UI's session cookie Secure on every response (set it behind a proxy that terminates TLS)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "serve Go's profiles (/debug/pprof/) on this address, apart from the API (off by default; use a loopback address)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&c.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.DurationVar(&c.bodyTimeout, "body-timeout", 30*time.Second, "how long a request's body may take to arrive before the request is answered 408 and its connection closed")
	d := ohttp.DefaultLimits
	fs.IntVar(&c.limits.TokenRate, "rate-limit-token", d.TokenRate, "requests a second one token may make (0: no limit)")
	fs.IntVar(&c.limits.AddressRate, "rate-limit-address", d.AddressRate, "requests a second one client address may make (0: no limit)")
	fs.IntVar(&c.limits.AuthFailures, "auth-failure-limit", d.AuthFailures, "refused credentials a minute from one address before its requests with a credential are 429 (0: no limit)")
	fs.IntVar(&c.limits.StreamsPerToken, "streams-per-token", d.StreamsPerToken, "open /v1/stream connections one token may hold (0: no limit)")
	fs.IntVar(&c.limits.ConnectionsPerAddress, "connections-per-address", d.ConnectionsPerAddress, "open connections one client address may hold; one more is closed at once (0: no limit)")
	fs.BoolVar(&c.limitsOn, "limits", true, "apply the five limits above; --limits=false switches them all off (benchmarks)")
	fs.IntVar(&c.maxCommands, "max-commands-in-flight", ohttp.DefaultMaxCommandsInFlight, "commands in progress at once; one more is answered 503 unavailable with Retry-After and writes nothing, instead of waiting behind a backlog that holds memory (queries are never refused; 0: no bound; --limits=false leaves it on)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a shutdown waits for requests in flight")
	fs.DurationVar(&c.sessionIdle, "session-idle", ohttp.DefaultSessionIdle, "how long a web UI session lasts unused (each use slides it)")
	fs.Uint64Var(&c.asOfMaxEvents, "as-of-max-events", 250_000, "events one ?as_of= query may replay (or scan, for a time) before it is refused 422; bounds the time one such query takes")
	fs.DurationVar(&c.headInterval, "head-interval", 5*time.Minute, "how often to sign and record a tree head while the log grows (0: only on demand, at GET /v1/audit/head)")
	c.memoryLimit = defaultMemoryLimit
	fs.Var(&c.memoryLimit, "memory-limit", "soft limit of the Go heap and runtime (96MiB by default; sizes like 256MiB, 1GiB, or bytes; 0: none): the garbage collector runs harder near it, trading CPU for RSS when the server falls behind; ignored while GOMEMLIMIT is set")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.gomemlimit = m.env.getenv("GOMEMLIMIT")
	if c.gomemlimit != "" {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "memory-limit" })
		if explicit {
			// Two limits, and whichever won would surprise whoever set the other.
			return usageError{"--memory-limit and GOMEMLIMIT are both set: give one"}
		}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	if c.operatorToken == "" {
		c.operatorToken = m.env.getenv("OFFERFLOW_OPERATOR_TOKEN")
	}
	if c.operatorToken != "" && len(c.operatorToken) < 16 {
		return usageError{"--operator-token must be at least 16 characters"}
	}
	if c.webhookAttempts < 1 {
		return usageError{"--webhook-attempts must be at least 1"}
	}
	if c.webhookShare < 1 {
		return usageError{"--webhook-calls-per-customer must be at least 1"}
	}
	if c.reminderBefore <= 0 {
		return usageError{"--reminder-before must be positive"}
	}
	if l := c.limits; l.TokenRate < 0 || l.AddressRate < 0 || l.AuthFailures < 0 || l.StreamsPerToken < 0 || l.ConnectionsPerAddress < 0 {
		return usageError{"--rate-limit-token, --rate-limit-address, --auth-failure-limit, --streams-per-token and --connections-per-address must not be negative"}
	}
	if !c.limitsOn {
		c.limits = ohttp.Limits{}
	}
	if c.maxCommands < 0 {
		return usageError{"--max-commands-in-flight must not be negative"}
	}
	if c.bodyTimeout <= 0 {
		return usageError{"--body-timeout must be positive"}
	}
	if c.sessionIdle < time.Minute || c.sessionIdle > domain.MaxTokenTTL {
		return usageError{"--session-idle must be between 1m and ten years"}
	}
	if c.webhookBackoff <= 0 {
		return usageError{"--webhook-backoff must be positive"}
	}
	if c.leaseTTL < time.Second {
		return usageError{"--lease-ttl must be at least 1s"}
	}
	if _, sqliteLog := c.sharedSQLite(); c.shared() && !sqliteLog && c.secretFile == "" {
		// The Idempotency-Key replies and the customers' keys are kept in
		// the cluster under this secret: a node with a secret of its own
		// could open neither the replies nor the texts of the others.
		return usageError{"--eventstore esdb://...: give every node the same --secret-file (the secret that seals the Idempotency-Key replies and wraps the customers' keys kept in the cluster; hex of 32 bytes, created if missing)"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return usageError{fmt.Sprintf("--log-level: %v", err)}
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.logJSON {
		m.log = slog.New(slog.NewJSONHandler(m.env.stderr, opts))
	} else {
		m.log = slog.New(slog.NewTextHandler(m.env.stderr, opts))
	}
	return nil
}

// Run opens the log and the read models, starts the projections, the
// process managers and the HTTP server, and serves until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	if m.cfg.demo && m.cfg.operatorToken == "" {
		// A demo without an operator could not create resellers: make one
		// for this run only. It must exist before the HTTP server copies
		// its configuration, or the token the demo prints would not work.
		m.cfg.operatorToken, _ = ohttp.NewToken()
	}
	c := m.cfg
	defer applyMemoryLimit(int64(c.memoryLimit), c.gomemlimit)()
	if c.gomemlimit != "" {
		m.log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", c.gomemlimit)
	} else {
		m.log.Info("memory limit", "bytes", int64(c.memoryLimit))
	}
	c.logger = m.log.With("component", "eventstore")
	var err error
	if m.store, err = c.openStore(ctx); err != nil {
		return err
	}
	if m.sealed, err = c.seal(ctx, m.store); err != nil {
		return fmt.Errorf("open key store: %w", err)
	}
	if m.rm, err = projections.OpenDB(ctx, c.path(readModelsFile)); err != nil {
		return fmt.Errorf("open read models: %w", err)
	}
	// Scratch read models a killed run of any command left (a crash skips
	// their removal): ?as_of= replays, a rebuild's scratch file, verify's
	// copies. They hold customers' texts opened, perhaps of customers
	// erased since.
	scratchLog := m.log.With("component", "scratch")
	if err := removeLeftovers(c.storeFlags, scratchLog, slog.LevelInfo); err != nil {
		return err
	}
	keys := m.sealed.Keys()
	if m.past, err = projections.NewPast(m.sealed, c.path(asOfDir), projections.PastConfig{MaxEvents: c.asOfMaxEvents, Generation: keys.Generation}); err != nil {
		return err
	}
	// A replay kept for ?as_of= may hold texts an erasure just made
	// unreadable: its scratch file goes at once, not at the next query.
	// So does what another command killed meanwhile left (a verify run
	// beside this server), which nothing else would remove before the
	// next start; this server's own replays are Expire's. A copy in use
	// is logged at debug only: this runs for each customer.erased the
	// process reads first (a catch-up or an ?as_of= replay reads old
	// ones), not for new erasures alone.
	past, plog, sf := m.past, m.log.With("component", "asof"), c.storeFlags
	keys.OnForget(func() {
		if err := past.Expire(); err != nil {
			plog.Error("remove past read models after an erasure", "err", err)
		}
		if err := removeLeftovers(sf, scratchLog, slog.LevelDebug, sf.path(asOfDir)); err != nil {
			scratchLog.Error("remove scratch read models after an erasure", "err", err)
		}
	})
	if m.procDB, err = process.OpenDB(c.path(processesFile)); err != nil {
		return err
	}
	metrics := ohttp.NewMetrics(nil)
	// SQLite's page caches are allocated in C, where neither the Go
	// runtime's metrics nor --memory-limit see them; the resident size
	// does.
	metrics.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "offerflow_sqlite_memory_bytes",
		Help: "Memory SQLite holds in this process (page caches, statements, schemas), outside the Go heap and its memory limit.",
	}, func() float64 { return float64(sqlitefile.MemoryUsed()) }))
	if m.trees, err = m.openTreeHeads(ctx, metrics.TamperProblems.Inc); err != nil {
		return err
	}
	if m.idem, err = m.openIdempotency(ctx); err != nil {
		return fmt.Errorf("open idempotency keys: %w", err)
	}
	_, secretPath := c.sharedFiles()
	secret, err := loadOrCreateSecret(secretPath, c.secretFile == "")
	if err != nil {
		return err
	}
	// Every file now exists: none may stay readable by others, whatever
	// the umask they were created with (SQLite gives -wal and -shm files
	// their database's mode).
	if err := secureDataDir(c.data); err != nil {
		return err
	}

	handler := command.NewHandler(m.sealed, command.Config{Logger: m.log, OnConflict: metrics.AppendConflicts.Inc})
	// An erasure also drops the replies kept for Idempotency-Key: they may
	// hold the erased texts (an offer's message, a customer's name), sealed
	// with the server's secret, which is in the data directory too. Also
	// when an erasure a crash interrupted is completed below.
	svc := command.NewService(handler).WithKeys(m.sealed.Keys()).
		WithErasureCleanup(func(ctx context.Context, _ domain.CustomerID) error { return m.idem.Wipe(ctx) })
	// Erasures whose key went but whose event a crash kept from the log
	// are completed before anything is served.
	pending, err := m.sealed.Keys().Unrecorded(ctx)
	if err != nil {
		return err
	}
	for _, customer := range slices.Sorted(maps.Keys(pending)) {
		if err := svc.RecordErasure(ctx, domain.CustomerID(customer)); err != nil {
			return err
		}
	}

	if m.proj, err = projections.New(m.rm, m.sealed, projections.Config{
		Logger: m.log.With("component", "projections"), OnParked: metrics.MessagePoisoned,
	}); err != nil {
		return err
	}
	newProcesses := func(ctx context.Context) (*process.Processes, error) {
		return process.NewProcesses(ctx, process.ProcessDeps{
			Service: svc, Store: m.sealed, DB: m.procDB, Logger: m.log.With("component", "processes"),
		}, process.ProcessConfig{
			WebhookAttempts:      c.webhookAttempts,
			WebhookBackoff:       c.webhookBackoff,
			MaxActivePerCustomer: c.webhookShare,
			ReminderBefore:       c.reminderBefore,
			AllowInsecure:        c.allowInsecure,
			WebhookJitter:        0.1,
			OnWebhookAttempt:     metrics.WebhookAttempt,
			OnDelivery:           metrics.Delivery,
			OnExpired:            metrics.OfferExpired,
			OnPoisoned:           metrics.MessagePoisoned,
		})
	}
	if c.processes && !c.shared() {
		// Built only when they run: Processes.Close of ones that never ran
		// fails (its router was never started), which made a clean shutdown
		// of --processes=false exit 1.
		if m.procs, err = newProcesses(ctx); err != nil {
			return err
		}
	}

	// Ready once the projections have caught up with the log as it was at
	// start-up: before that, queries would answer from stale read models.
	startHead, err := m.store.Head(ctx)
	if err != nil {
		return err
	}
	ready := func(ctx context.Context) error {
		pos := m.rm.Positions(ctx)
		for _, name := range projections.ProjectorNames() {
			if pos[name] < startHead {
				return fmt.Errorf("projection %s at %d of %d", name, pos[name], startHead)
			}
		}
		return nil
	}

	// The API and the web UI identify tokens and start and end sessions
	// through one Sessions, made first and given to both.
	sessions, err := ohttp.NewSessions(ohttp.SessionsConfig{Tokens: svc, Commands: svc,
		OperatorToken: c.operatorToken, Idle: c.sessionIdle})
	if err != nil {
		return err
	}
	web, err := ui.New(ui.Config{
		Sessions:     sessions,
		Logger:       m.log.With("component", "ui"),
		SecureCookie: c.secureCookie,
	})
	if err != nil {
		return err
	}
	if m.srv, err = ohttp.NewServer(ohttp.Config{
		UI:                    web,
		ChartText:             web.Text,
		Addr:                  c.addr,
		Commands:              svc,
		Queries:               m.rm,
		Past:                  ohttp.PastFrom[*projections.DB](m.past),
		History:               eventlog.New(m.sealed), // the truth, with its hash chain
		TreeHeads:             m.trees,
		Log:                   eventlog.New(m.sealed),
		Sessions:              sessions,
		Idempotency:           m.idem,
		IdempotencySecret:     secret,
		AllowInsecureWebhooks: c.allowInsecure,
		Ready:                 ready,
		ParkedEvents:          m.rm.ParkedCount,
		Projectors:            m.rm.Positions,
		Metrics:               metrics,
		Logger:                m.log.With("component", "http"),
		BodyTimeout:           c.bodyTimeout,
		Limits:                c.limits,
		MaxCommandsInFlight:   c.maxCommands,
	}); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	m.bg = append(m.bg, m.background(runCtx, "projections", m.proj.Run))
	go trimMalloc(runCtx, mallocTrimInterval)
	// On a shared log the periodic tree head is background work like the
	// process managers: signed and recorded by the lease holder only, so
	// that nodes do not race each other into the treeheads stream.
	if c.headInterval > 0 && !c.shared() {
		m.bg = append(m.bg, m.background(runCtx, "tree heads", func(ctx context.Context) error { return m.trees.Run(ctx, c.headInterval) }))
	}
	// Every node keeps its witness up with the log (within a second of an
	// append), not only at the heads it signs: a log that later loses its
	// last events then differs from the witness.
	m.bg = append(m.bg, m.background(runCtx, "tree witness", func(ctx context.Context) error { return m.trees.Follow(ctx, time.Second) }))
	// The token cache: while it follows the log, token look-ups are served
	// from memory, and dropped the moment any process revokes a token.
	m.bg = append(m.bg, m.background(runCtx, "token cache", func(ctx context.Context) error {
		return svc.FollowTokens(ctx, time.Second)
	}))
	// The demo seeds before the processes start: its history is written on
	// a clock set back, delivery and expiry included, and the processes
	// must find it done rather than race it at today's time.
	if c.demo {
		if err := m.seedDemo(ctx, svc); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		// Ready (and the address logged) only once the read models hold
		// what the demo wrote too: its tokens and history are printed for
		// a script to use right away. Set before the server opens, so no
		// request reads it while it changes.
		if startHead, err = m.store.Head(ctx); err != nil {
			return err
		}
	}
	switch {
	case c.processes && c.shared():
		work, err := m.leaderWork(newProcesses)
		if err != nil {
			return err
		}
		m.leaderDone = make(chan struct{})
		m.bg = append(m.bg, m.background(runCtx, "processes", func(ctx context.Context) error {
			defer close(m.leaderDone)
			return work(ctx)
		}))
	case c.processes:
		m.bg = append(m.bg, m.background(runCtx, "processes", m.procs.Run))
	default:
		m.log.Warn("process managers are off (--processes=false): offers are delivered, expired and licensed only by a node that runs them")
	}

	if err := m.srv.Open(); err != nil {
		return err
	}
	if c.pprofAddr != "" {
		if err := servePprof(runCtx, c.pprofAddr, m.log); err != nil {
			return err
		}
	}
	stopped := firstOf(m.bg)

	// The contract has serve log its address once it is ready: scripts wait
	// for that line and then query, so it comes only when the read models
	// have caught up with the log as it was at start-up (what /readyz
	// checks). Until then the server already answers, /readyz with 503.
	caughtUp := make(chan error, 1)
	go func() { caughtUp <- m.rm.WaitFor(ctx, startHead) }()
	select {
	case err := <-caughtUp:
		if err == nil {
			m.log.Info("listening", "addr", m.srv.Addr(), "url", m.srv.URL(), "data", c.data, "eventstore", storeName(c.storeFlags))
		}
	case err := <-stopped:
		return fmt.Errorf("background work stopped: %w", err)
	}

	select {
	case <-ctx.Done():
		m.log.Info("shutting down", "timeout", c.shutdownTimeout)
	case err := <-stopped:
		return fmt.Errorf("background work stopped: %w", err)
	}
	// The server goes first and waits for requests in flight, so that every
	// acknowledged command is in the log before anything else closes.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), c.shutdownTimeout)
	defer scancel()
	if err := m.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// background runs fn until it returns; its error arrives on the channel.
func (m *Main) background(ctx context.Context, name string, fn func(context.Context) error) chan error {
	ch := make(chan error, 1)
	go func() {
		err := fn(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			m.log.Error("background work stopped", "component", name, "err", err)
		}
		if err == nil {
			err = fmt.Errorf("%s stopped", name)
		}
		ch <- fmt.Errorf("%s: %w", name, err)
	}()
	return ch
}

// firstOf returns a channel that yields the first error of chs.
func firstOf(chs []chan error) <-chan error {
	out := make(chan error, len(chs))
	for _, ch := range chs {
		go func() {
			if err, ok := <-ch; ok {
				out <- err
			}
		}()
	}
	return out
}

// Close stops everything Run started, in reverse order of dependency.
func (m *Main) Close() error {
	var errs []error
	if m.srv != nil {
		errs = append(errs, m.srv.Close())
	}
	if m.procs != nil {
		errs = append(errs, m.procs.Close())
	}
	if m.leaderDone != nil {
		// Run's end cancelled the lease runner; it stops the process
		// managers and releases the lease, which needs the log still open.
		<-m.leaderDone
	}
	if m.proj != nil {
		errs = append(errs, m.proj.Close())
	}
	if m.trees != nil {
		errs = append(errs, m.trees.Close())
	}
	if m.idem != nil {
		errs = append(errs, m.idem.Close())
	}
	if m.procDB != nil {
		errs = append(errs, m.procDB.Close())
	}
	if m.past != nil {
		errs = append(errs, m.past.Close())
	}
	if m.rm != nil {
		errs = append(errs, m.rm.Close())
	}
	if m.sealed != nil {
		errs = append(errs, m.sealed.Close()) // m.store with it
	} else if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	return errors.Join(errs...)
}

func storeName(f storeFlags) string {
	if _, ok := f.sharedSQLite(); ok {
		return "sqlite (shared)"
	}
	if f.eventstore != "" {
		return "esdb"
	}
	return "sqlite"
}

// openTreeHeads loads (or on first start generates) the key that signs tree
// heads and computes the Merkle tree over the whole log; what it finds
// wrong with the log is logged as an error, and serving goes on.
func (m *Main) openTreeHeads(ctx context.Context, onProblem func()) (*treehead.Service, error) {
	c := m.cfg
	key, err := treehead.LoadOrCreateKey(c.path(treeKeyFile))
	if err != nil {
		return nil, err
	}
	started := time.Now()
	trees, err := treehead.New(ctx, treehead.Config{Store: m.store, Key: key, Witness: c.path(witnessFile), StoredHashes: true,
		Logger: m.log.With("component", "treehead"), OnProblem: onProblem}, nil)
	if err != nil {
		return nil, fmt.Errorf("merkle tree over the log: %w", err)
	}
	m.log.Info("merkle tree over the log computed", "key_id", key.ID(), "problems", len(trees.Problems()), "took", time.Since(started).Round(time.Millisecond))
	return trees, nil
}
