// Package merkletest is an RFC 9162 verifier for tests, written from the
// RFC's text (sections 2.1.1, 2.1.3.2 and 2.1.4.2) rather than taken from
// the library package merkle uses, so that a mistake shared by the tree and
// its library would still show.
package merkletest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
)

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// MTH is RFC 9162's Merkle Tree Hash of leaf hashes (already prefixed with
// 0x00 and hashed).
func MTH(leaves [][]byte) []byte {
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
		return nodeHash(MTH(leaves[:k]), MTH(leaves[k:]))
	}
}

// VerifyInclusion is RFC 9162, 2.1.3.2.
func VerifyInclusion(index, size uint64, leaf []byte, path [][]byte, root []byte) bool {
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

// VerifyConsistency is RFC 9162, 2.1.4.2 (with the equal-sizes case of
// 2.1.4.1: an empty proof between equal roots).
func VerifyConsistency(first, second uint64, path [][]byte, firstHash, secondHash []byte) bool {
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

// Leaf is the leaf hash of an event whose hash is eventHash (hex):
// SHA-256(0x00 || its bytes). A hash that is not hex gives nil.
func Leaf(eventHash string) []byte {
	b, err := hex.DecodeString(eventHash)
	if err != nil {
		return nil
	}
	s := sha256.Sum256(append([]byte{0}, b...))
	return s[:]
}

// Hex decodes hex strings; one that is not hex gives nil in its place.
func Hex(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i], _ = hex.DecodeString(s)
	}
	return out
}
