// Package merkle holds the Merkle tree over the whole event log in log order
// (RFC 9162, section 2.1): the leaf of an event is SHA-256(0x00 || the 32
// bytes of its hash), an inner node SHA-256(0x01 || left || right). The tree
// grows as the log does and answers roots of every earlier size, inclusion
// proofs and consistency proofs, so that an auditor holding one signed root
// can check that the log still extends it.
//
// Hashing, the compact range that folds appended leaves into perfect
// subtrees, and the choice of nodes for a proof come from
// github.com/transparency-dev/merkle; this package keeps the nodes.
package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is RFC 9162's SHA-256 tree hasher (the same as RFC 6962's).
var hasher = rfc6962.DefaultHasher

// LeafHash returns the leaf hash of an event whose hash is eventHash (hex,
// as stored in the envelope).
func LeafHash(eventHash string) ([]byte, error) {
	b, err := hex.DecodeString(eventHash)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("event hash %q is not 32 bytes of hex", eventHash)
	}
	return hasher.HashLeaf(b), nil
}

// Tree is a Merkle tree that only grows. It keeps every perfect subtree's
// hash, level by level (about two hashes of 32 bytes per leaf), so that the
// root of any earlier size and any proof is a handful of lookups. It is safe
// for concurrent use.
type Tree struct {
	mu sync.RWMutex
	// levels[l] holds the hashes of the perfect subtrees of 2^l leaves,
	// left to right, 32 bytes each.
	levels [][]byte
	rng    *compact.Range
}

var factory = &compact.RangeFactory{Hash: hasher.HashChildren}

// New returns an empty tree.
func New() *Tree { return &Tree{rng: factory.NewEmptyRange(0)} }

// Append adds leaf hashes (see LeafHash) at the end of the tree.
func (t *Tree) Append(leaves ...[]byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, leaf := range leaves {
		if len(leaf) != sha256.Size {
			return fmt.Errorf("append leaf %d: %d bytes, want %d", t.rng.End(), len(leaf), sha256.Size)
		}
		err := t.rng.Append(leaf, func(id compact.NodeID, hash []byte) {
			for uint(len(t.levels)) <= id.Level {
				t.levels = append(t.levels, nil)
			}
			// Nodes of a level complete left to right, so each is the next.
			t.levels[id.Level] = append(t.levels[id.Level], hash...)
		})
		if err != nil {
			return fmt.Errorf("append leaf %d: %w", t.rng.End(), err)
		}
	}
	return nil
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.rng.End()
}

// Leaf returns the leaf hash at index, which must be below Size.
func (t *Tree) Leaf(index uint64) []byte {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.node(compact.NewNodeID(0, index))
}

// node returns a stored perfect subtree's hash; the caller holds mu.
func (t *Tree) node(id compact.NodeID) []byte {
	off := id.Index * sha256.Size
	return t.levels[id.Level][off : off+sha256.Size : off+sha256.Size]
}

// Root returns the root hash of the tree of the first size leaves (RFC
// 9162's MTH; SHA-256 of nothing for size 0).
func (t *Tree) Root(size uint64) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size > t.rng.End() {
		return nil, &SizeError{Size: size, TreeSize: t.rng.End()}
	}
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		hashes[i] = t.node(id)
	}
	r, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("root of size %d: %w", size, err)
	}
	return r.GetRootHash(nil)
}

// Inclusion returns the inclusion proof of the leaf at index in the tree of
// the first size leaves (RFC 9162, 2.1.3.1).
func (t *Tree) Inclusion(index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("inclusion proof: leaf %d is not in a tree of size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of leaf %d in size %d: %w", index, size, err)
	}
	return t.rehash(nodes, size)
}

// Consistency returns the consistency proof between the trees of the first
// size1 and size2 leaves (RFC 9162, 2.1.4.1), 0 < size1 <= size2.
func (t *Tree) Consistency(size1, size2 uint64) ([][]byte, error) {
	if size1 == 0 || size1 > size2 {
		return nil, fmt.Errorf("consistency proof: sizes %d and %d are not 0 < from <= to", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", size1, size2, err)
	}
	return t.rehash(nodes, size2)
}

// rehash fetches the nodes a proof needs and folds the ephemeral one.
func (t *Tree) rehash(nodes proof.Nodes, size uint64) ([][]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size > t.rng.End() {
		return nil, &SizeError{Size: size, TreeSize: t.rng.End()}
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		// Copied: Rehash may overwrite the slice's elements in place.
		hashes[i] = append([]byte(nil), t.node(id)...)
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// SizeError is returned for a size beyond the tree's.
type SizeError struct {
	Size, TreeSize uint64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("size %d is beyond the tree's %d leaves", e.Size, e.TreeSize)
}
