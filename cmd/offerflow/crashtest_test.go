package main

import (
	"os"
	"strings"
	"testing"
)

// testMainEnv makes the test binary run as offerflow itself, so that
// crashtest can start it as its server without a separate build.
const testMainEnv = "OFFERFLOW_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestCrashtest runs the crash test's short form: the real program as a
// child process, killed five times under load, stopped once with SIGTERM,
// then every acknowledged command looked up in the log.
func TestCrashtest(t *testing.T) {
	t.Setenv(testMainEnv, "1")
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
