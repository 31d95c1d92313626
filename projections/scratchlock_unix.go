//go:build unix

package projections

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) on f without waiting and tells
// whether it got it. flock belongs to the open file, not to the process:
// a second open of the same path in this process does not get it either,
// so a process never takes its own scratch files for leftovers. It is
// apart from the POSIX locks SQLite takes on its files (on local file
// systems; the data directory must not be on NFS for SQLite's sake anyway).
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
	}
}
