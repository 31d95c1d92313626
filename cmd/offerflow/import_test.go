package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore/treehead"
	"github.com/offerflow/offerflow/projections"
)

// mustExport runs `offerflow export` on dir and returns what it wrote.
func mustExport(tb testing.TB, dir string) string {
	tb.Helper()
	out, stderr, code := runCLI("export", "--data", dir)
	if code != 0 {
		tb.Fatalf("export %s: exit %d: %s", dir, code, stderr)
	}
	return out
}

// readModelFingerprint rebuilds dir's read models and returns their
// fingerprint.
func readModelFingerprint(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	if out, stderr, code := runCLI("rebuild", "--data", dir); code != 0 {
		tb.Fatalf("rebuild %s: exit %d\n%s\n%s", dir, code, out, stderr)
	}
	ctx := context.Background()
	db, err := projections.OpenDB(ctx, filepath.Join(dir, readModelsFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	fp, err := db.Fingerprint(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return fp
}

// TestImport_RoundTrip exports a demo server's log, with the tree heads
// serve signed into it, imports it into a new data directory and checks
// that the copy verifies (also against a head signed on the original),
// exports byte for byte as the original, and rebuilds into the same read
// models.
func TestImport_RoundTrip(t *testing.T) {
	orig := t.TempDir()
	s := MustServe(t, orig, "--demo", "--head-interval", "20ms")
	var export string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if export = mustExport(t, orig); strings.Contains(export, `"stream":"`+treehead.Stream+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve recorded no tree head within 10 s")
		}
	}
	s.stop(t)
	export = mustExport(t, orig)
	heads := filepath.Join(t.TempDir(), "heads")
	if err := os.WriteFile(heads, []byte(mustHead(t, orig)), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "log.ndjson")
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}

	copyDir := filepath.Join(t.TempDir(), "copy")
	out, stderr, code := runCLI("import", "--data", copyDir, file)
	if code != 0 || !strings.Contains(out, "imported ") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, stderr)
	}
	// The export holds no key: the customers' texts open in the copy with
	// the original's key store beside it (docs/audit.md).
	keys, err := os.ReadFile(filepath.Join(orig, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copyDir, "keys.db"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runCLI("verify", "--data", copyDir, "--head", heads); code != 0 {
		t.Fatalf("verify of the import: exit %d\n%s\n%s", code, out, stderr)
	}
	if got := mustExport(t, copyDir); got != export {
		t.Fatalf("export of the import differs from the original export:\n%s", cmp.Diff(export, got))
	}
	if diff := cmp.Diff(readModelFingerprint(t, orig), readModelFingerprint(t, copyDir)); diff != "" {
		t.Fatalf("read models of the import differ (-original +import):\n%s", diff)
	}

	// Again, into a log no longer empty: refused, nothing written.
	out, stderr, code = runCLIInput(export, "import", "--data", copyDir, "-")
	if code != 1 || !strings.Contains(stderr, "already holds events") {
		t.Fatalf("import into a non-empty log: exit %d\n%s\n%s", code, out, stderr)
	}
	if got := mustExport(t, copyDir); got != export {
		t.Fatal("a refused import changed the log")
	}
}

// TestImport_RefusesBadLines checks that an export with a malformed or a
// tampered line is refused naming that line, creating nothing.
func TestImport_RefusesBadLines(t *testing.T) {
	orig := t.TempDir()
	mustBenchLog(t, orig, 50)
	lines := strings.SplitAfter(mustExport(t, orig), "\n")
	if len(lines) < 10 {
		t.Fatalf("export has %d lines", len(lines))
	}
	tampered := strings.Replace(lines[4], `"version":`, `"version":1`, 1)
	cases := map[string]string{
		"not JSON":      "{\"id\":\n",
		"unknown field": strings.Replace(lines[4], `{`, `{"extra":1,`, 1),
		"two values":    strings.TrimSuffix(lines[4], "\n") + " {}\n",
		"tampered":      tampered,
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			in := strings.Join(lines[:4], "") + bad + strings.Join(lines[5:], "")
			dir := filepath.Join(t.TempDir(), "copy")
			out, stderr, code := runCLIInput(in, "import", "--data", dir)
			if code != 1 || !strings.Contains(stderr, "line 5:") || !strings.Contains(stderr, "nothing was imported") {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("a refused import created %s (%v)", dir, err)
			}
		})
	}
}
