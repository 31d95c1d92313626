package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	ohttp "github.com/offerflow/offerflow/http"
)

// crashConfig is the crashtest command line.
type crashConfig struct {
	kills, clients, customers int
	bin, data                 string
	seed                      uint64
	minGap, maxGap            time.Duration
	sigtermAfter              time.Duration
	verbose                   bool
}

// runCrashtest runs `offerflow serve` as a child process, drives concurrent
// commands at it over HTTP, SIGKILLs and restarts it at random moments,
// stops it once with SIGTERM under load, and then checks the data
// directory: every acknowledged command is in the log, nothing is there
// twice, the hash chains hold, the read models equal a fresh rebuild, and
// every SQLite file passes PRAGMA integrity_check.
func runCrashtest(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("crashtest", e)
	var c crashConfig
	fs.IntVar(&c.kills, "kills", 25, "how often to SIGKILL the server (each time restarting it)")
	fs.IntVar(&c.clients, "clients", 8, "concurrent HTTP clients sending commands")
	fs.IntVar(&c.customers, "customers", 4, "customers the offers go to")
	fs.StringVar(&c.bin, "bin", "", "the offerflow binary to run as the server (default: this program)")
	fs.StringVar(&c.data, "data", "", "data directory for the server (default: a new temporary one, removed when the test passes)")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed of the load and the kill moments (0: from the clock)")
	fs.DurationVar(&c.minGap, "min-gap", 50*time.Millisecond, "shortest time the server serves before a kill")
	fs.DurationVar(&c.maxGap, "max-gap", 700*time.Millisecond, "longest time the server serves before a kill")
	fs.DurationVar(&c.sigtermAfter, "sigterm-after", time.Second, "load before the SIGTERM at the end")
	fs.BoolVar(&c.verbose, "v", false, "copy the server's log to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.kills < 0 || c.clients < 1 || c.customers < 1 || c.minGap <= 0 || c.maxGap < c.minGap {
		return usageError{"crashtest: --kills >= 0, --clients and --customers >= 1, 0 < --min-gap <= --max-gap"}
	}
	if c.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("crashtest: find this program: %w", err)
		}
		c.bin = exe
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	removeData := false
	if c.data == "" {
		dir, err := os.MkdirTemp("", "offerflow-crashtest-")
		if err != nil {
			return err
		}
		c.data, removeData = dir, true
	}
	fmt.Fprintf(e.stdout, "crashtest: seed %d, %d clients, %d kills, data %s\n", c.seed, c.clients, c.kills, c.data)
	err := crashtest(ctx, c, e)
	if err == nil && removeData {
		_ = os.RemoveAll(c.data)
	} else if err != nil {
		fmt.Fprintf(e.stderr, "crashtest: the data directory is kept for inspection: %s\n", c.data)
	}
	return err
}

