package sqlitefile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/sqlitefile"
)

// TestOpen checks that each setting reaches the connection as the pragma
// SQLite reports back, on a real file whose name needs escaping.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a dir?#", "x.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		settings sqlitefile.Settings
		pragmas  map[string]string
	}{
		{"defaults", sqlitefile.Settings{}, map[string]string{"busy_timeout": "5000", "secure_delete": "0", "foreign_keys": "0", "query_only": "0", "wal_autocheckpoint": "1000"}},
		{"everything", sqlitefile.Settings{JournalMode: "WAL", Synchronous: "NORMAL", SecureDelete: true, ForeignKeys: true, BusyTimeout: 10e9, CacheKiB: 1024},
			map[string]string{"journal_mode": "wal", "synchronous": "1", "secure_delete": "1", "foreign_keys": "1", "busy_timeout": "10000", "cache_size": "-1024"}},
		{"read only", sqlitefile.Settings{ReadOnly: true}, map[string]string{"query_only": "1"}},
		// The other settings reach a connection whose log is checkpointed
		// apart as well.
		{"checkpoint apart", sqlitefile.Settings{JournalMode: "WAL", Synchronous: "NORMAL", ImmediateTx: true, CheckpointApart: true},
			map[string]string{"journal_mode": "wal", "synchronous": "1", "wal_autocheckpoint": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlitefile.Open(path, tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for pragma, want := range tt.pragmas {
				var got string
				if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", pragma, err)
				}
				if !strings.EqualFold(got, want) {
					t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
				}
			}
		})
	}
	// The file is where path says, not at a name cut at '?' or '#'.
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database file: %v", err)
	}
}

func TestOpen_ReadOnlyRefusesWrites(t *testing.T) {
	db, err := sqlitefile.Open(filepath.Join(t.TempDir(), "x.db"), sqlitefile.Settings{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (x)"); err == nil {
		t.Fatal("a read-only connection created a table")
	}
}

func TestOpen_Memory(t *testing.T) {
	db, err := sqlitefile.Open(sqlitefile.Memory, sqlitefile.Settings{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("the table is gone on the pool's one connection: %v", err)
	}
	if _, err := sqlitefile.Open("", sqlitefile.Settings{}); err == nil {
		t.Fatal("an empty path was accepted")
	}
}

// TestCheckpointApart_CloseRemovesTheLog: closing a pool whose log is
// checkpointed apart stops each connection's checkpointer before the
// connection, so that the last one to close checkpoints the log and
// removes it, as SQLite does without.
func TestCheckpointApart_CloseRemovesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sqlitefile.Open(path, sqlitefile.Settings{JournalMode: "WAL", Synchronous: "NORMAL", CheckpointApart: true, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (b) VALUES (zeroblob(4096))`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no write-ahead log while open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("the write-ahead log is left after the close: %v", err)
	}
}
