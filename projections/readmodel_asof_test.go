package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/projections"
)

func mustPast(tb testing.TB, e *rmEnv, cfg projections.PastConfig) (*projections.Past, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "asof")
	p, err := projections.NewPast(e.store, dir, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p, dir
}

// pastFingerprint returns the fingerprint of p's read models at position,
// released afterwards.
func pastFingerprint(tb testing.TB, p *projections.Past, position uint64) map[string]string {
	tb.Helper()
	db, release, err := p.At(context.Background(), position)
	if err != nil {
		tb.Fatal(err)
	}
	defer release()
	return rmFingerprint(tb, db)
}

// TestPast_SameAsReplay: the read models as of the head are those a rebuild
// makes; as of an earlier position they are the same whether replayed from
// the start or continued from a kept earlier replay, and a replay another
// query still reads is never moved on under it.
func TestPast_SameAsReplay(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	newRMWorkload(e, 7).Run(t, 600)
	head := e.head(t)
	mid := head / 2

	fresh, _ := mustPast(t, e, projections.PastConfig{})
	if diff := cmp.Diff(rmFingerprint(t, e.rebuilt(t, "rebuilt.db")), pastFingerprint(t, fresh, head)); diff != "" {
		t.Fatalf("as of the head differs from a rebuild (-rebuild +as of):\n%s", diff)
	}
	atMid := pastFingerprint(t, fresh, mid)
	if diff := cmp.Diff(atMid, pastFingerprint(t, fresh, head)); diff == "" {
		t.Fatalf("as of %d and as of the head %d are equal: the test shows nothing", mid, head)
	}

	stepped, _ := mustPast(t, e, projections.PastConfig{Cache: 2})
	held, release, err := stepped.At(ctx, mid/2)
	if err != nil {
		t.Fatal(err)
	}
	heldPrint := rmFingerprint(t, held)
	// Held: the replay to mid starts afresh.
	if diff := cmp.Diff(atMid, pastFingerprint(t, stepped, mid)); diff != "" {
		t.Fatalf("as of %d beside a held replay (-fresh +stepped):\n%s", mid, diff)
	}
	if diff := cmp.Diff(heldPrint, rmFingerprint(t, held)); diff != "" {
		t.Fatalf("a held replay changed under its reader:\n%s", diff)
	}
	release()
	// Released: the replay to mid+1 continues from the one at mid.
	for _, pos := range []uint64{mid / 2, mid, mid + 1, head} {
		want := pastFingerprint(t, fresh, pos)
		if diff := cmp.Diff(want, pastFingerprint(t, stepped, pos)); diff != "" {
			t.Fatalf("as of %d, stepped (-fresh +stepped):\n%s", pos, diff)
		}
	}
}

// TestPast_Bounds: 0 and a time before the first event are empty read
// models, a time after the last is the head, and a position beyond the head
// or a replay beyond MaxEvents is invalid (field as_of).
func TestPast_Bounds(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	newRMWorkload(e, 3).Run(t, 120)
	head := e.head(t)
	p, dir := mustPast(t, e, projections.PastConfig{MaxEvents: 100})

	for _, tc := range []struct {
		at   time.Time
		want uint64
	}{
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{e.clock.Now().Add(time.Hour), head},
	} {
		// MaxEvents 100 is below the head: the scan of a time beyond it
		// is refused, below it answered.
		got, err := p.PositionAt(ctx, tc.at)
		if tc.want > 100 {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("PositionAt(%s) beyond MaxEvents: %d, %v", tc.at, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Fatalf("PositionAt(%s) = %d, %v; want %d", tc.at, got, err, tc.want)
		}
	}
	db, release, err := p.At(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	offers, err := db.Offers(ctx, domain.OfferFilter{})
	release()
	if err != nil || len(offers.Items) != 0 {
		t.Fatalf("offers as of 0: %+v, %v", offers, err)
	}
	for _, pos := range []uint64{head + 1, 101} {
		if _, _, err := p.At(ctx, pos); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("At(%d) with head %d and MaxEvents 100: %v, want invalid", pos, head, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", dir, err)
	}
}

// bumpingStore moves gen on at its first ReadAll: a key forgotten (an
// erasure) while a replay reads the log.
type bumpingStore struct {
	eventstore.Store
	gen   *atomic.Uint64
	reads atomic.Int64
}

func (s *bumpingStore) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if s.reads.Add(1) == 1 {
		s.gen.Add(1)
	}
	return s.Store.ReadAll(ctx, after, limit)
}

// TestPast_KeysForgotten: a replay during which the keys' generation moves
// on is made again, not kept; a kept replay of an older generation is
// neither served nor continued from, and Expire removes its file at once,
// or once its last reader releases it.
func TestPast_KeysForgotten(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	newRMWorkload(e, 5).Run(t, 200)
	head := e.head(t)
	var gen atomic.Uint64
	store := &bumpingStore{Store: e.store, gen: &gen}
	dir := filepath.Join(t.TempDir(), "asof")
	p, err := projections.NewPast(store, dir, projections.PastConfig{Generation: gen.Load})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	files := func() int {
		t.Helper()
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range es {
			if filepath.Ext(x.Name()) == ".db" {
				n++
			}
		}
		return n
	}
	want := rmFingerprint(t, e.rebuilt(t, "rebuilt.db"))

	// The first replay sees the generation move: it is made again.
	if diff := cmp.Diff(want, pastFingerprint(t, p, head)); diff != "" {
		t.Fatalf("as of the head after a replay made again (-rebuild +as of):\n%s", diff)
	}
	firstReads := store.reads.Load()
	if n := files(); n != 1 {
		t.Fatalf("%d scratch files after one replay made twice, want 1", n)
	}
	// Kept and served again while the generation stands.
	pastFingerprint(t, p, head)
	if store.reads.Load() != firstReads {
		t.Fatalf("a kept replay was replayed again: %d reads, then %d", firstReads, store.reads.Load())
	}

	// An erasure: the kept replay goes at once, and the next query replays.
	gen.Add(1)
	if err := p.Expire(); err != nil {
		t.Fatal(err)
	}
	if n := files(); n != 0 {
		t.Fatalf("%d scratch files after Expire, want 0", n)
	}
	pastFingerprint(t, p, head/2)
	if store.reads.Load() == firstReads {
		t.Fatal("no replay after the generation moved")
	}

	// Held by a reader, a replay of an older generation goes at its
	// release; a query meanwhile does not continue from it.
	db, release, err := p.At(ctx, head/2)
	if err != nil {
		t.Fatal(err)
	}
	gen.Add(1)
	if err := p.Expire(); err != nil {
		t.Fatal(err)
	}
	if n := files(); n != 1 {
		t.Fatalf("%d scratch files with one held, want 1", n)
	}
	if diff := cmp.Diff(want, pastFingerprint(t, p, head)); diff != "" {
		t.Fatalf("as of the head beside a held replay of an older generation:\n%s", diff)
	}
	rmFingerprint(t, db)
	release()
	if n := files(); n != 1 {
		t.Fatalf("%d scratch files after the release, want 1 (the replay to the head)", n)
	}
}
