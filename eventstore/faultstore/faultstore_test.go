package faultstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
	"github.com/offerflow/offerflow/eventstore/faultstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

func mustOpen(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Without rules the wrapper is the store it wraps.
func TestStore_Conformance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store { return faultstore.New(mustOpen(t)) })
}

func event(id, typ string) eventstore.NewEvent {
	return eventstore.NewEvent{ID: id, Type: typ, SchemaVersion: 1, Data: json.RawMessage(`{}`)}
}

func TestStore_Rules(t *testing.T) {
	ctx := context.Background()
	inner := mustOpen(t)
	fs := faultstore.New(inner,
		faultstore.Rule{Fault: faultstore.FailBefore, Nth: 2, StreamPrefix: "a-"},
		faultstore.Rule{Fault: faultstore.FailAfter, Type: "b.done", Times: 1},
	)
	appendOne := func(stream, typ string, expected uint64) error {
		_, err := fs.Append(ctx, stream, expected, event(fmt.Sprintf("%s-%d", stream, expected+1), typ))
		return err
	}
	for i, c := range []struct {
		stream, typ string
		expected    uint64
		injected    bool
		stored      bool
	}{
		{"a-1", "a.x", 0, false, true},   // first append to a-*: passes
		{"a-2", "a.x", 0, true, false},   // the second: refused before the commit
		{"a-2", "a.x", 0, false, true},   // the third: passes
		{"b-1", "b.done", 0, true, true}, // committed, then an error
		{"b-1", "b.done", 1, false, true},
	} {
		head, _ := inner.Head(ctx)
		err := appendOne(c.stream, c.typ, c.expected)
		if got := errors.Is(err, faultstore.ErrInjected); got != c.injected {
			t.Fatalf("append %d: err %v, injected %v want %v", i, err, got, c.injected)
		}
		after, _ := inner.Head(ctx)
		if stored := after > head; stored != c.stored {
			t.Fatalf("append %d: stored %v, want %v", i, stored, c.stored)
		}
	}
	if n := fs.Appends(); n != 5 {
		t.Errorf("Appends = %d, want 5", n)
	}
	if inj := fs.Injected(); len(inj) != 2 || inj[0].Fault != faultstore.FailBefore || inj[1].Fault != faultstore.FailAfter || inj[1].Stream != "b-1" {
		t.Errorf("Injected = %+v", inj)
	}
	fs.Clear()
	if err := appendOne("a-3", "a.x", 0); err != nil {
		t.Fatalf("append after Clear: %v", err)
	}
}
