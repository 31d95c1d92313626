package main

import (
	"errors"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestServe_MemoryLimitFlag(t *testing.T) {
	parse := func(gomemlimit string, args ...string) (serveConfig, error) {
		getenv := func(k string) string {
			if k == "GOMEMLIMIT" {
				return gomemlimit
			}
			return ""
		}
		m := NewMain(env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: getenv})
		err := m.ParseFlags(args)
		return m.cfg, err
	}
	for _, tc := range []struct {
		name       string
		gomemlimit string
		args       []string
		want       int64
		usage      bool
	}{
		{"Default", "", nil, 96 << 20, false},
		{"MiB", "", []string{"--memory-limit", "256MiB"}, 256 << 20, false},
		{"GiB", "", []string{"--memory-limit=1GiB"}, 1 << 30, false},
		{"DecimalMB", "", []string{"--memory-limit", "300MB"}, 300e6, false},
		{"Bytes", "", []string{"--memory-limit", "1048576"}, 1 << 20, false},
		{"Off", "", []string{"--memory-limit", "0"}, 0, false},
		{"Negative", "", []string{"--memory-limit", "-1MiB"}, 0, true},
		{"NoNumber", "", []string{"--memory-limit", "lots"}, 0, true},
		{"Fraction", "", []string{"--memory-limit", "1.5GiB"}, 0, true},
		{"Overflow", "", []string{"--memory-limit", "9000000000TiB"}, 0, true},
		{"EnvRules", "200MiB", nil, 96 << 20, false},
		{"EnvAndFlag", "200MiB", []string{"--memory-limit", "64MiB"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(tc.gomemlimit, tc.args...)
			var usage usageError
			if tc.usage {
				if !errors.As(err, &usage) {
					t.Fatalf("ParseFlags(%q) with GOMEMLIMIT %q = %v, want a usage error", tc.args, tc.gomemlimit, err)
				}
				return
			}
			if err != nil || int64(c.memoryLimit) != tc.want || c.gomemlimit != tc.gomemlimit {
				t.Fatalf("limit %d, GOMEMLIMIT %q, error %v; want %d, %q", c.memoryLimit, c.gomemlimit, err, tc.want, tc.gomemlimit)
			}
		})
	}
}

// TestApplyMemoryLimit: serve sets the runtime's limit, leaves it to
// GOMEMLIMIT when that is set, and puts back the one it found.
func TestApplyMemoryLimit(t *testing.T) {
	current := func() int64 { return debug.SetMemoryLimit(-1) } // -1 reads it
	before := current()
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	restore := applyMemoryLimit(96<<20, "")
	if got := current(); got != 96<<20 {
		t.Fatalf("limit %d after applying 96 MiB", got)
	}
	restore()
	if got := current(); got != before {
		t.Fatalf("limit %d after restoring, want %d", got, before)
	}

	restore = applyMemoryLimit(0, "")
	if got := current(); got != math.MaxInt64 {
		t.Fatalf("limit %d after applying 0 (none)", got)
	}
	restore()

	debug.SetMemoryLimit(200 << 20) // as GOMEMLIMIT=200MiB would
	restore = applyMemoryLimit(96<<20, "200MiB")
	if got := current(); got != 200<<20 {
		t.Fatalf("limit %d with GOMEMLIMIT set, want GOMEMLIMIT's %d", got, 200<<20)
	}
	restore()
	if got := current(); got != 200<<20 {
		t.Fatalf("limit %d after restoring with GOMEMLIMIT set", got)
	}
}
