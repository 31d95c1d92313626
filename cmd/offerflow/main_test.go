package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is the whole program running `serve` in-process on a free port.
type server struct {
	url    string
	stdout string
	cancel context.CancelFunc
	done   chan error

	logMu sync.Mutex
	log   strings.Builder // serve's standard error: its log lines
}

// logged returns what serve has logged so far.
func (s *server) logged() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// MustServe runs `offerflow serve` with args on 127.0.0.1:0 and a data
// directory in dir, and waits until it logs its address.
func MustServe(tb testing.TB, dir string, args ...string) *server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	var stdout strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			mu.Lock()
			stdout.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	addr := make(chan string, 1)
	s := &server{cancel: cancel, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(errR)
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		for sc.Scan() {
			s.logMu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		code := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--allow-insecure-webhooks"}, args...),
			env{stdin: strings.NewReader(""), stdout: outW, stderr: errW, getenv: func(string) string { return "" }})
		outW.Close()
		errW.Close()
		if code != 0 {
			s.done <- &exitError{code}
			return
		}
		s.done <- nil
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		tb.Fatalf("serve exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("serve did not log its address within 30 s")
	}
	// The demo prints its tokens before the server listens; give the reader
	// of the pipe a moment to catch up with them.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		s.stdout = stdout.String()
		mu.Unlock()
		if !slices.Contains(args, "--demo") || strings.Contains(s.stdout, "TEMPLATE2_ID") || time.Now().After(deadline) {
			break
		}
	}
	tb.Cleanup(func() { s.stop(tb) })
	return s
}

func (s *server) stop(tb testing.TB) {
	tb.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			tb.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Error("serve did not stop within 30 s of SIGTERM")
	}
}

type exitError struct{ code int }

func (e *exitError) Error() string { return "exit code " + string(rune('0'+e.code)) }

// runCLI runs one non-serve subcommand and returns its output and exit code.
func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errb strings.Builder
	code = run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

// TestREADMEWalkthrough runs the curl walk-through of the README, as printed,
// against `serve --demo`, failing on any command that fails or any HTTP
// answer that is not 2xx.
func TestREADMEWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed; .ci/run installs it")
		}
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var script string
	for _, b := range blocks {
		if strings.Contains(b[1], "api=http://127.0.0.1:8080/v1") {
			script = b[1]
		}
	}
	if script == "" {
		t.Fatal("README has no walk-through block setting api=http://127.0.0.1:8080/v1")
	}
	dir := t.TempDir()
	s := MustServe(t, dir, "--demo")
	exports := regexp.MustCompile(`(?m)^export .*$`).FindAllString(s.stdout, -1)
	if len(exports) < 5 {
		t.Fatalf("demo printed %d export lines:\n%s", len(exports), s.stdout)
	}
	script = strings.Replace(script, "http://127.0.0.1:8080", s.url, 1)
	full := "set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 20 \"$@\"; }\n" +
		strings.Join(exports, "\n") + "\n" + script
	cmd := exec.Command("bash", "-c", full)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"status":"waiting_for_confirmation"`, `"admin":1`, `"admin":0`, `"status":"accepted"`, `"valid_until"`, `"type":"offer.accepted"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walk-through output lacks %s:\n%s", want, out)
		}
	}
}

// TestCLI_VerifyHistoryExportRebuild runs the maintenance commands on the
// data a demo server wrote.
func TestCLI_VerifyHistoryExportRebuild(t *testing.T) {
	dir := t.TempDir()
	s := MustServe(t, dir, "--demo")
	// The operator token the demo prints is the one the server accepts.
	op := regexp.MustCompile(`(?m)^export OPERATOR_TOKEN=(\S+)$`).FindStringSubmatch(s.stdout)
	if op == nil {
		t.Fatalf("demo printed no operator token:\n%s", s.stdout)
	}
	req, _ := http.NewRequest("POST", s.url+"/v1/resellers", strings.NewReader(`{"name":"Second reseller"}`))
	req.Header.Set("Authorization", "Bearer "+op[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/resellers with the demo's operator token: %d, want 201", resp.StatusCode)
	}
	s.stop(t)

	out, errOut, code := runCLI("verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "log ok") || !strings.Contains(out, "read models ok") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runCLI("rebuild", "--data", dir)
	if code != 0 || !regexp.MustCompile(`rebuilt read models: \d+ events applied`).MatchString(out) {
		t.Fatalf("rebuild: exit %d\n%s\n%s", code, out, errOut)
	}
	exp := filepath.Join(dir, "log.ndjson")
	if _, errOut, code = runCLI("export", "--data", dir, "--out", exp); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(exp)
	if err != nil || strings.Count(string(b), "\n") < 20 {
		t.Fatalf("export wrote %d lines: %v", strings.Count(string(b), "\n"), err)
	}
	tok, errOut, code := runCLI("tokens", "create", "--data", dir, "--role", "auditor", "--tenant", "*")
	if code != 0 || !strings.HasPrefix(tok, "ofr_") {
		t.Fatalf("tokens create: exit %d %q %s", code, tok, errOut)
	}
	if _, _, code = runCLI("tokens", "create", "--data", dir, "--role", "customer", "--tenant", "nobody"); code != 2 {
		t.Fatalf("token for an unknown customer: exit %d, want 2", code)
	}
	if _, _, code = runCLI("history", "--data", dir, "no-such-offer"); code != 1 {
		t.Fatalf("history of an unknown offer: exit %d, want 1", code)
	}
	if _, _, code = runCLI("frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}

// TestServe_ProcessesOff runs a node without the process managers, as the
// other nodes of a cluster run: it serves, and it stops with exit 0.
func TestServe_ProcessesOff(t *testing.T) {
	s := MustServe(t, t.TempDir(), "--processes=false")
	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	s.stop(t) // reports a non-zero exit
}

// TestServe_LogsAddressOnceReady starts serve over a log whose read models
// are gone, so that the projections replay it at start-up: by the time the
// address is logged, /readyz must answer 200, as scripts query right after
// that line.
func TestServe_LogsAddressOnceReady(t *testing.T) {
	dir := t.TempDir()
	// The bench's log, without read models.
	if _, err := buildLog(context.Background(), filepath.Join(dir, eventsFile), 1500, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := MustServe(t, dir, "--processes=false")
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz right after the address was logged: %d, want 200", resp.StatusCode)
	}
	// Stopping within milliseconds of the catch-up, before the routers
	// have subscribed, must still be quick and clean (the cleanup's stop
	// fails on a non-zero exit or a stop slower than 30 s).
	start := time.Now()
	s.stop(t)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("serve took %v to stop right after start-up", d)
	}
}
