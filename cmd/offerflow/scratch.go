package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/offerflow/offerflow/projections"
)

// verifyDirPrefix begins the name of the directory in the data directory
// where verify rebuilds its comparison copy of the read models.
const verifyDirPrefix = "verify-"

// scratchPaths returns every place in the data directory where a command
// keeps scratch read models, which hold the customers' texts opened: a
// rebuild's scratch files, serve's ?as_of= replays, verify's comparison
// copies. Only directories are taken for verify's, so that a file of the
// operator's named verify-something is never removed.
func scratchPaths(sf storeFlags) ([]string, error) {
	paths := append(projections.RebuildScratchFiles(sf.path(readModelsFile)), sf.path(asOfDir))
	entries, err := os.ReadDir(sf.data)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", sf.data, err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), verifyDirPrefix) {
			paths = append(paths, filepath.Join(sf.data, e.Name()))
		}
	}
	return paths, nil
}

// removeLeftovers removes the scratch read models a killed process left in
// the data directory (a crash, the OOM killer, a power loss: it had no
// chance to), logging each. Their owner locks them while it runs, so one
// in use by a live process (verify beside serve) is left to it. serve,
// rebuild and verify run it at start, and serve again after each erasure:
// such a leftover may hold the texts of a customer erased since, which
// nothing else would ever remove. A leftover that cannot be removed is an
// error: the command must not go on as if the texts were gone. A copy in
// use is logged at inUse; the paths in skip (the caller's own scratch) are
// left alone.
func removeLeftovers(sf storeFlags, log *slog.Logger, inUse slog.Level, skip ...string) error {
	paths, err := scratchPaths(sf)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range paths {
		if slices.Contains(skip, p) {
			continue
		}
		removed, err := projections.RemoveScratch(p)
		switch {
		case errors.Is(err, projections.ErrScratchInUse):
			log.Log(context.Background(), inUse, "scratch read models in use by another running offerflow: left to it", "path", p)
		case err != nil:
			errs = append(errs, err)
		case removed:
			log.Warn("removed scratch read models a killed offerflow left (they may hold customers' texts)", "path", p)
		}
	}
	return errors.Join(errs...)
}

// commandLogger is the logger of a maintenance command: text lines on its
// standard error, as serve's by default.
func commandLogger(e env) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, nil))
}

// sqliteTempEnv names the directory SQLite makes its temporary files in,
// before TMPDIR, /var/tmp and /tmp; it reads it at each one it makes.
const sqliteTempEnv = "SQLITE_TMPDIR"

// sqliteTempInDataDir has SQLite make its temporary files in the data
// directory. What does not fit a connection's caches goes to them: the
// sorts of a rebuild's index builds (customers_by_name sorts the names),
// the statement journal of an update of many rows (an erasure's may hold
// the texts it nulls), large sorts of a query. SQLite unlinks each the moment
// it opens it, so a crash leaves no name to remove, but the bytes are
// written: in /var/tmp or /tmp they would be on a file system outside what
// the operator encrypts and backs up for the data directory. It is set
// for the whole process, every SQLite file of it included, and overrides
// an SQLITE_TMPDIR given from outside (the data directory is where
// offerflow's data belongs); it is set only when it changes, as C code
// may read the environment meanwhile.
func sqliteTempInDataDir(data string) error {
	dir, err := filepath.Abs(data)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", data, err)
	}
	if os.Getenv(sqliteTempEnv) == dir {
		return nil
	}
	if err := os.Setenv(sqliteTempEnv, dir); err != nil {
		return fmt.Errorf("set %s: %w", sqliteTempEnv, err)
	}
	return nil
}
