package main

import (
	"context"
	"os"
	"time"

	"github.com/offerflow/offerflow/sqlitefile"
)

// mallocArenas caps the C allocator's arenas, where SQLite's memory lives
// (see sqlitefile.LimitMallocArenas): one per core of the machines
// offerflow is sized for.
const mallocArenas = 2

// mallocTrimInterval is how often serve hands the C allocator's free pages
// back (sqlitefile.TrimMalloc): a trim takes about a millisecond, and what
// SQLite frees builds up again within seconds under load.
const mallocTrimInterval = time.Second

// init caps the C allocator's arenas before most of the Go runtime's
// threads have allocated in C and so made arenas of their own: glibc reads
// the cap when a thread first needs one, and arenas made before it stay.
// MALLOC_ARENA_MAX in the environment, which glibc read before any of
// this, rules when set.
func init() {
	if os.Getenv("MALLOC_ARENA_MAX") == "" {
		sqlitefile.LimitMallocArenas(mallocArenas)
	}
}

// trimMalloc calls sqlitefile.TrimMalloc every interval until ctx ends.
func trimMalloc(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sqlitefile.TrimMalloc()
		}
	}
}
