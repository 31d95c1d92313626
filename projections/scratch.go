package projections

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Scratch read models hold the customers' texts opened, as the live read
// models do, but unlike those nothing nulls them at an erasure: a rebuild's
// scratch file (<readmodels>.rebuild), the directory of ?as_of= replays
// (Past) and verify's comparison copy. Their owner removes them when it
// ends; a process that is killed (SIGKILL, OOM, power loss) cannot, so each
// is locked by its owner for as long as it exists (an advisory lock on the
// file or directory, flock(2) where there is one). The kernel drops the
// lock when the owner dies, however it dies: an unlocked scratch file is a
// leftover and RemoveScratch removes it; a locked one is in use by a live
// process (a verify running beside serve) and is left to it.
//
// Scratch files are made by us, empty and 0600, before SQLite opens them
// (SQLite would create them with the process umask), always beside the
// read models they copy, in the data directory: never in os.TempDir, which
// may be another file system, outside the operator's disk encryption and
// backup policy.

// ScratchSuffix names a rebuild's scratch file: the read models' path with
// it appended.
const ScratchSuffix = ".rebuild"

// RebuildScratchFiles returns the scratch files a rebuild of the read
// models at path makes, one per lane (see rebuildLanes): the first is
// swapped in, the others are copied into it and removed.
func RebuildScratchFiles(path string) []string {
	out := make([]string, maxLanes)
	for i := range out {
		out[i] = lanePath(path+ScratchSuffix, i)
	}
	return out
}

// scratchLock is the lock on a scratch file or directory; Close releases it.
type scratchLock struct{ f *os.File }

// Close releases the lock; again, it does nothing.
func (l *scratchLock) Close() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	return f.Close()
}

// createScratchFile creates the empty file at path, 0600, locked: a
// leftover found there is removed first; one in use by a live process is
// an error.
func createScratchFile(path string) (*scratchLock, error) {
	if _, err := RemoveScratch(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		// Another process made it since RemoveScratch looked.
		return nil, fmt.Errorf("scratch file %s: %w", path, err)
	}
	return lockCreated(f, path)
}

// lockScratchDir locks the directory at path, which the caller has just
// created (or found and emptied) for its scratch files.
func lockScratchDir(path string) (*scratchLock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scratch directory %s: %w", path, err)
	}
	return lockCreated(f, path)
}

// lockCreated locks f, the file or directory just made at path. Between
// making it and locking it, another process's RemoveScratch may have found
// it unlocked and removed it: then path is no longer f, and using it would
// write outside any lock.
func lockCreated(f *os.File, path string) (*scratchLock, error) {
	ok, err := tryLock(f)
	if err == nil && !ok {
		err = errors.New("locked by another process")
	}
	if err == nil {
		var mine, there os.FileInfo
		if mine, err = f.Stat(); err == nil {
			there, err = os.Stat(path)
		}
		if err == nil && !os.SameFile(mine, there) {
			err = errors.New("removed by another process while it was being made")
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("scratch %s: %w", path, err), f.Close())
	}
	return &scratchLock{f: f}, nil
}

// RemoveScratch removes the scratch file or directory at path (a rebuild's
// scratch database with its side files, a directory with everything in
// it) unless a live process holds its lock, and tells whether there was
// something to remove. Nothing at path is no error.
func RemoveScratch(path string) (removed bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A rebuild's side files may outlive their database (a crash
		// between removals): removeDBFiles takes them too.
		return sideFilesLeft(path), removeDBFiles(path)
	}
	if err != nil {
		return false, fmt.Errorf("scratch %s: %w", path, err)
	}
	// The lock is held while removing: a process starting the same
	// command meanwhile cannot take path for its own and lose it.
	ok, err := tryLock(f)
	if err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrScratchInUse, path)
		}
		return false, errors.Join(err, f.Close())
	}
	fi, err := f.Stat()
	if err == nil {
		if fi.IsDir() {
			err = os.RemoveAll(path)
		} else {
			err = removeDBFiles(path)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("remove scratch %s: %w", path, err)
	}
	return true, nil
}

// ErrScratchInUse is RemoveScratch's error for a scratch file or directory
// whose owner is alive.
var ErrScratchInUse = errors.New("scratch read models in use by a running process")

// sideFilesLeft tells whether any of SQLite's side files of path exist.
func sideFilesLeft(path string) bool {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Lstat(path + suffix); err == nil {
			return true
		}
	}
	return false
}

// createEmptyPrivate creates the empty file at path, 0600, for SQLite to
// open as a new database, and closes it: SQLite would make it with the
// process umask, which is the binary's (077) but not a library user's.
func createEmptyPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("scratch file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("scratch file: %w", err)
	}
	return nil
}

// ScratchDir is a directory of scratch read models a command makes for
// itself (verify's comparison copy), locked while it exists.
type ScratchDir struct {
	path string
	lock *scratchLock
}

// MakeScratchDir makes a new directory in parent (os.MkdirTemp: 0700, a
// name of pattern with random digits) and locks it. parent should be the
// data directory: see above for why not os.TempDir.
func MakeScratchDir(parent, pattern string) (*ScratchDir, error) {
	path, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	lock, err := lockScratchDir(path)
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(path))
	}
	return &ScratchDir{path: path, lock: lock}, nil
}

// Path returns the directory's path.
func (d *ScratchDir) Path() string { return d.path }

// Remove removes the directory with everything in it, then releases its
// lock. The databases in it must be closed.
func (d *ScratchDir) Remove() error {
	err := os.RemoveAll(d.path)
	if err != nil {
		err = fmt.Errorf("remove scratch %s: %w", d.path, err)
	}
	return errors.Join(err, d.lock.Close())
}
