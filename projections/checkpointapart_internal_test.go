package projections

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDB_CheckpointsApart: the read models' write connection never
// checkpoints the write-ahead log inside a commit (its automatic checkpoint
// is off, sqlitefile.Settings.CheckpointApart), and a connection of its own
// copies the log into the file as commits come. In WAL mode only a
// checkpoint writes pages into the file, so the file's growth tells that
// it ran.
func TestDB_CheckpointsApart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "read.db")
	db, err := OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	var auto int
	if err := db.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("the write connection checkpoints every %d pages itself", auto)
	}

	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE walfill (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	// More pages than a checkpoint takes, a commit each: the checkpointer hears of
	// every one.
	const rows = 1500 // SQLite checkpoints every 1,000 pages
	for range rows {
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO walfill (b) VALUES (zeroblob(4096))`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := before.Size() + rows*4096
	deadline := time.Now().Add(20 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file holds %d bytes after %d commits of a 4 KiB row, want at least %d: the log was not checkpointed", fi.Size(), rows, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
