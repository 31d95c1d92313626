package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryLimit is serve's soft memory limit unless told otherwise.
// Without one, Go lets the heap grow to twice what is live before it
// collects: a server that falls behind a burst of offers holds its backlog's
// garbage as well, and its RSS reached 238-266 MB in `bench --parts http`
// with 51-69 MB live. A soft limit makes the collector run sooner as the heap
// nears it; it never fails an allocation (the heap may exceed it when that
// much is live), so it trades CPU for RSS only under pressure.
//
// 96 MiB: at the peak of `bench --parts http` the server holds 40-50 MB
// live and 10-12 MB of goroutine stacks, and with 128 MiB its Go memory
// stayed near the limit (116-124 MB), which with SQLite's C memory (about
// 20 MB) and the mapped binary (22 MB) put its RSS at 155-166 MB. 96 MiB
// keeps the whole under 150 MB and still leaves the collector room above
// what is live.
const defaultMemoryLimit = 96 << 20

// byteSize is a flag holding a number of bytes, written as a whole number
// with an optional unit: B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB
// (powers of 1000), the units GOMEMLIMIT takes plus the decimal ones.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (a whole number of bytes, optionally with KiB, MiB, GiB, KB, MB or GB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// applyMemoryLimit sets the process's soft memory limit to limit bytes (0:
// none) unless GOMEMLIMIT (fromEnv) already set it, and returns what
// restores the limit it found: the limit is the runtime's, one per
// process, and serve runs inside tests too.
func applyMemoryLimit(limit int64, fromEnv string) (restore func()) {
	if fromEnv != "" {
		return func() {}
	}
	if limit == 0 {
		limit = math.MaxInt64 // the runtime's "no limit"
	}
	prev := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(prev) }
}
