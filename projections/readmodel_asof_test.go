package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
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
