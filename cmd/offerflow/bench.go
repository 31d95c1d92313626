package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchConfig is what one bench run measures, and how much of it.
type benchConfig struct {
	dir   string
	parts []string

	writers    []int
	appendTime time.Duration
	diskTime   time.Duration

	bin         string
	serveFlags  []string
	strace      bool
	profile     string
	customers   int
	connections int
	rates       []int
	rateTime    time.Duration
	inboxRate   int
	inboxTime   time.Duration
	followed    int

	events  int
	queries int

	// deliveries is how many customers the deliveries part's campaign goes
	// to.
	deliveries int

	// lastInboxOffers is how many offers the send-to-inbox step sent.
	lastInboxOffers int
}

// benchParts are the parts bench knows; defaultBenchParts those it runs
// unless --parts says otherwise (deliveries, a campaign of a thousand, is
// asked for by name).
var (
	benchParts        = []string{"append", "http", "log", "deliveries"}
	defaultBenchParts = []string{"append", "http", "log"}
)

// runBench measures the whole product on this machine in one run and prints
// the figures side by side, each with what bounds it:
//
//  1. append: durable appends at 1, 8 and 64 concurrent writers;
//  2. http: offers sent to a real `serve` process at fixed arrival rates,
//     and the time from 202 to the customer's inbox;
//  3. and 4. log: a log of a million events built, scanned raw, rebuilt into
//     the read models, whose inbox and badge queries are then timed;
//  5. the server's fsyncs per offer and peak memory during 2;
//
// and, when asked for, deliveries: a campaign to c.deliveries customers,
// and another reseller's send-to-inbox times beside it and before it.
//
// The disk's own rate of durable one-row transactions, measured first, is
// the yardstick of the durable figures.
func runBench(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("bench", e)
	c := &benchConfig{}
	var parts, writers, rates, serveFlags string
	var strace string
	fs.StringVar(&c.dir, "data", "", "scratch directory for the run's files (must be empty or missing; default: a new temporary directory, removed afterwards)")
	fs.StringVar(&parts, "parts", strings.Join(defaultBenchParts, ","), "which parts to run: append, http, log, deliveries")
	fs.StringVar(&writers, "writers", "1,8,64", "part 1: numbers of concurrent writers")
	fs.DurationVar(&c.appendTime, "append-time", 3*time.Second, "part 1: how long each number of writers appends")
	fs.DurationVar(&c.diskTime, "disk-time", 2*time.Second, "how long the disk's durable transaction rate is measured")
	fs.StringVar(&c.bin, "server-bin", "", "part 2: the offerflow binary to start as the server (default: this program)")
	fs.StringVar(&serveFlags, "serve-flags", "", "part 2: further flags for the server, space-separated")
	fs.StringVar(&strace, "strace", "auto", "part 2: run the server under strace to count its fsyncs: on, off, or auto (when strace is installed and may trace here)")
	fs.StringVar(&c.profile, "profile", "", "part 2: write a CPU profile of the server during each rate step into this directory")
	fs.IntVar(&c.customers, "customers", 100, "part 2: customers the offers go to, round robin")
	fs.IntVar(&c.connections, "connections", 256, "part 2: at most this many connections to the server")
	fs.StringVar(&rates, "rates", "500,1000,2000,3500,5000,7000", "part 2: offers per second, one step each")
	fs.DurationVar(&c.rateTime, "rate-time", 10*time.Second, "part 2: how long each rate is offered")
	fs.IntVar(&c.inboxRate, "inbox-rate", 1000, "part 2: offers per second while send-to-inbox times are measured (0: skip)")
	fs.DurationVar(&c.inboxTime, "inbox-time", 10*time.Second, "parts 2 and deliveries: how long send-to-inbox times are measured")
	fs.IntVar(&c.followed, "followed", 4, "parts 2 and deliveries: customers whose /v1/stream is followed for send-to-inbox times")
	fs.IntVar(&c.deliveries, "deliveries", 1000, "part deliveries: customers of the campaign (1 to 1,000) beside which another reseller's send-to-inbox times are measured")
	fs.IntVar(&c.events, "events", 1_000_000, "parts 3 and 4: events in the log (a tenth as many offers, a hundredth as many customers)")
	fs.IntVar(&c.queries, "queries", 20_000, "part 4: inbox and badge queries each")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if c.parts, err = parseParts(parts); err != nil {
		return err
	}
	if c.writers, err = parseInts("--writers", writers); err != nil {
		return err
	}
	if c.rates, err = parseInts("--rates", rates); err != nil {
		return err
	}
	c.serveFlags = strings.Fields(serveFlags)
	switch {
	case c.events < 100:
		return usageError{"--events must be at least 100"}
	case c.queries < 1, c.customers < 1, c.followed < 1, c.connections < 1:
		return usageError{"--queries, --customers, --followed and --connections must be at least 1"}
	case c.deliveries < 1, c.deliveries > 1000:
		return usageError{"--deliveries must be 1 to 1000 (a campaign's customers)"}
	case c.appendTime <= 0, c.diskTime <= 0, c.rateTime <= 0, c.inboxTime <= 0:
		return usageError{"durations must be positive"}
	}
	if c.strace, err = wantStrace(strace); err != nil {
		return err
	}
	if c.bin == "" {
		if c.bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find this program for the server: %w", err)
		}
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "offerflow-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.dir)
	} else if entries, err := os.ReadDir(c.dir); err == nil && len(entries) > 0 {
		return usageError{fmt.Sprintf("bench writes new files: --data %s must be empty or missing", c.dir)}
	} else if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return err
	}
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o750); err != nil {
			return err
		}
	}
	return c.run(ctx, e)
}

