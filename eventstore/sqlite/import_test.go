package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// readLog reads the whole log of s.
func readLog(tb testing.TB, s eventstore.Store) []eventstore.Event {
	tb.Helper()
	evs, err := s.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// TestImport loads a log read from one file into another and checks that
// every event comes back exactly, that the imported chains go on with the
// next append, and that a second import, into a log no longer empty, is
// refused writing nothing.
func TestImport(t *testing.T) {
	ctx := context.Background()
	src := MustOpen(t, tempPath(t), sqlite.Config{})
	mustAppend(t, src, "a", eventstore.NoStream, event("a1", 1), event("a2", 2))
	mustAppend(t, src, "b", eventstore.NoStream, event("b1", 3))
	mustAppend(t, src, "a", 2, event("a3", 4))
	want := readLog(t, src)

	dst := MustOpen(t, tempPath(t), sqlite.Config{})
	if err := dst.Import(ctx, want); err != nil {
		t.Fatalf("Import: %v", err)
	}
	if diff := cmp.Diff(want, readLog(t, dst)); diff != "" {
		t.Fatalf("imported log differs (-want +got):\n%s", diff)
	}
	if head, err := dst.Head(ctx); err != nil || head != want[len(want)-1].Position {
		t.Fatalf("Head after import = %d, %v; want %d", head, err, want[len(want)-1].Position)
	}

	res := mustAppend(t, dst, "a", 3, event("a4", 5))
	if res.Version != 4 || res.Position <= want[len(want)-1].Position {
		t.Fatalf("append after import: %+v", res)
	}
	if _, err := eventstore.VerifyAll(ctx, dst, nil); err != nil {
		t.Fatalf("VerifyAll after import and append: %v", err)
	}

	before := readLog(t, dst)
	if err := dst.Import(ctx, want); !errors.Is(err, eventstore.ErrLogNotEmpty) {
		t.Fatalf("second Import: %v, want ErrLogNotEmpty", err)
	}
	if diff := cmp.Diff(before, readLog(t, dst)); diff != "" {
		t.Fatalf("refused import changed the log:\n%s", diff)
	}
}

// TestImport_RefusesTampering changes one event of a good log in several
// ways and checks that each import is refused, naming that event, with
// nothing written.
func TestImport_RefusesTampering(t *testing.T) {
	ctx := context.Background()
	src := MustOpen(t, tempPath(t), sqlite.Config{})
	mustAppend(t, src, "a", eventstore.NoStream, event("a1", 1), event("a2", 2), event("a3", 3))
	good := readLog(t, src)
	cases := map[string]func(e *eventstore.Event){
		"data":     func(e *eventstore.Event) { e.Data = json.RawMessage(`{"n":99}`) },
		"hash":     func(e *eventstore.Event) { e.Hash = good[0].Hash },
		"prevHash": func(e *eventstore.Event) { e.PrevHash = "" },
		"version":  func(e *eventstore.Event) { e.Version = 3 },
		"position": func(e *eventstore.Event) { e.Position = good[0].Position },
		"id":       func(e *eventstore.Event) { e.ID = "a1" },
		"garbage":  func(e *eventstore.Event) { e.Data = json.RawMessage(`{"n":2} x`) },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			evs := append([]eventstore.Event(nil), good...)
			tamper(&evs[1])
			dst := MustOpen(t, tempPath(t), sqlite.Config{})
			err := dst.Import(ctx, evs)
			var ie *eventstore.ImportError
			if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, eventstore.ErrChainBroken) {
				t.Fatalf("Import: %v, want an ImportError at index 1", err)
			}
			if got := readLog(t, dst); len(got) != 0 {
				t.Fatalf("refused import wrote %d events", len(got))
			}
		})
	}
}
