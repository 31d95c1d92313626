package projections

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// scratchChildEnv, set to a directory holding a log (events.db), makes
// TestScratch_Child the child process of TestScratch_KilledOwner.
const scratchChildEnv = "OFFERFLOW_TEST_SCRATCH_CHILD"

// scratchText is a text of applyTestLog's offers: what a scratch copy
// holds opened.
const scratchText = "hello"

// TestScratch_KilledOwner has a child process (this test binary again)
// make each kind of scratch read models as the commands do (a rebuild's
// scratch file, stopped after its first batch; an ?as_of= replay in
// Past's directory; a ScratchDir like verify's) and keep them open, then
// kills it with SIGKILL, as the OOM killer would. While the child lives,
// RemoveScratch leaves each alone: another process is using it. Once it is
// dead, each is still on disk holding the texts (nothing removed it, and
// nothing would before the same command ran again), and RemoveScratch
// removes each. The files are 0600 although the test runs with the
// umask it was given.
func TestScratch_KilledOwner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock(2): a scratch file in use cannot be told from a leftover")
	}
	dir := t.TempDir()
	applyTestLog(t, filepath.Join(dir, "events.db"), 40)

	child := exec.Command(os.Args[0], "-test.run=^TestScratch_Child$", "-test.count=1")
	child.Env = append(os.Environ(), scratchChildEnv+"="+dir)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	verifyDir := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				verifyDir <- p
			}
		}
		close(verifyDir)
	}()
	var scratchDir string
	select {
	case p, ok := <-verifyDir:
		if !ok {
			t.Fatalf("the child ended before it was ready:\n%s", stderr.String())
		}
		scratchDir = p
	case <-time.After(2 * time.Minute):
		t.Fatalf("the child was not ready within 2 minutes:\n%s", stderr.String())
	}

	rebuildFile := filepath.Join(dir, "read.db"+ScratchSuffix)
	asofDir := filepath.Join(dir, "asof")
	leftovers := []struct {
		kind, path, file string // file: the database in it holding texts
	}{
		{"rebuild", rebuildFile, rebuildFile},
		{"as_of", asofDir, filepath.Join(asofDir, "asof-1.db")},
		{"verify", scratchDir, filepath.Join(scratchDir, "copy.db")},
	}
	for _, l := range leftovers {
		fi, err := os.Stat(l.file)
		if err != nil {
			t.Fatalf("%s: the child's scratch file: %v", l.kind, err)
		}
		if l.kind != "verify" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: scratch file %s is %v, want 0600", l.kind, l.file, fi.Mode().Perm())
		}
		if removed, err := RemoveScratch(l.path); !errors.Is(err, ErrScratchInUse) || removed {
			t.Errorf("%s: RemoveScratch of a scratch in use = %v, %v; want ErrScratchInUse", l.kind, removed, err)
		}
		if _, err := os.Stat(l.file); err != nil {
			t.Errorf("%s: the scratch in use is gone: %v", l.kind, err)
		}
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed = true

	for _, l := range leftovers {
		b, err := os.ReadFile(l.file)
		if err != nil {
			t.Fatalf("%s: nothing left after the kill (%v): the test shows nothing", l.kind, err)
		}
		if !bytes.Contains(b, []byte(scratchText)) {
			t.Errorf("%s: the leftover %s holds no text: the test shows nothing", l.kind, l.file)
		}
		removed, err := RemoveScratch(l.path)
		if err != nil || !removed {
			t.Errorf("%s: RemoveScratch of a killed process's leftover = %v, %v; want it removed", l.kind, removed, err)
		}
		if _, err := os.Lstat(l.path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %s still there after RemoveScratch: %v", l.kind, l.path, err)
		}
	}
	// What RemoveScratch removed is gone; the rest of dir is not.
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		t.Errorf("the log went with the leftovers: %v", err)
	}
}

// TestScratch_Child is TestScratch_KilledOwner's child: it does nothing in
// a normal run.
func TestScratch_Child(t *testing.T) {
	dir := os.Getenv(scratchChildEnv)
	if dir == "" {
		t.Skip("the child process of TestScratch_KilledOwner")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	past, err := NewPast(store, filepath.Join(dir, "asof"), PastConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := past.At(ctx, head); err != nil {
		t.Fatal(err)
	}
	sd, err := MakeScratchDir(dir, "verify-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sd.Path(), "copy.db"), []byte("a copy: "+scratchText), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(ctx, filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rebuild(ctx, store, db, 8, func(applied, _ uint64) {
		if applied > 0 {
			// A batch is in the scratch file: the parent may kill now.
			fmt.Printf("ready %s\n", sd.Path())
			select {}
		}
	})
	t.Fatalf("the rebuild returned (%v) instead of waiting to be killed", err)
}
