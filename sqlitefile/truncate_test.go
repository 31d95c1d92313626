package sqlitefile_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/offerflow/offerflow/sqlitefile"
)

// TestTruncateWAL: the log is emptied when nothing reads it; while a read
// transaction holds it, every try finds it busy and TruncateWAL says so,
// and once the reader is gone it finishes.
func TestTruncateWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sqlitefile.Open(path, sqlitefile.Settings{JournalMode: "WAL", BusyTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// No automatic checkpoints: the log keeps every frame until truncated;
	// a checkpoint a reader blocks waits out the busy timeout.
	db.SetMaxOpenConns(2)
	if _, err := db.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		t.Fatal(err)
	}
	write := func() {
		t.Helper()
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS t (v TEXT); INSERT INTO t VALUES ('Kundin')`); err != nil {
			t.Fatal(err)
		}
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	write()
	if walSize() == 0 {
		t.Fatal("the write left the log empty: nothing to test")
	}
	// A reader whose snapshot needs the log's frames.
	reader, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	write()
	done, err := sqlitefile.TruncateWAL(ctx, db, 2, time.Millisecond)
	if err != nil || done {
		t.Fatalf("with a reader: TruncateWAL = %v, %v; want not done, no error", done, err)
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	done, err = sqlitefile.TruncateWAL(ctx, db, 2, time.Millisecond)
	if err != nil || !done {
		t.Fatalf("without a reader: TruncateWAL = %v, %v; want done", done, err)
	}
	if s := walSize(); s != 0 {
		t.Errorf("log of %d bytes after TruncateWAL, want 0", s)
	}
}
