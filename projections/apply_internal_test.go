package projections

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestApply_StoppedMidBatch stops a batch half-way, once by cancelling its
// context and once by a panic in a handler (what a crash leaves behind is
// the same: a transaction that never committed), and checks that nothing of
// the batch was kept, checkpoints included, and that applying the batch
// again afterwards gives exactly the read models of a rebuild: nothing
// skipped, nothing applied twice.
func TestApply_StoppedMidBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, events := applyTestLog(t, filepath.Join(dir, "events.db"), 12)
	want := applyTestRebuilt(t, store, filepath.Join(dir, "rebuilt.db"))

	for _, tc := range []struct {
		name string
		trip func(cancel context.CancelFunc) error
	}{
		{"Cancelled", func(cancel context.CancelFunc) error { cancel(); return nil }},
		{"Panicked", func(context.CancelFunc) error { panic("handler crashed mid-batch") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, prs := applyTestDB(t, filepath.Join(t.TempDir(), "read.db"))
			// The first half of the log commits as a batch of its own.
			half := len(events) / 2
			if err := db.apply(ctx, prs, events[:half]); err != nil {
				t.Fatal(err)
			}
			before := applyTestFingerprint(t, db)

			// The second batch stops at its third offer; the four projectors,
			// which come before the tripwire, have applied all of it by then.
			bctx, cancel := context.WithCancel(ctx)
			defer cancel()
			seen := 0
			tripwire, err := newProjector("test.tripwire", cqrs.NewGroupEventHandler(
				func(ctx context.Context, _ *domain.OfferCreated) error {
					if seen++; seen == 3 {
						return tc.trip(cancel)
					}
					return nil
				}))
			if err != nil {
				t.Fatal(err)
			}
			err = func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = errors.New("panicked")
					}
				}()
				// applyBatch: the one transaction, without the salvage
				// that apply adds (TestApply_ParksFailingEvent).
				return db.applyBatch(bctx, append(append([]*projector{}, prs...), tripwire), events[half:])
			}()
			if err == nil || seen < 3 {
				t.Fatalf("batch stopped at offer %d with %v, want an error from the third on", seen, err)
			}
			// A cancelled batch says so, and only so: the router does
			// not log context.Canceled, which shutdown brings about
			// (sql.ErrTxDone, what the statements after the rollback
			// fail with, was logged as an error at every stop).
			if tc.name == "Cancelled" && (!errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone)) {
				t.Errorf("cancelled batch failed with %q, want context.Canceled alone", err)
			}
			if err := db.loadMarks(ctx); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, applyTestFingerprint(t, db)); diff != "" {
				t.Fatalf("a batch stopped half-way left changes (-before +after):\n%s", diff)
			}
			for name, pos := range db.Positions(ctx) {
				if pos != events[half-1].Position {
					t.Errorf("%s at %d after the stopped batch, want %d", name, pos, events[half-1].Position)
				}
			}

			// Delivered again, overlapping what was committed: the result
			// is the rebuild's.
			if err := db.apply(ctx, prs, events[half/2:]); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, applyTestFingerprint(t, db)); diff != "" {
				t.Errorf("read models differ from a rebuild (-rebuilt +applied):\n%s", diff)
			}
		})
	}
}

// TestApply_ParksFailingEvent: a handler that fails (or panics) on one
// event, every time, gets that event parked after its tries; the events
// before and after it in the batch are applied.
func TestApply_ParksFailingEvent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, events := applyTestLog(t, filepath.Join(dir, "events.db"), 6)
	for _, tc := range []struct {
		name string
		fail func() error
	}{
		{"Failing", func() error { return errors.New("handler refuses") }},
		{"Panicking", func() error { panic("handler crashed") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := applyTestDB(t, filepath.Join(t.TempDir(), "read.db"))
			var bad uint64
			calls := 0
			offers := map[uint64]bool{}
			tripwire, err := newProjector("test.tripwire", cqrs.NewGroupEventHandler(
				func(ctx context.Context, _ *domain.OfferCreated) error {
					pos := ctx.Value(changeKey{}).(*change).env.Position
					if bad == 0 && !offers[pos] && len(offers) == 2 {
						bad = pos
					}
					offers[pos] = true
					if pos == bad {
						calls++
						return tc.fail()
					}
					return nil
				}))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.apply(ctx, []*projector{tripwire}, events); err != nil {
				t.Fatal(err)
			}
			if got := db.marks.get("test.tripwire"); got != events[len(events)-1].Position {
				t.Errorf("checkpoint %d, want the last event's %d", got, events[len(events)-1].Position)
			}
			parked, err := db.Parked(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(parked) != 1 || parked[0].Position != bad || parked[0].Tries != parkTries {
				t.Fatalf("parked %+v, want position %d after %d tries", parked, bad, parkTries)
			}
			// Once in the batch, then parkTries times alone.
			if calls != 1+parkTries {
				t.Errorf("the failing event was tried %d times, want %d", calls, 1+parkTries)
			}
			if len(offers) != 6 {
				t.Errorf("%d offers reached the handler, want 6", len(offers))
			}
		})
	}
}

