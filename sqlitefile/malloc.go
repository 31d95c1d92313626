package sqlitefile

/*
#include <malloc.h>

// M_ARENA_MAX and malloc_trim are glibc's; another C library (musl) keeps
// its own ways and these do nothing there.
static int offerflow_malloc_arenas(int n) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	return mallopt(M_ARENA_MAX, n);
#else
	return 0;
#endif
}

static int offerflow_malloc_trim(void) {
#if defined(__GLIBC__)
	return malloc_trim(0);
#else
	return 0;
#endif
}
*/
import "C"

// LimitMallocArenas caps the C allocator's arenas (glibc's M_ARENA_MAX) at
// n, and reports whether the C library took the setting. Call it as early
// as the process allows (a main package's init): arenas made before it
// stay.
//
// Why: glibc gives each thread that allocates while another holds an arena
// an arena of its own, up to eight per core. SQLite allocates from whichever
// of the Go runtime's threads runs the cgo call, so its page caches and
// statements end up spread over a dozen arenas, each keeping what SQLite
// freed in it for its own thread's later use. In offerflow bench --parts
// http the server's C heap held 27-35 MB in ten arenas while SQLite itself
// had 8 MB allocated (MemoryUsed). With two arenas, what one thread freed
// is there for the next. Setting MALLOC_ARENA_MAX in the environment does
// the same, and rules when set: a later mallopt overrides it, so callers
// leave it alone then.
func LimitMallocArenas(n int) bool { return C.offerflow_malloc_arenas(C.int(n)) == 1 }

// TrimMalloc hands the pages the C allocator holds free, in every arena,
// back to the operating system (glibc's malloc_trim), and reports whether
// any were. SQLite frees and allocates page cache pages all the time;
// what it freed stays resident in the arenas, in holes too small for the
// allocator to give back by itself, until this is called.
func TrimMalloc() bool { return C.offerflow_malloc_trim() == 1 }
