package domain

import "time"

// TreeHead is a signed tree head: the root of the Merkle tree over the first
// Size events of the log, in log order, signed by the node that computed it.
// The signature covers every other field (package eventstore/treehead
// defines the exact bytes).
type TreeHead struct {
	Size      uint64    `json:"size"`
	RootHash  string    `json:"root_hash"` // hex
	Timestamp time.Time `json:"timestamp"`
	KeyID     string    `json:"key_id"`    // hex
	Signature string    `json:"signature"` // hex Ed25519 signature
}

// TreeKey is the public half of the key that signs tree heads.
type TreeKey struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key"` // hex, the 32 raw bytes of the Ed25519 key
}

// LeafProof proves that one event is a leaf of the tree of some size: the
// leaf's index (its place in log order, from 0) and the RFC 9162 inclusion
// path from it to the root.
type LeafProof struct {
	Position  uint64   `json:"position"`
	Stream    string   `json:"stream"` // the offer's, or one it caused (its grant)
	Version   uint64   `json:"version"`
	Hash      string   `json:"hash"` // the event's hash, whose leaf hash is SHA-256(0x00 || bytes)
	LeafIndex uint64   `json:"leaf_index"`
	Proof     []string `json:"proof"` // hex node hashes, leaf to root
}
