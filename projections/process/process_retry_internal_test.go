package process

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestProcessRetry(t *testing.T) {
	const backoff = 20 * time.Millisecond
	ctx := context.Background()
	retry := func(op func() error) error { return processRetry(ctx, 5, backoff, time.Minute, 0, op) }

	t.Run("WaitsDouble", func(t *testing.T) {
		var calls []time.Time
		err := retry(func() error {
			calls = append(calls, time.Now())
			if len(calls) < 4 {
				return errors.New("store busy")
			}
			return nil
		})
		if err != nil || len(calls) != 4 {
			t.Fatalf("err %v after %d calls, want success on the 4th", err, len(calls))
		}
		// Only the lower bound: on a busy machine a timer fires late, never
		// early, and waits that did not double would fall short of it.
		for i := 1; i < len(calls); i++ {
			gap, want := calls[i].Sub(calls[i-1]), backoff<<(i-1)
			if gap < want*9/10 {
				t.Errorf("wait %d = %v, want at least about %v", i, gap, want)
			}
		}
	})

	t.Run("GivesUpAfterItsTries", func(t *testing.T) {
		calls := 0
		busy := errors.New("store busy")
		err := retry(func() error { calls++; return busy })
		if !errors.Is(err, busy) || calls != 5 {
			t.Errorf("err %v after %d calls, want the handler's error after 5 tries", err, calls)
		}
	})

	t.Run("PermanentNotRetried", func(t *testing.T) {
		calls := 0
		cause := errors.New("undecodable")
		start := time.Now()
		err := retry(func() error { calls++; return processPermanent(cause) })
		if calls != 1 || !errors.Is(err, cause) || !processIsPermanent(err) {
			t.Errorf("err %v after %d calls, want the permanent error after one call", err, calls)
		}
		if d := time.Since(start); d >= backoff {
			t.Errorf("returned after %v, want no wait", d)
		}
	})

	t.Run("EndsWithItsContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		calls := 0
		err := processRetry(cctx, 5, time.Hour, time.Hour, 0, func() error {
			calls++
			cancel()
			return errors.New("store busy")
		})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("err %v after %d calls, want the context's end after one", err, calls)
		}
	})
}