func crashtest(ctx context.Context, c crashConfig, e env) error {
	operator, _ := ohttp.NewToken()
	srv := newChild(c.bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", c.data, "--operator-token", operator)
	if c.verbose {
		srv.debug = e.stderr
	}
	running := false
	defer func() {
		if running {
			_ = srv.stop(syscall.SIGKILL)
		}
	}()
	if err := srv.start(ctx); err != nil {
		return err
	}
	running = true
	a := &api{srv: srv, client: &http.Client{Timeout: 30 * time.Second}}
	f, err := a.setup(ctx, operator, c.customers)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	l := &ledger{}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() { a.drive(loadCtx, i, f, l, c.seed) })
	}
	r := rand.New(rand.NewPCG(c.seed, 0))
	survived := 0
	for range c.kills {
		if !sleepCtx(ctx, c.minGap+time.Duration(r.Int64N(int64(c.maxGap-c.minGap)+1))) {
			return ctx.Err()
		}
		if err := srv.stop(syscall.SIGKILL); !killedBy(err, syscall.SIGKILL) {
			// Exited on its own, or was not running: a crash of the
			// server's own making, which the test must not pass off as
			// one of its kills.
			return fmt.Errorf("kill %d: the server was not ended by SIGKILL (%v):\n%s", survived+1, err, srv.lastLines())
		}
		running = false
		if err := srv.start(ctx); err != nil {
			return fmt.Errorf("restart after kill %d: %w", survived+1, err)
		}
		running = true
		survived++
	}

	// SIGTERM under load: the server must finish what it acknowledges.
	l.mu.Lock()
	l.sigterm = true
	l.mu.Unlock()
	if !sleepCtx(ctx, c.sigtermAfter) {
		return ctx.Err()
	}
	termErr := srv.stop(syscall.SIGTERM)
	running = false
	stopLoad()
	wg.Wait()
	if termErr != nil {
		return fmt.Errorf("SIGTERM under load: serve exited with %v:\n%s", termErr, srv.lastLines())
	}
	// One more start and a quiet stop: the server comes back over what
	// the shutdown left, and its background work settles.
	if err := srv.start(ctx); err != nil {
		return fmt.Errorf("restart after SIGTERM: %w", err)
	}
	running = true
	sleepCtx(ctx, 500*time.Millisecond)
	if err := srv.stop(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM when idle: %w", err)
	}
	running = false
	if srv.raced() {
		return fmt.Errorf("the server reported a data race:\n%s", srv.lastLines())
	}
	return crashVerify(ctx, c, l, survived, e)
}

// crashVerify checks the data directory the runs left and prints the
// figures.
func crashVerify(ctx context.Context, c crashConfig, l *ledger, survived int, e env) error {
	sf := storeFlags{data: c.data}
	store, err := sf.openSealed(ctx, false)
	if err != nil {
		return err
	}
	defer store.Close()
	lc, err := checkLog(ctx, store, l.acks)
	if err != nil {
		return err
	}
	sigtermAcks := 0
	for _, a := range l.acks {
		if a.sigterm {
			sigtermAcks++
		}
	}
	fmt.Fprintf(e.stdout, "kills survived: %d of %d (SIGKILL at random moments under load, each followed by a restart)\n", survived, c.kills)
	fmt.Fprintf(e.stdout, "SIGTERM under load: exit 0, %d commands acknowledged in its phase\n", sigtermAcks)
	fmt.Fprintf(e.stdout, "acknowledged commands checked: %d; lost %d, duplicated %d; outcome unknown (connection died): %d; refused (4xx): %d\n",
		lc.checked, len(lc.lost), len(lc.duplicated), l.unknown, l.refused)
	var problems []string
	if len(lc.lost) > 0 {
		problems = append(problems, "lost: "+strings.Join(first(lc.lost, 10), "; "))
	}
	if len(lc.duplicated) > 0 {
		problems = append(problems, "duplicated: "+strings.Join(first(lc.duplicated, 10), "; "))
	}
	if lc.checked == 0 {
		problems = append(problems, "no command was acknowledged: the load did not run")
	}
	res, err := eventstore.VerifyAll(ctx, store.Raw(), func(int) {}) // the chains cover the log as stored
	if err != nil {
		problems = append(problems, fmt.Sprintf("hash chains: %v", err))
	} else {
		fmt.Fprintf(e.stdout, "log ok: %d events in %d streams, hash chains hold\n", res.Events, res.Streams)
	}
	if err := verifyReadModels(ctx, sf, store, env{stdout: e.stdout, stderr: io.Discard}); err != nil {
		problems = append(problems, err.Error())
	}
	files, err := integrityCheck(ctx, c.data)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		fmt.Fprintf(e.stdout, "PRAGMA integrity_check ok: %s\n", strings.Join(files, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("crashtest failed:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Fprintln(e.stdout, "crashtest: ok")
	return nil
}

func first(s []string, n int) []string { return s[:min(len(s), n)] }

// killedBy reports whether err is the exit of a process that sig ended.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
