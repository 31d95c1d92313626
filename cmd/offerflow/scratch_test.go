package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/projections"
	"github.com/offerflow/offerflow/sqlitefile"
)

// leftoverText stands for a customer's text in a killed command's scratch
// copy of the read models.
const leftoverText = "Leftover-Kundin Zyxwvu GmbH"

// plantLeftovers leaves in the data directory dir what each command that
// keeps scratch read models leaves when it is killed half-way (projections'
// TestScratch_KilledOwner kills real ones), each kind but those in skip,
// and returns each kind's files.
func plantLeftovers(t *testing.T, dir string, skip ...string) map[string][]string {
	t.Helper()
	half := []byte("SQLite format 3\x00 half written, with " + leftoverText)
	kinds := map[string][]string{
		// rebuild: its scratch files beside the read models, one per
		// lane (no journal).
		"rebuild": projections.RebuildScratchFiles(filepath.Join(dir, readModelsFile)),
		// serve: a replay for ?as_of= (no journal).
		"as_of": {filepath.Join(dir, asOfDir, "asof-3.db")},
		// verify: its copy, in WAL mode, and the copy's rebuild scratch file.
		"verify": {
			filepath.Join(dir, verifyDirPrefix+"2718281828", readModelsFile),
			filepath.Join(dir, verifyDirPrefix+"2718281828", readModelsFile+"-wal"),
			filepath.Join(dir, verifyDirPrefix+"2718281828", readModelsFile+projections.ScratchSuffix),
		},
	}
	for kind, files := range kinds {
		if slices.Contains(skip, kind) {
			delete(kinds, kind)
			continue
		}
		for _, f := range files {
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, half, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return kinds
}

// leftoverPath is the path removeLeftovers removes for a file of kind.
func leftoverPath(dir, kind, file string) string {
	if kind == "rebuild" {
		return file
	}
	rel, _ := filepath.Rel(dir, file)
	return filepath.Join(dir, strings.Split(rel, string(filepath.Separator))[0])
}

// TestLeftovers_RemovedAtStart plants, in a data directory, the scratch
// read models each kind of killed command leaves, and runs serve, rebuild
// and verify on it: each removes every kind at start and logs each path,
// but leaves a scratch directory a live process holds (here the test, as a
// verify running beside them would) and a file of the operator's that is
// merely named like verify's.
func TestLeftovers_RemovedAtStart(t *testing.T) {
	for _, command := range []string{"serve", "rebuild", "verify"} {
		t.Run(command, func(t *testing.T) {
			dir := t.TempDir()
			if _, stderr, code := runCLI("tokens", "create", "--data", dir, "--role", "auditor", "--tenant", "*"); code != 0 {
				t.Fatalf("tokens create: exit %d: %s", code, stderr)
			}
			kinds := plantLeftovers(t, dir)
			inUse, err := projections.MakeScratchDir(dir, verifyDirPrefix)
			if err != nil {
				t.Fatal(err)
			}
			defer inUse.Remove()
			held := filepath.Join(inUse.Path(), readModelsFile)
			notes := filepath.Join(dir, verifyDirPrefix+"notes.txt")
			for _, f := range []string{held, notes} {
				if err := os.WriteFile(f, []byte("keep me"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			var logged string
			switch command {
			case "serve":
				s := MustServe(t, dir)
				s.stop(t)
				logged = s.logged()
			default:
				_, stderr, code := runCLI(command, "--data", dir)
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", command, code, stderr)
				}
				logged = stderr
			}

			for kind, files := range kinds {
				for _, f := range files {
					if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("%s: the leftover of a killed %s, %s, is still there (%v)", command, kind, f, err)
					}
				}
				p := leftoverPath(dir, kind, files[0])
				if !strings.Contains(logged, "removed scratch read models") || !strings.Contains(logged, "path="+p) {
					t.Errorf("%s: no log line of the removal of %s; logged:\n%s", command, p, logged)
				}
			}
			for _, f := range []string{held, notes} {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("%s removed %s, which is not a leftover: %v", command, f, err)
				}
			}
			if !strings.Contains(logged, "path="+inUse.Path()) {
				t.Errorf("%s: no log line for the scratch directory in use, %s; logged:\n%s", command, inUse.Path(), logged)
			}
			if found := scanDir(t, dir, []string{leftoverText}); len(found) > 0 {
				t.Errorf("%s: leftover texts still in the data directory: %v", command, found)
			}
		})
	}
}

// TestLeftovers_RemovedOnErasure: a verify killed while serve runs leaves
// its copy of the read models, with the texts of customers opened, and a
// rebuild run against the rules beside serve its scratch file; the next
// erasure in serve removes both, as they may hold the erased customer's
// texts (and serve's next start is not due), but not the copy of a verify
// still running.
func TestLeftovers_RemovedOnErasure(t *testing.T) {
	dir := t.TempDir()
	const opToken = "ofr_leftover-test-operator-token-0123456789"
	s := MustServe(t, dir, "--operator-token", opToken)
	op := apiClient{t, s.url, opToken}
	res, _ := op.newReseller("Lernwerk")
	c, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": leftoverText})
	cid := c["id"].(string)

	// Not as_of: serve's own replays are Past.Expire's (projections'
	// TestPast_KeysForgotten, http's TestAsOf_AfterErasure).
	kinds := plantLeftovers(t, dir, "as_of")
	inUse, err := projections.MakeScratchDir(dir, verifyDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer inUse.Remove()
	held := filepath.Join(inUse.Path(), readModelsFile)
	if err := os.WriteFile(held, []byte("a running verify's copy"), 0o600); err != nil {
		t.Fatal(err)
	}

	res.must(200, "POST", "/v1/customers/"+cid+"/erase", nil)
	for kind, files := range kinds {
		for _, f := range files {
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				_, err := os.Lstat(f)
				if errors.Is(err, fs.ErrNotExist) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the leftover of a killed %s, %s, is still there 10 s after an erasure (%v)", kind, f, err)
				}
			}
		}
		if p := leftoverPath(dir, kind, files[0]); !strings.Contains(s.logged(), "path="+p) {
			t.Errorf("no log line of the removal of %s; logged:\n%s", p, s.logged())
		}
	}
	if _, err := os.Stat(held); err != nil {
		t.Errorf("the erasure removed the copy of a verify still running: %v", err)
	}
}

// TestSQLiteTempFiles_InDataDir: once a command has opened its data
// directory, a temporary file SQLite makes (here for a temporary table
// larger than its cache, as for a sort or a statement journal) is in the
// data directory, not in /var/tmp or /tmp. SQLite unlinks it the moment it
// opens it, so it is found among the process's open files, deleted.
func TestSQLiteTempFiles_InDataDir(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to find SQLite's unlinked temporary files in")
	}
	ctx := context.Background()
	t.Setenv(sqliteTempEnv, "") // and back afterwards: the command sets it for the process
	sf := storeFlags{data: t.TempDir()}
	store, err := sf.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	db, err := sqlitefile.Open(filepath.Join(t.TempDir(), "other.db"), sqlitefile.Settings{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := deletedOpenFiles(t)
	for _, q := range []string{
		`PRAGMA temp_store = FILE`,
		`CREATE TEMP TABLE spill (b BLOB)`,
		`PRAGMA temp.cache_size = 2`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		 INSERT INTO temp.spill SELECT randomblob(1000) FROM n`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	data, err := filepath.Abs(sf.data)
	if err != nil {
		t.Fatal(err)
	}
	var temps []string
	for fd, target := range deletedOpenFiles(t) {
		if before[fd] != target {
			temps = append(temps, target)
		}
	}
	if len(temps) == 0 {
		t.Fatal("SQLite made no temporary file: the test shows nothing")
	}
	for _, p := range temps {
		if !strings.HasPrefix(p, data+string(filepath.Separator)) {
			t.Errorf("SQLite's temporary file %s is outside the data directory %s", p, data)
		}
	}
}

// deletedOpenFiles returns the files this process has open that were
// unlinked, by descriptor.
func deletedOpenFiles(t *testing.T) map[string]string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	deleted := make(map[string]string)
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasSuffix(target, " (deleted)") {
			deleted[fd.Name()] = target
		}
	}
	return deleted
}
