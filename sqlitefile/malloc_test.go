package sqlitefile_test

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/offerflow/offerflow/sqlitefile"
)

// TestTrimMalloc: pages SQLite freed between pages it still holds stay
// with the C allocator, which cannot shrink its heap past them, until
// TrimMalloc hands them back. Two connections fill their caches in turns,
// so that their pages interleave in one arena (the goroutine is locked to
// one thread, and a thread allocates from its arena); closing one leaves
// megabytes of holes.
func TestTrimMalloc(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir := t.TempDir()
	open := func(name string) *sql.DB {
		db, err := sqlitefile.Open(filepath.Join(dir, name), sqlitefile.Settings{JournalMode: "WAL", CacheKiB: 16 << 10, MaxOpenConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE t (x BLOB)`); err != nil {
			t.Fatal(err)
		}
		return db
	}
	a, b := open("a.db"), open("b.db")
	defer b.Close()
	for range 40 {
		for _, db := range []*sql.DB{a, b} {
			if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
				INSERT INTO t SELECT randomblob(1000) FROM n`); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !sqlitefile.TrimMalloc() {
		t.Error("TrimMalloc released nothing after a connection freed its 4 MB cache between another's pages")
	}
}
