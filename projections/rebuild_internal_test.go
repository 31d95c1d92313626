package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestRebuild_LaneThatParksFallsBack: an event that one lane's projector
// keeps failing on is parked, and every projector skips a parked event.
// The lanes of a rebuild park on their own, so the other lane would keep
// what the event did; the rebuild must notice and replay the log in one
// lane, to the read models a one-lane rebuild makes.
func TestRebuild_LaneThatParksFallsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, head, prs := rebuildTestLog(t, dir, 6)
	failing, err := newProjector("test.refuses_acceptances", cqrs.NewGroupEventHandler(func(context.Context, *domain.OfferAccepted) error {
		return errors.New("refused")
	}))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Tables map[string]string
		Parked []int64
	}
	build := func(name string, lanes [][]*projector) result {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, err := rebuildInto(ctx, store, path, head, 8, lanes, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(lanePath(path, 1)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("lane file of %s left behind: %v", name, err)
		}
		db, err := OpenDB(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r := result{Tables: applyTestFingerprint(t, db)}
		rows, err := db.read.QueryContext(ctx, `SELECT position FROM parked_events ORDER BY position`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			r.Parked = append(r.Parked, p)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := build("one-lane.db", [][]*projector{append([]*projector{failing}, prs...)})
	if len(want.Parked) != 3 {
		t.Fatalf("one lane parked %v, want the 3 acceptances", want.Parked)
	}
	got := build("two-lanes.db", [][]*projector{{failing}, prs})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("two lanes, one parking, differ from one lane (-one +two):\n%s", diff)
	}
}

// TestRebuild_Lanes: a rebuild uses two lanes, the audit index in the
// first (whose file is swapped in), and every projector runs in exactly
// one lane.
func TestRebuild_Lanes(t *testing.T) {
	prs, err := projectors()
	if err != nil {
		t.Fatal(err)
	}
	lanes := rebuildLanes(prs)
	if len(lanes) != 2 || !slices.Contains(laneNames(lanes)[0], ProjectorAuditIndex) {
		t.Fatalf("lanes %v, want two, the audit index in the first", laneNames(lanes))
	}
	seen := map[string]int{}
	for _, l := range lanes {
		for _, p := range l {
			seen[p.name]++
		}
	}
	for _, name := range ProjectorNames() {
		if seen[name] != 1 {
			t.Errorf("%s in %d lanes, want 1", name, seen[name])
		}
	}
	if len(seen) != len(ProjectorNames()) {
		t.Errorf("lanes hold %v, want %v", seen, ProjectorNames())
	}
}

func laneNames(lanes [][]*projector) [][]string {
	out := make([][]string, len(lanes))
	for i, l := range lanes {
		for _, p := range l {
			out[i] = append(out[i], p.name)
		}
	}
	return out
}

// TestRebuild_ScratchLockedUntilRenamed: another process's RemoveScratch
// (serve's or verify's start, serve after an erasure) removes a scratch
// file it finds unlocked. The swap's scratch file must stay locked until
// the rename has taken its name away, or a removal in between makes the
// rename fail and the whole rebuild with it.
func TestRebuild_ScratchLockedUntilRenamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, head, prs := rebuildTestLog(t, dir, 3)
	path := filepath.Join(dir, "read.db")
	db, _ := applyTestDB(t, path)
	scratch := path + ScratchSuffix
	lock, err := createScratchFile(scratch)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := rebuildInto(ctx, store, scratch, head, 8, rebuildLanes(prs), nil); err != nil {
		t.Fatal(err)
	}
	// The other process looks the moment the lock is released (a second
	// open file description in this process gets no flock either).
	var removed bool
	err = db.replace(ctx, scratch, func() error {
		err := lock.Close()
		removed, _ = RemoveScratch(scratch)
		return err
	})
	if err != nil || removed {
		t.Fatalf("swap: %v; scratch file removed while unlocked: %v", err, removed)
	}
	if !db.CaughtUp(ctx, head) {
		t.Errorf("positions %v after the swap, want %d", db.Positions(ctx), head)
	}
}

// rebuildTestLog writes applyTestLog's log of n offers in dir and returns
// it with its head and every projector.
func rebuildTestLog(t *testing.T, dir string, n int) (*sqlite.Store, uint64, []*projector) {
	t.Helper()
	store, _ := applyTestLog(t, filepath.Join(dir, "events.db"), n)
	head, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prs, err := projectors()
	if err != nil {
		t.Fatal(err)
	}
	return store, head, prs
}

// TestSyncBehind_ReportsFailure: a flush of the scratch file that fails
// while it is written must fail the rebuild. Linux reports a failed
// write-back to one descriptor; once syncBehind's has reported it, the
// swap's own sync, on a descriptor it opens later, succeeds. A character
// device stands for the failing disk: fsync on it fails (EINVAL).
func TestSyncBehind_ReportsFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scratch")
	if err := os.Symlink(os.DevNull, path); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(path); err != nil {
		t.Skip(err)
	} else if err := errors.Join(f.Sync(), f.Close()); err == nil {
		t.Skipf("fsync of %s does not fail here", os.DevNull)
	}
	stop := syncBehind(path)
	time.Sleep(3 * syncBehindEvery)
	if err := stop(); err == nil {
		t.Error("syncBehind's flushes failed and stop reported nothing")
	}
}

// TestRebuild_LanesKeepToTheirTables: the lanes of a rebuild write
// disjoint tables, as the copy of the second lane's tables into the first
// file needs (a table with rows in both would get the second's on top of
// the first's). Each lane replays the log alone into a file of its own;
// the tables each fills must be apart, and together those a one-lane
// rebuild fills.
func TestRebuild_LanesKeepToTheirTables(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, head, prs := rebuildTestLog(t, dir, 6)
	filled := func(name string, lane []*projector) []string {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, err := rebuildInto(ctx, store, path, head, 8, [][]*projector{lane}, nil); err != nil {
			t.Fatal(err)
		}
		db, err := OpenDB(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tables, err := migratedTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, table := range tables {
			if table == "checkpoints" || table == "parked_events" {
				continue
			}
			var any bool
			if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quoteIdent(table)+`)`).Scan(&any); err != nil {
				t.Fatal(err)
			}
			if any {
				out = append(out, table)
			}
		}
		return out
	}
	all := filled("all.db", prs)
	owner := map[string]int{}
	var union []string
	for i, lane := range rebuildLanes(prs) {
		for _, table := range filled(fmt.Sprintf("lane%d.db", i), lane) {
			if j, ok := owner[table]; ok {
				t.Errorf("table %s filled by lanes %d and %d (%v)", table, j, i, laneNames(rebuildLanes(prs)))
			}
			owner[table] = i
			union = append(union, table)
		}
	}
	slices.Sort(union)
	if !slices.Equal(union, all) {
		t.Errorf("the lanes fill %v, one lane fills %v", union, all)
	}
	if len(all) < 8 {
		t.Errorf("the log filled only %v: too few tables to tell", all)
	}
}
