package sqlitefile_test

import (
	"path/filepath"
	"testing"

	"github.com/offerflow/offerflow/sqlitefile"
)

// TestMemoryUsed: SQLite's own count grows with what a connection caches
// and falls when the connection closes, so the metric built on it follows
// the page caches the settings size.
func TestMemoryUsed(t *testing.T) {
	db, err := sqlitefile.Open(filepath.Join(t.TempDir(), "m.db"), sqlitefile.Settings{JournalMode: "WAL", CacheKiB: 4096, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x BLOB)`); err != nil {
		t.Fatal(err)
	}
	before := sqlitefile.MemoryUsed()
	// About 2 MiB of rows: their pages stay in the connection's 4 MiB cache.
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO t SELECT randomblob(1000) FROM n`); err != nil {
		t.Fatal(err)
	}
	during := sqlitefile.MemoryUsed()
	if during-before < 1<<20 {
		t.Errorf("MemoryUsed grew by %d bytes while a connection cached 2 MB of pages, want at least 1 MiB", during-before)
	}
	if hw := sqlitefile.MemoryHighwater(); hw < during {
		t.Errorf("MemoryHighwater %d, below MemoryUsed %d", hw, during)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after := sqlitefile.MemoryUsed(); after > during-(1<<20) {
		t.Errorf("MemoryUsed %d after the connection closed, want at least 1 MiB less than the %d it held", after, during)
	}
}
