package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runAsProgramEnv makes the test binary behave as offerflow itself, so that
// the bench can start it as its server process.
const runAsProgramEnv = "OFFERFLOW_TEST_RUN_AS_PROGRAM"

func TestMain(m *testing.M) {
	if os.Getenv(runAsProgramEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestBench runs every part of the bench at its smallest size, with the
// server as a separate process: it proves that the bench still runs and
// fills every row of its table, not how fast anything is.
func TestBench(t *testing.T) {
	t.Setenv(runAsProgramEnv, "1")
	dir := filepath.Join(t.TempDir(), "bench")
	prof := filepath.Join(t.TempDir(), "profiles")
	out, errOut, code := runCLI("bench", "--data", dir, "--events", "300", "--queries", "20",
		"--writers", "1,4", "--append-time", "100ms", "--disk-time", "100ms",
		"--customers", "3", "--rates", "20", "--rate-time", "3s", "--inbox-rate", "20", "--inbox-time", "1s", "--followed", "2",
		"--profile", prof)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, row := range []string{
		`\| 0 disk \| durable one-row .* \| [\d,]+ transactions/s \|`,
		`\| 1 append \| 1 concurrent writers, one transaction per append \| [\d,]+ events/s, p50 \S+, p99 \S+ \|`,
		`\| 1 append \| 4 concurrent writers, group commit \| [\d,]+ events/s = [\d.]+x, p50 \S+, p99 \S+; [\d.]+ appends per commit \|`,
		`\| 2 HTTP \| POST offers at 20/s for 3s \| [\d,]+ offers/s, p50 \S+, p99 \S+, 0 errors; deliveries and read models done \S+ after`,
		`\| 2 inbox \| 202 → in the inbox .* \| p50 \S+, p99 \S+; 0 not seen`,
		`\| 5 memory \| server peak RSS .* \| \d+ MB \|`,
		`\| 3 rebuild \| raw SELECT of the whole log, \d+ events \| [\d,]+ rows/s`,
		`\| 3 rebuild \| rebuild of the read models, \d+ events \| [\d,]+ events/s`,
		`\| 4 query \| inbox .* \| p50 \S+, p99 \S+ \(20 queries\)`,
		`\| 4 query \| badge, .* \| p50 \S+, p99 \S+ \(20 queries\)`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("the table lacks a row matching %s:\n%s\n%s", row, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(prof, "server-cpu-20.pprof")); err != nil {
		t.Errorf("no server profile: %v", err)
	}
	if _, _, code := runCLI("bench", "--data", dir); code != 2 {
		t.Errorf("bench into a directory in use: exit %d, want 2", code)
	}
	if _, _, code := runCLI("bench", "--parts", "frobnicate"); code != 2 {
		t.Errorf("bench of an unknown part: exit %d, want 2", code)
	}
}

// TestBench_Deliveries runs the deliveries part at a small size: it fills
// its three rows (the other reseller's times before and during the
// campaign, and the campaign's), not how fast anything is; --deliveries
// outside 1 to 1,000 is a usage error.
func TestBench_Deliveries(t *testing.T) {
	t.Setenv(runAsProgramEnv, "1")
	dir := filepath.Join(t.TempDir(), "bench")
	out, errOut, code := runCLI("bench", "--data", dir, "--parts", "deliveries", "--deliveries", "30", "--inbox-time", "1s",
		"--followed", "2", "--disk-time", "100ms")
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, row := range []string{
		`\| D deliveries \| another reseller's 202 → inbox, 20 offers/s to 2 customers without a webhook for 1s, no campaign \| p50 \S+, p99 \S+ \(\d+ offers\); 0 not seen`,
		`\| D campaign \| POST /v1/campaigns to 30 customers without a webhook \| 202 in \S+; every offer delivered \S+ after it`,
		`\| D deliveries \| another reseller's 202 → inbox, 20 offers/s to 2 customers without a webhook, while the campaign delivers \| p50 \S+, p99 \S+ \(\d+ offers sent before the campaign's last delivery\); 0 not seen`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("the table lacks a row matching %s:\n%s\n%s", row, out, errOut)
		}
	}
	for _, n := range []string{"0", "1001"} {
		if _, _, code := runCLI("bench", "--parts", "deliveries", "--deliveries", n); code != 2 {
			t.Errorf("bench --deliveries %s: exit %d, want 2", n, code)
		}
	}
}

// TestBench_LogCounts checks that the log the bench builds for parts 3 and
// 4 has the shape the table names: a tenth as many offers as events, a
// hundredth as many customers.
func TestBench_LogCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), eventsFile)
	lg, err := buildLog(context.Background(), path, 2000, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if lg.offers != 200 || len(lg.customers) != 20 {
		t.Errorf("offers %d, customers %d; want 200, 20", lg.offers, len(lg.customers))
	}
	if lg.events < 1900 || lg.events > 2100 {
		t.Errorf("log of %d events, want about 2000", lg.events)
	}
}
