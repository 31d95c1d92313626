package treehead_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// TestService_NodesShareALog runs two nodes with keys of their own over one
// log, signing heads at once while the log grows: every head either records
// or loses the race on the treeheads stream and tries again, and every
// recorded head is one the log extends.
func TestService_NodesShareALog(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t)
	var nodes []*treehead.Service
	for i := range 2 {
		dir := t.TempDir()
		key, err := treehead.LoadOrCreateKey(filepath.Join(dir, "key"))
		if err != nil {
			t.Fatal(err)
		}
		svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, StoredHashes: i == 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		nodes = append(nodes, svc)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for round := range 10 {
		appendEvents(t, store, fmt.Sprintf("s%d", round), 2)
		for _, n := range nodes {
			wg.Go(func() {
				h, err := n.Head(ctx)
				if err == nil {
					err = treehead.Verify(h, n.Key())
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A third reader finds every recorded head extended.
	key, err := treehead.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	reader, err := treehead.New(ctx, treehead.Config{Store: store, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if p := reader.Problems(); len(p) != 0 {
		t.Fatal(p)
	}
	recorded, err := eventstore.ReadStreamAll(ctx, store, treehead.Stream, 0)
	if err != nil || len(recorded) < 10 {
		t.Fatalf("%d heads recorded over 10 rounds of growth: %v", len(recorded), err)
	}
}

// racingStore lets another node record a head just before this node's
// append to the treeheads stream, once.
type racingStore struct {
	eventstore.Store
	before func()
}

func (s *racingStore) Append(ctx context.Context, stream string, expected uint64, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	if f := s.before; stream == treehead.Stream && f != nil {
		s.before = nil
		f()
	}
	return s.Store.Append(ctx, stream, expected, events...)
}

// TestService_HeadLosesTheRace has another node record a head between this
// node's reading of the log and its append: the append is refused by the
// stream's version, and the node reads again and records a head of its own
// over the grown log.
func TestService_HeadLosesTheRace(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t)
	appendEvents(t, store, "a", 3)
	newNode := func(s eventstore.Store) *treehead.Service {
		key, err := treehead.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
		if err != nil {
			t.Fatal(err)
		}
		svc, err := treehead.New(ctx, treehead.Config{Store: s, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Close() })
		return svc
	}
	other := newNode(store)
	rs := &racingStore{Store: store}
	node := newNode(rs)
	var otherHead domain.TreeHead
	rs.before = func() {
		var err error
		if otherHead, err = other.Head(ctx); err != nil {
			t.Error(err)
		}
	}
	h, err := node.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if otherHead.Size != 3 || h.Size != 4 || h.KeyID == otherHead.KeyID {
		t.Fatalf("the other node's head %+v, this node's %+v: want sizes 3, then 4 (covering the other's head)", otherHead, h)
	}
	recorded, err := eventstore.ReadStreamAll(ctx, store, treehead.Stream, 0)
	if err != nil || len(recorded) != 2 {
		t.Fatalf("recorded %d heads, want 2: %v", len(recorded), err)
	}
}
