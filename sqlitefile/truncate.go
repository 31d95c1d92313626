package sqlitefile

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TruncateWAL copies the write-ahead log of db's file into the file and
// truncates it to nothing, trying up to tries times, pause apart, while a
// reader (another connection, another process) keeps the checkpoint from
// finishing. It reports whether it finished. Offerflow truncates the log
// after writes that remove customers' texts: until the checkpoint the log
// still holds the pages as they were before. A checkpoint left unfinished
// is SQLite's to finish when the last connection closes.
func TruncateWAL(ctx context.Context, db *sql.DB, tries int, pause time.Duration) (bool, error) {
	for try := 1; ; try++ {
		var busy, frames, done int
		if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
			return false, fmt.Errorf("checkpoint the write-ahead log: %w", err)
		}
		if busy == 0 {
			return true, nil
		}
		if try >= tries {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(pause):
		}
	}
}
