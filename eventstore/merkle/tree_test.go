package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/offerflow/offerflow/eventstore/merkle"
)

// The verifier below is written from RFC 9162's text (sections 2.1.1,
// 2.1.3.2 and 2.1.4.2), not taken from the library the tree uses, so that
// a mistake shared by the tree and its library would still show.

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// mth is RFC 9162's Merkle Tree Hash of leaf hashes (already prefixed with
// 0x00 and hashed).
func mth(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return leaves[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
	}
}

// verifyInclusion is RFC 9162, 2.1.3.2.
func verifyInclusion(index, size uint64, leaf []byte, path [][]byte, root []byte) bool {
	if index >= size {
		return false
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range path {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && bytes.Equal(r, root)
}

// verifyConsistency is RFC 9162, 2.1.4.2 (with the equal-sizes case of
// 2.1.4.1: an empty proof between equal roots).
func verifyConsistency(first, second uint64, path [][]byte, firstHash, secondHash []byte) bool {
	if first == second {
		return len(path) == 0 && bytes.Equal(firstHash, secondHash)
	}
	if first == 0 || first > second || len(path) == 0 {
		return false
	}
	if first&(first-1) == 0 {
		path = append([][]byte{firstHash}, path...)
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr = nodeHash(c, fr)
			sr = nodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	return bytes.Equal(fr, firstHash) && bytes.Equal(sr, secondHash) && sn == 0
}

func leafOf(i int) []byte {
	ev := sha256.Sum256([]byte(fmt.Sprintf("event %d", i)))
	l, err := merkle.LeafHash(hex.EncodeToString(ev[:]))
	if err != nil {
		panic(err)
	}
	return l
}

func flip(p [][]byte, i int) [][]byte {
	out := make([][]byte, len(p))
	for j := range p {
		out[j] = append([]byte(nil), p[j]...)
	}
	out[i][0] ^= 1
	return out
}

func TestTree_ProofsAgainstIndependentVerifier(t *testing.T) {
	const n = 70
	tree := merkle.New()
	var leaves [][]byte
	for i := range n {
		leaves = append(leaves, leafOf(i))
		if err := tree.Append(leaves[i]); err != nil {
			t.Fatal(err)
		}
	}
	if tree.Size() != n {
		t.Fatalf("size %d, want %d", tree.Size(), n)
	}
	// The leaf hash is RFC 9162's: SHA-256(0x00 || event hash bytes).
	ev := sha256.Sum256([]byte("event 0"))
	if want := sha256.Sum256(append([]byte{0}, ev[:]...)); !bytes.Equal(leaves[0], want[:]) {
		t.Fatalf("leaf hash %x, want %x", leaves[0], want)
	}
	roots := make([][]byte, n+1)
	for size := uint64(0); size <= n; size++ {
		root, err := tree.Root(size)
		if err != nil {
			t.Fatal(err)
		}
		if want := mth(leaves[:size]); !bytes.Equal(root, want) {
			t.Fatalf("root of size %d is %x, RFC 9162 says %x", size, root, want)
		}
		roots[size] = root
	}
	for size := uint64(1); size <= n; size++ {
		for i := range size {
			p, err := tree.Inclusion(i, size)
			if err != nil {
				t.Fatal(err)
			}
			if !verifyInclusion(i, size, leaves[i], p, roots[size]) {
				t.Fatalf("inclusion proof of leaf %d in size %d does not verify", i, size)
			}
			if size > 1 && i+1 < size && verifyInclusion(i+1, size, leaves[i], p, roots[size]) {
				t.Fatalf("inclusion proof of leaf %d in size %d verifies for leaf %d", i, size, i+1)
			}
			if len(p) > 0 && verifyInclusion(i, size, leaves[i], flip(p, len(p)-1), roots[size]) {
				t.Fatalf("a changed inclusion proof of leaf %d in size %d verifies", i, size)
			}
		}
		for first := uint64(1); first <= size; first++ {
			p, err := tree.Consistency(first, size)
			if err != nil {
				t.Fatal(err)
			}
			if !verifyConsistency(first, size, p, roots[first], roots[size]) {
				t.Fatalf("consistency proof %d to %d does not verify", first, size)
			}
			if first < size && verifyConsistency(first, size, p, roots[first], roots[first]) {
				t.Fatalf("consistency proof %d to %d verifies against the wrong root", first, size)
			}
			if len(p) > 0 && verifyConsistency(first, size, flip(p, 0), roots[first], roots[size]) {
				t.Fatalf("a changed consistency proof %d to %d verifies", first, size)
			}
		}
	}
}

func TestTree_SizeBeyond(t *testing.T) {
	tree := merkle.New()
	if err := tree.Append(leafOf(0), leafOf(1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"root", func() error { _, err := tree.Root(3); return err }},
		{"inclusion", func() error { _, err := tree.Inclusion(0, 3); return err }},
		{"inclusion index", func() error { _, err := tree.Inclusion(2, 2); return err }},
		{"consistency", func() error { _, err := tree.Consistency(1, 3); return err }},
		{"consistency from 0", func() error { _, err := tree.Consistency(0, 2); return err }},
		{"consistency backwards", func() error { _, err := tree.Consistency(2, 1); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := merkle.LeafHash("abc"); err == nil {
		t.Fatal("LeafHash took a short hash")
	}
}
