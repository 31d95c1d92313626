package treehead

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/merkle"
)

// ErrNotExtended is matched by every error saying that a log no longer
// extends a tree head.
var ErrNotExtended = errors.New("the log does not extend the tree head")

// Extends checks that the first h.Size leaves of t hash to h's root.
func Extends(t *merkle.Tree, h domain.TreeHead) error {
	if n := t.Size(); h.Size > n {
		return fmt.Errorf("the log holds %d events, the head covers %d: %w", n, h.Size, ErrNotExtended)
	}
	root, err := t.Root(h.Size)
	if err != nil {
		return err
	}
	if hex.EncodeToString(root) != h.RootHash {
		return fmt.Errorf("the first %d events hash to %x, the head says %s: %w", h.Size, root, h.RootHash, ErrNotExtended)
	}
	return nil
}

// BadPositionError says where a log stops extending a head: Leaf is the
// first bad leaf index and Position its log position, exactly when Exact,
// and otherwise the first leaf that may be bad, with Before the leaf
// before which the first bad one lies.
type BadPositionError struct {
	Head     domain.TreeHead
	Leaf     uint64
	Position uint64
	Exact    bool
	Before   uint64
	What     string
	// Witness tells that Head is the tree of the node's witness, not a
	// signed head.
	Witness bool
}

func (e *BadPositionError) Error() string {
	if e.Witness {
		return fmt.Sprintf("the log does not extend this node's witness of %d events: first bad position %d (leaf %d): %s", e.Head.Size, e.Position, e.Leaf, e.What)
	}
	if e.Exact {
		return fmt.Sprintf("head of size %d: first bad position %d (leaf %d): %s: %v", e.Head.Size, e.Position, e.Leaf, e.What, ErrNotExtended)
	}
	return fmt.Sprintf("head of size %d: first bad position at or after %d (leaf %d, before leaf %d): %s: %v",
		e.Head.Size, e.Position, e.Leaf, e.Before, e.What, ErrNotExtended)
}

// Is makes BadPositionError match ErrNotExtended.
func (e *BadPositionError) Is(target error) bool { return target == ErrNotExtended }

// Checker checks heads against a log, locating the first bad event with
// the help of a witness (see merkle.Witness) where one reproduces the head.
type Checker struct {
	log     *merkle.Log
	witness []merkle.WitnessLeaf
	wtree   *merkle.Tree
}

// NewChecker returns a checker of l, which must be synced, with the leaves
// of a witness file (none for no witness).
func NewChecker(l *merkle.Log, witness []merkle.WitnessLeaf) (*Checker, error) {
	c := &Checker{log: l, witness: witness, wtree: merkle.New()}
	for _, w := range witness {
		if err := c.wtree.Append(w.Hash); err != nil {
			return nil, fmt.Errorf("witness: %w", err)
		}
	}
	return c, nil
}

// Extends checks that the checker's log extends h.
func (c *Checker) Extends(h domain.TreeHead) error { return Extends(c.log.Tree(), h) }

// CheckWitness returns nil when the log holds every leaf of the witness,
// unchanged and in order, and otherwise a *BadPositionError naming the
// first leaf where they part: the witness reproduces its own tree, so the
// position is exact. A log that lost its last events, which no recorded
// head may cover yet, is shorter than the witness.
func (c *Checker) CheckWitness() error {
	n := c.wtree.Size()
	if n == 0 {
		return nil
	}
	root, err := c.wtree.Root(n)
	if err != nil {
		return err
	}
	h := domain.TreeHead{Size: n, RootHash: hex.EncodeToString(root)}
	if Extends(c.log.Tree(), h) == nil {
		return nil
	}
	size := c.log.Tree().Size()
	err = c.exact(h, size)
	var bp *BadPositionError
	if errors.As(err, &bp) {
		bp.Witness = true
		if bp.Leaf >= size {
			bp.What = fmt.Sprintf("removed, with every later event the witness recorded (the log ends after %d events)", size)
		}
	}
	return err
}

// Check returns nil when the log extends h, and otherwise a
// *BadPositionError. good is the size of a head the log is known to
// extend (0 for none), which bounds the search when the witness cannot.
func (c *Checker) Check(h domain.TreeHead, good uint64) error {
	tree := c.log.Tree()
	if Extends(tree, h) == nil {
		return nil
	}
	size := tree.Size()
	if h.Size <= c.wtree.Size() {
		if root, err := c.wtree.Root(h.Size); err == nil && hex.EncodeToString(root) == h.RootHash {
			return c.exact(h, size)
		}
	}
	e := &BadPositionError{Head: h, Leaf: good, Before: min(h.Size, size+1)}
	e.Position, _ = c.log.Position(good)
	switch {
	case h.Size > size:
		e.What = fmt.Sprintf("the log holds %d events, the head covers %d: events were removed", size, h.Size)
	default:
		e.What = fmt.Sprintf("the first %d events no longer hash to the head's root: an event among them was changed, removed or reordered", h.Size)
	}
	if good >= size {
		e.Position = 0
		e.What += " (no witness reproduces the head to say which)"
	}
	return e
}

// exact finds the first leaf where the log and the witness part.
func (c *Checker) exact(h domain.TreeHead, size uint64) error {
	tree := c.log.Tree()
	for i := range h.Size {
		w := c.witness[i]
		e := &BadPositionError{Head: h, Leaf: i, Position: w.Position, Exact: true}
		if i >= size {
			e.What = fmt.Sprintf("removed, with every later event the head covers (the log ends after %d events)", size)
			return e
		}
		pos, _ := c.log.Position(i)
		if pos == w.Position && bytes.Equal(tree.Leaf(i), w.Hash) {
			continue
		}
		switch {
		case pos == w.Position:
			e.What = "the event there was changed"
		case pos > w.Position:
			e.What = fmt.Sprintf("the event there was removed (the log goes on with position %d)", pos)
		default:
			e.What = fmt.Sprintf("an event at position %d stands where the head had position %d: the log was reordered", pos, w.Position)
		}
		return e
	}
	// The witness reproduces the head and the log matches it leaf for leaf:
	// then the log reproduces it too, and Extends would have said so.
	return fmt.Errorf("head of size %d: the log matches the witness but not the head: %w", h.Size, ErrNotExtended)
}
