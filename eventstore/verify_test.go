package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
)

// sliceLog serves a fixed global log through ReadAll, so that VerifyAll can
// be shown logs no correct store would produce. Only ReadAll is used.
type sliceLog struct {
	eventstore.Store
	events []eventstore.Event
}

func (l sliceLog) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []eventstore.Event
	for _, e := range l.events {
		if e.Position > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// interleaved seals streams streams of perStream events each and lays them
// out in the global log round-robin, at positions 1, 2, 3…
func interleaved(t *testing.T, streams, perStream int) []eventstore.Event {
	t.Helper()
	prev := make([]string, streams)
	var out []eventstore.Event
	for v := 1; v <= perStream; v++ {
		for s := range streams {
			e := eventstore.Event{
				ID: fmt.Sprintf("e-%d-%d", s, v), Stream: fmt.Sprintf("s-%d", s), Version: uint64(v),
				Position: uint64(len(out) + 1), Type: "test", Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
			}
			if err := eventstore.Seal(&e, prev[s]); err != nil {
				t.Fatal(err)
			}
			prev[s] = e.Hash
			out = append(out, e)
		}
	}
	return out
}

func TestVerifyAll(t *testing.T) {
	ctx := t.Context()
	t.Run("OK", func(t *testing.T) {
		// More events than one page, to cross page boundaries.
		log := interleaved(t, 7, 300)
		var pages []int
		res, err := eventstore.VerifyAll(ctx, sliceLog{events: log}, func(n int) { pages = append(pages, n) })
		if err != nil {
			t.Fatalf("VerifyAll: %v", err)
		}
		want := eventstore.VerifyResult{Streams: 7, Events: 2100, Head: 2100}
		if res != want {
			t.Errorf("VerifyAll = %+v, want %+v", res, want)
		}
		if fmt.Sprint(pages) != "[1000 2000 2100]" {
			t.Errorf("progress reported %v, want [1000 2000 2100]", pages)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		res, err := eventstore.VerifyAll(ctx, sliceLog{}, nil)
		if err != nil || res != (eventstore.VerifyResult{}) {
			t.Fatalf("VerifyAll of an empty log = %+v, %v", res, err)
		}
	})
	t.Run("EveryBrokenStreamOnce", func(t *testing.T) {
		log := interleaved(t, 3, 4)
		// Stream s-0 broken at version 2, s-2 at version 3; s-1 intact.
		log[3].Data = json.RawMessage(`{"v":99}`)
		log[8].PrevHash = "00"
		_, err := eventstore.VerifyAll(ctx, sliceLog{events: log}, nil)
		if !errors.Is(err, eventstore.ErrChainBroken) {
			t.Fatalf("VerifyAll: err = %v, want ErrChainBroken", err)
		}
		var got []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ce *eventstore.ChainError
			if !errors.As(e, &ce) {
				t.Fatalf("%v is not a ChainError", e)
			}
			got = append(got, fmt.Sprintf("%s@%d", ce.Stream, ce.Version))
		}
		if fmt.Sprint(got) != "[s-0@2 s-2@3]" {
			t.Errorf("broken chains reported: %v, want [s-0@2 s-2@3]", got)
		}
	})
	t.Run("PositionsOutOfOrder", func(t *testing.T) {
		log := interleaved(t, 2, 2)
		log[2].Position, log[3].Position = 10, 5
		_, err := eventstore.VerifyAll(ctx, unordered{events: log}, nil)
		if err == nil || errors.Is(err, eventstore.ErrChainBroken) {
			t.Fatalf("VerifyAll of an unordered log: err = %v, want an order error", err)
		}
	})
}

// unordered serves its events as they are, ignoring after, to play a store
// whose global order is wrong.
type unordered struct {
	eventstore.Store
	events []eventstore.Event
}

func (u unordered) ReadAll(_ context.Context, after uint64, _ int) ([]eventstore.Event, error) {
	if after > 0 {
		return nil, nil
	}
	return u.events, nil
}
