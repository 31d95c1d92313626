package eventstoretest

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore"
)

// racers is how many goroutines race for one stream version.
const racers = 8

// race starts n appends of distinct events at the same expected version at
// once and returns each one's result and error.
func race(f *fixture, stream string, expected uint64, batches [][]eventstore.NewEvent) ([]eventstore.AppendResult, []error) {
	results := make([]eventstore.AppendResult, len(batches))
	errs := make([]error, len(batches))
	together(len(batches), func(i int) {
		results[i], errs[i] = f.store.Append(f.ctx, stream, expected, batches[i]...)
	})
	return results, errs
}

// soleWinner checks that exactly one of the racers for version expected
// succeeded and every other got ErrWrongVersion, and returns the winner.
func soleWinner(t *testing.T, errs []error, expected uint64) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("racers %d and %d both appended at version %d", winner, i, expected)
		case err == nil:
			winner = i
		case !errors.Is(err, eventstore.ErrWrongVersion):
			t.Errorf("racer %d: err = %v, want nil or ErrWrongVersion", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no racer won at version %d: %v", expected, errors.Join(errs...))
	}
	return winner
}

func testRacingAppends(t *testing.T, f *fixture) {
	for _, existing := range []int{0, 1} {
		stream := f.stream("race")
		if existing > 0 {
			f.append(stream, eventstore.NoStream, events(existing, "test.first")...)
		}
		batches := make([][]eventstore.NewEvent, racers)
		for i := range batches {
			batches[i] = events(2, "test.racer")
		}
		results, errs := race(f, stream, uint64(existing), batches)
		winner := soleWinner(t, errs, uint64(existing))
		got := f.readStream(stream)
		want := uint64(existing + 2)
		if results[winner].Version != want || uint64(len(got)) != want {
			t.Fatalf("after the race: result version %d, stream holds %d events; want %d", results[winner].Version, len(got), want)
		}
		if diff := cmp.Diff(newIDs(batches[winner]), ids(got[existing:])); diff != "" {
			t.Errorf("stream does not end with the winner's events (-want +got):\n%s", diff)
		}
		if err := eventstore.VerifyChain(got); err != nil {
			t.Errorf("VerifyChain after the race: %v", err)
		}
	}
}

func testIdempotentRetry(t *testing.T, f *fixture) {
	stream := f.stream("retry")
	first := events(2, "test.first")
	r1 := f.append(stream, eventstore.NoStream, first...)

	// A retry of the same append: same ids, same expected version.
	if got := f.append(stream, eventstore.NoStream, first...); got != r1 {
		t.Errorf("retry of the first append: %+v, want %+v", got, r1)
	}
	second := events(1, "test.second")
	r2 := f.append(stream, 2, second...)
	headBefore := f.head()

	// Retries after the stream moved on: with the original expected
	// version, with the version the earlier append produced (what a
	// command handler that reloaded the stream passes), and with the
	// current version.
	for _, expected := range []uint64{eventstore.NoStream, 2, 3} {
		if got := f.append(stream, expected, first...); got != r1 {
			t.Errorf("retry of the first append at expected %d: %+v, want %+v", expected, got, r1)
		}
	}
	if got := f.append(stream, 2, second...); got != r2 {
		t.Errorf("retry of the second append: %+v, want %+v", got, r2)
	}
	got := f.readStream(stream)
	if diff := cmp.Diff(append(newIDs(first), newIDs(second)...), ids(got)); diff != "" {
		t.Errorf("stream after retries (-want +got):\n%s", diff)
	}
	if h := f.head(); h != headBefore {
		t.Errorf("retries moved the head from %d to %d", headBefore, h)
	}
	if evs := f.readAllAfter(headBefore); len(evs) != 0 {
		t.Errorf("retries wrote %d events", len(evs))
	}
}

func testConcurrentIdempotentRetries(t *testing.T, f *fixture) {
	stream := f.stream("retry-race")
	batch := events(2, "test.same")
	batches := make([][]eventstore.NewEvent, racers)
	for i := range batches {
		batches[i] = batch
	}
	results, errs := race(f, stream, eventstore.NoStream, batches)
	for i, err := range errs {
		if err != nil {
			t.Errorf("racer %d retrying the same append: %v", i, err)
		} else if results[i] != results[0] && errs[0] == nil {
			t.Errorf("racer %d got %+v, racer 0 got %+v", i, results[i], results[0])
		}
	}
	if diff := cmp.Diff(newIDs(batch), ids(f.readStream(stream))); diff != "" {
		t.Errorf("stream after concurrent retries (-want +got):\n%s", diff)
	}
}

func testBatchesNotInterleaved(t *testing.T, f *fixture) {
	const (
		writers   = 4
		perWriter = 5
		batchSize = 5
	)
	headBefore := f.head()
	streams := make([]string, writers)
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		streams[w] = f.stream("batch")
		wg.Go(func() {
			for b := range perWriter {
				if _, err := f.store.Append(f.ctx, streams[w], uint64(b*batchSize), events(batchSize, "test.batch")...); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent batch appends: %v", err)
	}
	log := ofStreams(f.readAllAfter(headBefore), streams...)
	if len(log) != writers*perWriter*batchSize {
		t.Fatalf("log holds %d of the events, want %d", len(log), writers*perWriter*batchSize)
	}
	// Each batch's events must follow one another in the global order with
	// no event of another batch between them.
	for i := 0; i < len(log); i += batchSize {
		first := log[i]
		if (first.Version-1)%batchSize != 0 {
			t.Fatalf("position %d: %s version %d starts no batch; batches interleaved", first.Position, first.Stream, first.Version)
		}
		for j := 1; j < batchSize; j++ {
			e := log[i+j]
			if e.Stream != first.Stream || e.Version != first.Version+uint64(j) {
				t.Fatalf("position %d: %s version %d inside the batch of %s from version %d", e.Position, e.Stream, e.Version, first.Stream, first.Version)
			}
		}
	}
}