// run measures the parts c names and prints the table.
func (c *benchConfig) run(ctx context.Context, e env) error {
	r := &benchReport{log: e.stderr}
	start := time.Now()
	disk, err := diskRate(ctx, c.dir, c.diskTime)
	if err != nil {
		return err
	}
	r.add("0 disk", "durable one-row SQLite transactions (WAL, synchronous=FULL), one at a time",
		fmtRate(disk)+" transactions/s", "-", "the disk's fsync")
	if slices.Contains(c.parts, "append") {
		if err := runAppendBench(ctx, c, r, disk); err != nil {
			return err
		}
	}
	if slices.Contains(c.parts, "http") {
		if err := runHTTPBench(ctx, c, r, disk); err != nil {
			return fmt.Errorf("http: %w", err)
		}
	}
	if slices.Contains(c.parts, "log") {
		if err := runLogBench(ctx, c, r, e); err != nil {
			return err
		}
	}
	if slices.Contains(c.parts, "deliveries") {
		if err := runDeliveriesBench(ctx, c, r); err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "offerflow bench, %s, %d CPUs, %s, took %s\n\n", runtime.Version(), runtime.NumCPU(),
		time.Now().UTC().Format(time.RFC3339), time.Since(start).Round(time.Second))
	r.print(e.stdout)
	return nil
}

func parseParts(s string) ([]string, error) {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(benchParts, p) {
			return nil, usageError{fmt.Sprintf("--parts: unknown part %q (want %s)", p, strings.Join(benchParts, ", "))}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseInts(name, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Sprintf("%s: %q is not a positive number", name, f)}
		}
		out = append(out, n)
	}
	return out, nil
}

// wantStrace decides from the --strace flag whether to trace the server:
// auto traces it when strace is installed and may trace here (a container
// without ptrace refuses it).
func wantStrace(v string) (bool, error) {
	err := exec.Command("strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=fsync", "-o", os.DevNull, "--", "true").Run()
	switch v {
	case "off":
		return false, nil
	case "auto":
		return err == nil, nil
	case "on":
		if err != nil {
			return false, usageError{fmt.Sprintf("--strace on: strace cannot trace here: %v", err)}
		}
		return true, nil
	}
	return false, usageError{fmt.Sprintf("--strace %q: want on, off or auto", v)}
}
