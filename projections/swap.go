package projections

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// replace makes the database file at scratch db's file, atomically, and
// reopens db on it. scratch must be closed. unlock, called just after the
// rename, releases the scratch file's lock (see rebuild).
//
// The order matters for a crash at any step: until the rename, db's file
// is whole and the scratch file is merely left over; after it, the new file
// is whole, because it was synced before. The current file's WAL is
// checkpointed into it and must be gone before the rename, or SQLite would
// apply the old WAL to the new file.
func (db *DB) replace(ctx context.Context, scratch string, unlock func() error) error {
	if err := syncFile(scratch); err != nil {
		return err
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint %s: %w", db.path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.path, err)
	}
	// The last connection to close deletes the WAL; one still there (with
	// frames) means another process has the file open.
	if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() > 0 {
		return errors.Join(fmt.Errorf("%s is in use by another process: stop it before a rebuild", db.path), db.open(ctx))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Join(fmt.Errorf("swap in %s: %w", scratch, err), db.open(ctx))
		}
	}
	if err := os.Rename(scratch, db.path); err != nil {
		return errors.Join(fmt.Errorf("swap in %s: %w", scratch, err), db.open(ctx))
	}
	if err := unlock(); err != nil {
		return errors.Join(fmt.Errorf("swap in %s: %w", scratch, err), db.open(ctx))
	}
	if err := syncFile(filepath.Dir(db.path)); err != nil {
		return errors.Join(err, db.open(ctx))
	}
	db.scratch = false
	return db.open(ctx)
}

// emptyDBFile empties the SQLite database at path, which no connection
// has open, and removes its side files, keeping the file itself (its mode,
// a lock on it).
func emptyDBFile(path string) error {
	if err := os.Truncate(path, 0); err != nil {
		return fmt.Errorf("empty %s: %w", path, err)
	}
	if err := removeFiles(path, "-wal", "-shm", "-journal"); err != nil {
		return fmt.Errorf("empty %s: %w", path, err)
	}
	return nil
}

// syncFile flushes the file or directory at path to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// removeDBFiles removes the SQLite database at path and its side files, if
// any.
func removeDBFiles(path string) error {
	return removeFiles(path, "", "-wal", "-shm", "-journal")
}

// removeFiles removes path with each of suffixes appended, those that
// exist.
func removeFiles(path string, suffixes ...string) error {
	var errs []error
	for _, suffix := range suffixes {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
