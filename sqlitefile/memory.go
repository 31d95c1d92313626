package sqlitefile

/*
// SQLite itself is compiled into the binary by the driver's package
// (github.com/mattn/go-sqlite3, its amalgamation); its memory functions are
// declared here rather than through sqlite3.h, which the driver does not
// install.
extern long long sqlite3_memory_used(void);
extern long long sqlite3_memory_highwater(int resetFlag);
static long long offerflow_sqlite_memory_used(void) { return sqlite3_memory_used(); }
static long long offerflow_sqlite_memory_highwater(void) { return sqlite3_memory_highwater(0); }
*/
import "C"

// MemoryUsed is the memory SQLite holds now, in bytes, over every
// connection of the process (page caches, prepared statements, schemas).
// It is allocated in C, outside the Go heap: neither the Go runtime's
// statistics nor its memory limit see it, but the process's resident size
// does.
func MemoryUsed() int64 { return int64(C.offerflow_sqlite_memory_used()) }

// MemoryHighwater is the most MemoryUsed has been since the process began.
func MemoryHighwater() int64 { return int64(C.offerflow_sqlite_memory_highwater()) }
