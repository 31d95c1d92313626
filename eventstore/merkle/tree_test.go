package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/offerflow/offerflow/eventstore/merkle"
	"github.com/offerflow/offerflow/eventstore/merkle/merkletest"
)

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
		if want := merkletest.MTH(leaves[:size]); !bytes.Equal(root, want) {
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
			if !merkletest.VerifyInclusion(i, size, leaves[i], p, roots[size]) {
				t.Fatalf("inclusion proof of leaf %d in size %d does not verify", i, size)
			}
			if size > 1 && i+1 < size && merkletest.VerifyInclusion(i+1, size, leaves[i], p, roots[size]) {
				t.Fatalf("inclusion proof of leaf %d in size %d verifies for leaf %d", i, size, i+1)
			}
			if len(p) > 0 && merkletest.VerifyInclusion(i, size, leaves[i], flip(p, len(p)-1), roots[size]) {
				t.Fatalf("a changed inclusion proof of leaf %d in size %d verifies", i, size)
			}
		}
		for first := uint64(1); first <= size; first++ {
			p, err := tree.Consistency(first, size)
			if err != nil {
				t.Fatal(err)
			}
			if !merkletest.VerifyConsistency(first, size, p, roots[first], roots[size]) {
				t.Fatalf("consistency proof %d to %d does not verify", first, size)
			}
			if first < size && merkletest.VerifyConsistency(first, size, p, roots[first], roots[first]) {
				t.Fatalf("consistency proof %d to %d verifies against the wrong root", first, size)
			}
			if len(p) > 0 && merkletest.VerifyConsistency(first, size, flip(p, 0), roots[first], roots[size]) {
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
