package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	ohttp "github.com/offerflow/offerflow/http"
)

// runCLIInput is runCLI with stdin.
func runCLIInput(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb strings.Builder
	code = run(context.Background(), args, env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

// mustCreateToken runs `tokens create` and returns the token.
func mustCreateToken(tb testing.TB, dir string, role, tenant string) string {
	tb.Helper()
	out, errOut, code := runCLI("tokens", "create", "--data", dir, "--role", role, "--tenant", tenant)
	if code != 0 || !strings.HasPrefix(out, "ofr_") {
		tb.Fatalf("tokens create: exit %d %q %s", code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// TestCLI_TokensRevoke revokes tokens named on the command line, on stdin
// and by hash, while a server runs on the same data directory: each stops
// working within the server's poll of the log, and the others keep working.
func TestCLI_TokensRevoke(t *testing.T) {
	dir := t.TempDir()
	s := MustServe(t, dir)
	status := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/v1/offers", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	byFlag := mustCreateToken(t, dir, "auditor", "*")
	byStdin := mustCreateToken(t, dir, "auditor", "*")
	byHash := mustCreateToken(t, dir, "auditor", "*")
	kept := mustCreateToken(t, dir, "auditor", "*")
	for _, tok := range []string{byFlag, byStdin, byHash, kept} {
		if got := status(tok); got != 200 {
			t.Fatalf("a new auditor token: %d, want 200", got)
		}
	}

	revoked := regexp.MustCompile(`^revoked token [0-9a-f-]{36}\n$`)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		token       string
	}{
		{"Flag", "", []string{"--token", byFlag}, byFlag},
		{"Stdin", byStdin + "\r\n", []string{"--token", "-"}, byStdin},
		{"Hash", "", []string{"--token-hash", ohttp.HashToken(byHash)}, byHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLIInput(tc.stdin, append([]string{"tokens", "revoke", "--data", dir}, tc.args...)...)
			if code != 0 || !revoked.MatchString(out) {
				t.Fatalf("tokens revoke: exit %d %q %s", code, out, errOut)
			}
			// serve caches token look-ups and learns of a revocation by
			// another process from the log, which it polls every second.
			deadline := time.Now().Add(15 * time.Second) // the poll is 1 s; the margin is for a loaded machine
			for status(tc.token) != 401 {
				if time.Now().After(deadline) {
					t.Fatal("the revoked token still works after 15 s, want 401 soon after the log's next poll")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	if got := status(kept); got != 200 {
		t.Fatalf("a token nobody revoked: %d, want 200", got)
	}

	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"AlreadyRevoked", "", []string{"--token", byFlag}, 1, "already revoked"},
		{"NeverIssued", "", []string{"--token", "ofr_never-issued"}, 1, "no token was issued"},
		{"NoToken", "", nil, 2, "--token or --token-hash is required"},
		{"Both", "", []string{"--token", kept, "--token-hash", ohttp.HashToken(kept)}, 2, "not both"},
		{"HashNotHex", "", []string{"--token-hash", "token-" + ohttp.HashToken(kept)[6:]}, 2, "64 lower-case hex digits"},
		{"EmptyStdin", "\n", []string{"--token", "-"}, 2, "stdin held no token"},
		{"StrayArgument", "", []string{"--token", kept, "extra"}, 2, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLIInput(tc.stdin, append([]string{"tokens", "revoke", "--data", dir}, tc.args...)...)
			if code != tc.code || out != "" || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.code, tc.stderr)
			}
		})
	}
	if _, _, code := runCLI("tokens", "frobnicate"); code != 2 {
		t.Fatalf("tokens frobnicate: exit %d, want 2", code)
	}
	if got := status(kept); got != 200 {
		t.Fatalf("after the refused revocations, a token nobody revoked: %d, want 200", got)
	}
	s.stop(t)

	// The log records each revocation once, with the CLI as its actor.
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	for _, tok := range []string{byFlag, byStdin, byHash} {
		evs, err := store.ReadStream(context.Background(), "token-"+ohttp.HashToken(tok), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].Type != "token.revoked" || evs[1].Metadata.Actor.Role != "operator" || evs[1].Metadata.Actor.Subject != "cli" {
			t.Fatalf("token stream %+v", evs)
		}
	}
	if _, ok, err := svc.LookupToken(context.Background(), ohttp.HashToken(kept)); !ok || err != nil {
		t.Fatalf("lookup of the kept token: ok %v, err %v", ok, err)
	}
}

// TestCLI_TokensCreateNameTTL creates a token with --name and --ttl: its
// token.issued records both; a malformed --ttl or name exits 2.
func TestCLI_TokensCreateNameTTL(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runCLI("tokens", "create", "--data", dir, "--role", "auditor", "--tenant", "*", "--name", "Anna Audit", "--ttl", "720h")
	if code != 0 || !strings.HasPrefix(out, "ofr_") {
		t.Fatalf("tokens create: exit %d %q %s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"--ttl", "500ms"}, {"--ttl", "-1h"}, {"--ttl", "soon"}, {"--name", "Anna\u202Etidua"},
	} {
		if _, errOut, code := runCLI(append([]string{"tokens", "create", "--data", dir, "--role", "auditor", "--tenant", "*"}, args...)...); code != 2 {
			t.Errorf("tokens create %v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	evs, err := store.ReadStream(context.Background(), "token-"+ohttp.HashToken(strings.TrimSpace(out)), 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("token stream %v, %v", evs, err)
	}
	var issued struct {
		Name      string    `json:"name"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(evs[0].Data, &issued); err != nil {
		t.Fatal(err)
	}
	if ttl := issued.ExpiresAt.Sub(evs[0].Metadata.OccurredAt); issued.Name != "Anna Audit" || ttl != 720*time.Hour {
		t.Fatalf("issued %+v (ttl %v), want the name and 720h", issued, ttl)
	}
}