// applyTestLog writes a reseller with a catalog and one customer, and n
// offers (every other one accepted, so that licenses are granted), and
// returns the store and its whole log.
func applyTestLog(t testing.TB, path string, n int) (*sqlite.Store, []eventstore.Event) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r, _, err := svc.RegisterReseller(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "op"}}, "R")
	must(err)
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "r"}}
	p, _, err := svc.AddProduct(ctx, rm, "Module", domain.KindModule, []int{12})
	must(err)
	tpl, _, err := svc.CreateTemplate(ctx, rm, "T")
	must(err)
	_, _, _, err = svc.AddTemplateItem(ctx, rm, tpl.ID(), p.ID(), 12, domain.ModeAbsolute, nil)
	must(err)
	c, _, err := svc.RegisterCustomer(ctx, rm, "C", "")
	must(err)
	cm := command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID()), Subject: "c"}}
	sys := command.Meta{Actor: domain.SystemActor("test")}
	for i := range n {
		o, _, err := svc.CreateOffer(ctx, rm, c.ID(), tpl.ID(), "hello", nil)
		must(err)
		_, _, err = svc.DeliverOffer(ctx, sys, o.ID(), 1)
		must(err)
		if i%2 == 0 {
			_, _, err = svc.AcceptOffer(ctx, cm, o.ID())
			must(err)
			_, _, err = svc.GrantLicenses(ctx, sys, o.ID())
			must(err)
		}
	}
	events, err := store.ReadAll(ctx, 0, 10000)
	must(err)
	return store, events
}

// applyTestDB opens a read-model database at path, closed when the test
// ends, and returns it with every projector.
func applyTestDB(t testing.TB, path string) (*DB, []*projector) {
	t.Helper()
	db, err := OpenDB(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	prs, err := projectors()
	if err != nil {
		t.Fatal(err)
	}
	return db, prs
}

func applyTestRebuilt(t *testing.T, store eventstore.Store, path string) map[string]string {
	t.Helper()
	db, err := OpenDB(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Rebuild(context.Background(), store, db, nil); err != nil {
		t.Fatal(err)
	}
	return applyTestFingerprint(t, db)
}

func applyTestFingerprint(t *testing.T, db *DB) map[string]string {
	t.Helper()
	fp, err := db.Fingerprint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// TestRebuild_CrashLeavesOldReadModels ends a rebuild half-way, after some
// of its batches committed to the scratch file, as a kill would, and checks
// that the read models it was to replace are untouched and still served;
// then that the next rebuild, finding the scratch file left behind, swaps
// in read models equal to a fresh rebuild's.
func TestRebuild_CrashLeavesOldReadModels(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, events := applyTestLog(t, filepath.Join(dir, "events.db"), 12)
	want := applyTestRebuilt(t, store, filepath.Join(dir, "rebuilt.db"))

	path := filepath.Join(dir, "read.db")
	db, err := OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	prs, err := projectors()
	if err != nil {
		t.Fatal(err)
	}
	// The old read models: the first half of the log.
	if err := db.apply(ctx, prs, events[:len(events)/2]); err != nil {
		t.Fatal(err)
	}
	old := applyTestFingerprint(t, db)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := 0
	_, err = rebuild(cctx, store, db, 8, func(applied, _ uint64) {
		if applied > 0 {
			if batches++; batches == 2 {
				cancel()
			}
		}
	})
	if err == nil || batches != 2 {
		t.Fatalf("rebuild ended after %d batches with %v, want an error after the second", batches, err)
	}
	if diff := cmp.Diff(old, applyTestFingerprint(t, db)); diff != "" {
		t.Fatalf("a rebuild ended half-way changed the read models (-old +now):\n%s", diff)
	}
	for name, pos := range db.Positions(ctx) {
		if pos != events[len(events)/2-1].Position {
			t.Errorf("%s at %d after the interrupted rebuild, want %d", name, pos, events[len(events)/2-1].Position)
		}
	}

	// What a kill leaves: scratch files, one per lane, with some batches
	// in them.
	for i := range maxLanes {
		if err := os.WriteFile(lanePath(path+".rebuild", i), []byte("half a rebuild"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := rebuild(ctx, store, db, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != uint64(len(events)) {
		t.Errorf("rebuilt %d events, want %d", res.Events, len(events))
	}
	if diff := cmp.Diff(want, applyTestFingerprint(t, db)); diff != "" {
		t.Errorf("read models differ from a fresh rebuild (-fresh +rebuilt):\n%s", diff)
	}
	for i := range maxLanes {
		if _, err := os.Stat(lanePath(path+".rebuild", i)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("scratch file of lane %d still there after the swap: %v", i, err)
		}
	}
}
