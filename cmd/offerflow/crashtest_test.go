package main

import (
	"os"
	"strings"
	"testing"
)

// TestCrashtest runs the crash test's short form: the real program as a
// child process (the test binary runs as offerflow, see TestMain), killed five times under load, stopped once with SIGTERM,
// then every acknowledged command looked up in the log.
func TestCrashtest(t *testing.T) {
	t.Setenv(runAsProgramEnv, "1")
	stdout, stderr, code := runCLI("crashtest", "--kills", "5", "--clients", "4", "--bin", os.Args[0], "--data", t.TempDir())
	t.Log(stdout)
	if code != 0 {
		t.Fatalf("crashtest exited %d:\n%s", code, stderr)
	}
	for _, want := range []string{"kills survived: 5 of 5", "lost 0, duplicated 0", "match a rebuild", "integrity_check ok: events.db"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
