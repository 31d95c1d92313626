package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_FileModes starts serve on a data directory that exists with
// loose modes, as an older version left it: the directory becomes 0700,
// every file in it 0600 (SQLite's -wal and -shm included, after writes),
// the server secret is made, and an export is 0600 too, also when it
// replaces a file readable by others.
func TestServe_FileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the test's umask
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "readmodels.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "readmodels.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := MustServe(t, dir)
	req, _ := http.NewRequest("POST", s.url+"/v1/resellers", strings.NewReader(`{"name":"R"}`))
	req.Header.Set("Authorization", "Bearer "+mustCreateToken(t, dir, "operator", ""))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	s.stop(t)

	checkModes := func() {
		t.Helper()
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("data directory: %v, %v; want 0700", st.Mode(), err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().IsRegular() {
				seen[e.Name()] = true
				if info.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
				}
			}
		}
		for _, name := range []string{eventsFile, readModelsFile, idempotencyFile, secretFile} {
			if !seen[name] {
				t.Errorf("%s missing from the data directory (%v)", name, seen)
			}
		}
	}
	checkModes()

	// The secret survives a restart unchanged.
	before, err := os.ReadFile(filepath.Join(dir, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	MustServe(t, dir).stop(t)
	if after, _ := os.ReadFile(filepath.Join(dir, secretFile)); string(after) != string(before) {
		t.Fatal("the server secret changed across a restart")
	}
	checkModes()

	out := filepath.Join(t.TempDir(), "export.ndjson")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI("export", "--data", dir, "--out", out); code != 0 {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, %v; want 0600", st.Mode(), err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.ndjson")
	if _, errOut, code := runCLI("export", "--data", dir, "--out", fresh); code != 0 {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new export file: %v, %v; want 0600", st.Mode(), err)
	}
}

// TestLoadOrCreateSecret checks the secret file: made once, 0600, read
// back the same, tightened when looser, refused when damaged.
func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), secretFile)
	a, err := loadOrCreateSecret(path, true)
	if err != nil || len(a) != secretBytes {
		t.Fatalf("create: %d bytes, %v", len(a), err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := loadOrCreateSecret(path, true)
	if err != nil || string(a) != string(b) {
		t.Fatalf("load: %v, same %v", err, string(a) == string(b))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after load %v, want 0600", st.Mode().Perm())
	}
	// A file the operator named (--secret-file, a mounted secret) is read
	// as it is: its mode is not the server's to change.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if c, err := loadOrCreateSecret(path, false); err != nil || string(c) != string(a) {
		t.Fatalf("load as given: %v, same %v", err, string(a) == string(c))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o444 {
		t.Fatalf("mode of a named file after load %v, want it left 0444", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateSecret(path, true); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged secret: %v, want an error", err)
	}
}
