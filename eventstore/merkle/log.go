package merkle

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/offerflow/offerflow/eventstore"
)

// Log is the Merkle tree over one event store's log, in ReadAll order, with
// the position of every leaf. It grows by Sync, which reads only the events
// after the last one it saw; nothing of it is stored with the log.
//
// A leaf is the hash of the event's canonical envelope (eventstore.Hash).
// A Log that recomputes it from the content (verify, head) makes a stored
// hash that no longer matches its event change the tree as the event would;
// one that takes the stored hash (serve, which wrote it) reads the log about
// five times faster, and the two agree on every log whose chains are intact.
type Log struct {
	store     eventstore.Store
	tree      *Tree
	recompute bool

	// mu serialises Sync and guards what it fills in.
	mu        sync.Mutex
	positions []uint64
	after     uint64
	// onEvent, when set, sees every event Sync adds, with its leaf, after
	// the leaf is in the tree.
	onEvent func(e eventstore.Event, leaf Leaf) error
}

// Leaf is one leaf of the tree over the log.
type Leaf struct {
	Index    uint64 // place in log order, from 0
	Position uint64 // the event's log position
	Hash     []byte // the leaf hash (see LeafHash)
}

// NewLog returns the tree over store's log; it is empty until Sync. With
// recompute, each leaf is hashed from the event's content; without, from
// the hash stored in its envelope. onEvent, when not nil, is called for every event Sync adds to the tree,
// with its leaf, in log order, while Sync holds the Log (it must not call
// the Log's methods; the Tree's are fine); an error it returns stops Sync
// there.
func NewLog(store eventstore.Store, recompute bool, onEvent func(e eventstore.Event, leaf Leaf) error) *Log {
	return &Log{store: store, tree: New(), recompute: recompute, onEvent: onEvent}
}

// syncPage is how many events Sync reads at a time.
const syncPage = 1000

// Sync reads the events appended since the last Sync (all of them the first
// time) into the tree and returns its size. progress, when not nil, is
// called after every page with the number of leaves so far.
func (l *Log) Sync(ctx context.Context, progress func(leaves uint64)) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		evs, err := l.store.ReadAll(ctx, l.after, syncPage)
		if err != nil {
			return l.tree.Size(), fmt.Errorf("merkle tree: read log after position %d: %w", l.after, err)
		}
		for _, e := range evs {
			if e.Position <= l.after {
				return l.tree.Size(), fmt.Errorf("merkle tree: position %d follows position %d: log is not in order", e.Position, l.after)
			}
			h := e.Hash
			if l.recompute {
				if h, err = eventstore.Hash(e); err != nil {
					return l.tree.Size(), fmt.Errorf("merkle tree: hash event at position %d: %w", e.Position, err)
				}
			}
			leaf, err := LeafHash(h)
			if err != nil {
				return l.tree.Size(), err
			}
			if err := l.tree.Append(leaf); err != nil {
				return l.tree.Size(), err
			}
			index := uint64(len(l.positions))
			l.positions = append(l.positions, e.Position)
			l.after = e.Position
			if l.onEvent != nil {
				if err := l.onEvent(e, Leaf{Index: index, Position: e.Position, Hash: leaf}); err != nil {
					return l.tree.Size(), err
				}
			}
		}
		if progress != nil && len(evs) > 0 {
			progress(l.tree.Size())
		}
		if len(evs) < syncPage {
			return l.tree.Size(), nil
		}
	}
}

// Tree returns the tree; it holds every event Sync has read.
func (l *Log) Tree() *Tree { return l.tree }

// LeafIndex returns the leaf index of the event at position, false when
// Sync has not seen such an event.
func (l *Log) LeafIndex(position uint64) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := slices.BinarySearch(l.positions, position)
	return uint64(i), ok
}

// Position returns the log position of the leaf at index, false beyond
// the tree.
func (l *Log) Position(index uint64) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if index >= uint64(len(l.positions)) {
		return 0, false
	}
	return l.positions[index], true
}
