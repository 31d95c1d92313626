package eventstoretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
)

// waitAsync runs Wait in a goroutine and returns where its result arrives.
func waitAsync(ctx context.Context, s eventstore.Store, after uint64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx, after) }()
	return done
}

// stillBlocked fails the test if the Wait behind done has returned. It can
// only catch a Wait that returns early, never prove it blocks, so the short
// look is enough.
func stillBlocked(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Wait returned (%v) %s", err, what)
	case <-time.After(20 * time.Millisecond):
	}
}

func testWaitReturnsAtOnce(t *testing.T, f *fixture) {
	res := f.append(f.stream("wait-now"), eventstore.NoStream, events(1, "test.w")...)
	ctx, cancel := context.WithTimeout(f.ctx, patience)
	defer cancel()
	for _, after := range []uint64{0, res.Position - 1} {
		start := time.Now()
		if err := f.store.Wait(ctx, after); err != nil {
			t.Fatalf("Wait(after %d) with head %d: %v", after, res.Position, err)
		}
		t.Logf("Wait(after %d) returned in %v", after, time.Since(start))
	}
}

func testWaitWakesOnAppend(t *testing.T, f *fixture) {
	stream := f.stream("wait")
	f.append(stream, eventstore.NoStream, events(1, "test.w")...)
	ctx, cancel := context.WithTimeout(f.ctx, patience)
	defer cancel()

	// Several followers wait at the head; one append must wake them all.
	head := f.head()
	var waiting []<-chan error
	for range 3 {
		waiting = append(waiting, waitAsync(ctx, f.store, head))
	}
	for _, done := range waiting {
		stillBlocked(t, done, "before anything was appended")
	}
	start := time.Now()
	// An append to another stream counts: Wait follows the whole log.
	f.append(f.stream("wait-other"), eventstore.NoStream, events(1, "test.w")...)
	for i, done := range waiting {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("waiter %d: Wait after the append: %v", i, err)
			}
		case <-time.After(patience):
			t.Fatalf("waiter %d: Wait did not return within %v of an append", i, patience)
		}
	}
	t.Logf("waiters woke %v after the append began", time.Since(start))

	// A follower that is behind by more than one event waits for the
	// event past its own position, not for any append.
	head = f.head()
	done := waitAsync(ctx, f.store, head+1)
	stillBlocked(t, done, "with nothing past its position")
	f.append(stream, 1, events(1, "test.w")...)
	if h := f.head(); h > head+1 {
		// A store with non-contiguous positions may already be past.
		t.Logf("positions skipped: head went from %d to %d", head, h)
	} else {
		stillBlocked(t, done, "when the head reached its position but not past it")
		f.append(stream, 2, events(1, "test.w")...)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait(after %d): %v", head+1, err)
		}
	case <-time.After(patience):
		t.Fatalf("Wait(after %d) did not return within %v once the head passed it", head+1, patience)
	}
}

func testWaitCancelled(t *testing.T, f *fixture) {
	f.append(f.stream("wait-cancel"), eventstore.NoStream, events(1, "test.w")...)
	head := f.head()

	ctx, cancel := context.WithCancel(f.ctx)
	done := waitAsync(ctx, f.store, head)
	stillBlocked(t, done, "before cancellation")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel: err = %v, want context.Canceled", err)
		}
	case <-time.After(patience):
		t.Fatalf("Wait did not return within %v of its context's cancellation", patience)
	}

	short, cancel2 := context.WithTimeout(f.ctx, 30*time.Millisecond)
	defer cancel2()
	select {
	case err := <-waitAsync(short, f.store, head):
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait past its deadline: err = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(patience):
		t.Fatalf("Wait did not return within %v of its deadline", patience)
	}
}
