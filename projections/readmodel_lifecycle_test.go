package projections_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/projections"
)

func TestProjections_Lifecycle(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	newRMWorld(t, e)
	head := e.head(t)

	t.Run("CloseWithoutRun", func(t *testing.T) {
		p, err := projections.New(e.db, e.store, projections.Config{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := p.Close(); err != nil || time.Since(start) > 2*time.Second {
			t.Fatalf("Close = %v after %v", err, time.Since(start))
		}
		if err := p.Run(ctx); err == nil {
			t.Error("Run after Close succeeded")
		}
	})

	t.Run("WaitForEndsWithItsContext", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := e.db.WaitFor(short, head); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitFor with nothing running = %v", err)
		}
		if e.db.CaughtUp(ctx, head) {
			t.Fatal("caught up before anything ran")
		}
	})

	t.Run("WaitForWakesOnCommit", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			done <- e.db.WaitFor(wctx, head)
		}()
		p := e.run(t, e.db, projections.Config{})
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for name, pos := range e.db.Positions(ctx) {
			if pos != head {
				t.Errorf("%s at %d, head %d", name, pos, head)
			}
		}
		if len(e.db.Positions(ctx)) != len(projections.ProjectorNames()) {
			t.Errorf("positions %v", e.db.Positions(ctx))
		}
		if err := p.Run(ctx); err == nil {
			t.Error("second Run succeeded")
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})

	t.Run("CatchUpAlone", func(t *testing.T) {
		db := rmOpenDB(t, filepath.Join(e.dir, "catchup.db"))
		p, err := projections.New(db, e.store, projections.Config{BatchSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		got, err := p.CatchUp(ctx)
		if err != nil || got != head || !db.CaughtUp(ctx, head) {
			t.Fatalf("CatchUp = %d, %v; positions %v", got, err, db.Positions(ctx))
		}
		if diff := cmp.Diff(rmFingerprint(t, e.db), rmFingerprint(t, db)); diff != "" {
			t.Errorf("catch-up in batches of 7 and of 500 differ (-500 +7):\n%s", diff)
		}
	})
}

// TestProjections_CancelRightAfterCatchUp stops Run's context just after the
// catch-up, while the router subscribes to the log: as `offerflow serve`
// stopped right after start-up does. That is a normal stop: Close returns
// promptly without error, and so does Run.
func TestProjections_CancelRightAfterCatchUp(t *testing.T) {
	e := newRMEnv(t)
	newRMWorld(t, e)
	head := e.head(t)
	for round := range 3 {
		db := rmOpenDB(t, filepath.Join(e.dir, fmt.Sprintf("cancel-%d.db", round)))
		p, err := projections.New(db, e.store, projections.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- p.Run(ctx) }()
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = db.WaitFor(wctx, head)
		wcancel()
		if err != nil {
			t.Fatalf("round %d: WaitFor(%d) = %v", round, head, err)
		}
		cancel()
		start := time.Now()
		err = p.Close()
		if took := time.Since(start); err != nil || took > 5*time.Second {
			t.Fatalf("round %d: Close = %v after %v, want nil within 5s", round, err, took)
		}
		select {
		case err := <-runErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("round %d: Run = %v, want nil or context.Canceled", round, err)
			}
		case <-time.After(time.Second):
			t.Fatalf("round %d: Run still running after Close returned", round)
		}
	}
}
