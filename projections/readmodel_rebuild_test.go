package projections_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

// rmLogSize is how many events the random-lifecycle tests write.
func rmLogSize() uint64 {
	if testing.Short() {
		return 1200
	}
	return 2000
}

func TestRebuild_MatchesLive(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	p := e.run(t, e.db, projections.Config{})
	w := newRMWorkload(e, 1)
	w.Run(t, rmLogSize())
	e.waitHead(t, e.db)
	live := rmFingerprint(t, e.db)

	t.Run("FreshDatabase", func(t *testing.T) {
		if diff := cmp.Diff(live, rmFingerprint(t, e.rebuilt(t, "fresh.db"))); diff != "" {
			t.Errorf("live and rebuilt read models differ (-live +rebuilt):\n%s", diff)
		}
	})

	t.Run("InPlace", func(t *testing.T) {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		var calls int
		var last, total uint64
		res, err := projections.Rebuild(ctx, e.store, e.db, func(applied, all uint64) {
			if applied < last {
				t.Errorf("progress went back from %d to %d", last, applied)
			}
			calls++
			last, total = applied, all
		})
		if err != nil {
			t.Fatal(err)
		}
		head := e.head(t)
		if res.Events != head || res.Head != head || last != head || total != head || calls < 2 || res.Rate() <= 0 {
			t.Errorf("result %+v, progress %d/%d in %d calls; head %d", res, last, total, calls, head)
		}
		if diff := cmp.Diff(live, rmFingerprint(t, e.db)); diff != "" {
			t.Errorf("live and rebuilt-in-place read models differ (-live +rebuilt):\n%s", diff)
		}
		if !e.db.CaughtUp(ctx, head) || e.db.CaughtUp(ctx, head+1) {
			t.Errorf("CaughtUp after rebuild: positions %v, head %d", e.db.Positions(ctx), head)
		}
	})

	t.Run("OffersAsTheCommandSideSeesThem", func(t *testing.T) {
		statuses := map[domain.OfferStatus]int{}
		var cursor string
		for {
			pg, err := e.db.Offers(ctx, domain.OfferFilter{Page: domain.PageRequest{Limit: 500, Cursor: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range pg.Items {
				agg, version, err := e.svc.Offer(ctx, rmSystem(), rec.Offer.ID, 0, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(agg.View(), rec.Offer); diff != "" || version != rec.Version {
					t.Fatalf("offer %s: version %d vs %d; (-log +read model):\n%s", rec.Offer.ID, version, rec.Version, diff)
				}
				statuses[rec.Offer.Status]++
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		// The comparison proves little unless the log went down every path.
		for _, s := range []domain.OfferStatus{domain.StatusAccepted, domain.StatusRejected, domain.StatusWithdrawn, domain.StatusExpired} {
			if statuses[s] == 0 {
				t.Errorf("no offer ended %s: %v", s, statuses)
			}
		}
		types := map[string]int{}
		for after := uint64(0); ; {
			evs, err := e.store.ReadAll(ctx, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				types[ev.Type]++
			}
			after = evs[len(evs)-1].Position
		}
		for _, typ := range domain.EventTypes() {
			// Token events are no read model's business.
			if types[typ] == 0 && !strings.HasPrefix(typ, "token.") {
				t.Errorf("the log has no %s event: %v", typ, types)
			}
		}
	})
}

// TestProjections_KilledMidStream stops the projectors (and at times closes
// the database, as a crash would) at random points of a backlog, while
// commands keep writing, and starts them again, now applying the backlog
// one event per transaction, now in batches of random size. The read models
// must end identical to a rebuild from scratch: nothing skipped, nothing
// applied twice.
func TestProjections_KilledMidStream(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	w := newRMWorkload(e, 2)
	db := e.db
	path := filepath.Join(e.dir, "read.db")
	var p *projections.Projections
	restarts, midway := 0, 0
	for e.head(t) < rmLogSize()/2 {
		for range 20 + w.rng.IntN(80) { // a backlog, written while nobody projects
			w.Step(t)
		}
		batch := 1 // one event per transaction
		if w.rng.IntN(3) > 0 {
			batch = 1 + w.rng.IntN(50)
		}
		p = e.run(t, db, projections.Config{BatchSize: batch})
		restarts++
		// Stop somewhere in the backlog, while commands keep coming.
		low := slices.Min(slices.Collect(maps.Values(db.Positions(ctx))))
		target := low + uint64(w.rng.IntN(int(e.head(t)-low)+1))
		for range w.rng.IntN(5) {
			w.Step(t)
		}
		rmWait(t, db, target)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		pos := slices.Collect(maps.Values(db.Positions(ctx)))
		if slices.Min(pos) != slices.Max(pos) {
			t.Fatalf("projectors stopped at different positions %v: one transaction should move them all", db.Positions(ctx))
		}
		if pos[0] < e.head(t) {
			midway++
		}
		if w.rng.IntN(2) == 0 {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = rmOpenDB(t, path)
		}
	}
	e.run(t, db, projections.Config{})
	e.waitHead(t, db)
	if diff := cmp.Diff(rmFingerprint(t, e.rebuilt(t, "fresh.db")), rmFingerprint(t, db)); diff != "" {
		t.Errorf("after %d restarts, read models differ from a rebuild (-rebuilt +restarted):\n%s", restarts, diff)
	}
	if midway == 0 {
		t.Errorf("in %d restarts the projectors never stopped inside the backlog: the test proves little", restarts)
	}
}

// TestProjections_TwoRunnersOneFile runs two sets of projectors on the same
// database file at once: every event reaches both, and whichever commits
// second finds the checkpoint past it and skips it, so each is applied once.
func TestProjections_TwoRunnersOneFile(t *testing.T) {
	e := newRMEnv(t)
	other := rmOpenDB(t, filepath.Join(e.dir, "read.db"))
	e.run(t, e.db, projections.Config{})
	e.run(t, other, projections.Config{})
	w := newRMWorkload(e, 3)
	w.Run(t, rmLogSize()/4)
	e.waitHead(t, e.db)
	e.waitHead(t, other)
	if diff := cmp.Diff(rmFingerprint(t, e.rebuilt(t, "fresh.db")), rmFingerprint(t, e.db)); diff != "" {
		t.Errorf("read models differ from a rebuild (-rebuilt +shared):\n%s", diff)
	}
}

// TestBadge_MatchesLog checks, after every step of a random scenario, each
// customer's badge against a count made directly from the log: offers
// folded by the domain, waiting for confirmation and not opened (or not
// since a reminder).
func TestBadge_MatchesLog(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	e.run(t, e.db, projections.Config{})
	w := newRMWorkload(e, 4)
	offers := map[domain.OfferID]*domain.Offer{}
	var read uint64
	steps, nonzero, most := 600, 0, 0
	if testing.Short() {
		steps = 250
	}
	for range steps {
		w.Step(t)
		events, err := e.store.ReadAll(ctx, read, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			read = ev.Position
			id, ok := strings.CutPrefix(ev.Stream, "offer-")
			if !ok {
				continue
			}
			de, err := domain.DecodeEvent(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil {
				t.Fatal(err)
			}
			o := offers[domain.OfferID(id)]
			if o == nil {
				o = &domain.Offer{}
				offers[domain.OfferID(id)] = o
			}
			o.Apply(de)
		}
		want := map[domain.CustomerID]int{}
		for _, o := range offers {
			if v := o.View(); v.Status == domain.StatusWaitingForConfirmation && v.Unread() {
				want[o.Customer()]++
			}
		}
		rmWait(t, e.db, read)
		for _, c := range w.Customers {
			b, err := e.db.Badge(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if b.Admin != want[c] || b.Updates != want[c] {
				t.Fatalf("at position %d, badge of %s = %+v, the log says %d", read, c, b, want[c])
			}
			if want[c] > 0 {
				nonzero++
			}
			most = max(most, want[c])
		}
	}
	if nonzero < steps/4 || most < 2 {
		t.Errorf("scenario too weak: %d non-zero badges seen in %d steps, at most %d", nonzero, steps, most)
	}
}
