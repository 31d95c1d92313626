package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// A witness file keeps, in the node's own data directory, every leaf the
// node has seen: its position and leaf hash, 40 bytes a leaf, in leaf
// order. A signed tree head proves only THAT the log changed; when the
// witness still reproduces the head's root it also shows WHERE: the first
// leaf at which the log and the witness part. Writers only ever extend it,
// at fixed offsets, so two processes extending it from the same log write
// the same bytes; a witness that disagrees with the log is never rewritten,
// for it is the evidence.

const witnessRecord = 8 + sha256.Size

// WitnessLeaf is one record of a witness file.
type WitnessLeaf struct {
	Position uint64
	Hash     []byte
}

// ReadWitness returns the leaves recorded in the witness file at path,
// none when it does not exist. A torn last record is ignored.
func ReadWitness(path string) ([]WitnessLeaf, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read witness: %w", err)
	}
	out := make([]WitnessLeaf, len(b)/witnessRecord)
	for i := range out {
		r := b[i*witnessRecord : (i+1)*witnessRecord]
		out[i] = WitnessLeaf{Position: binary.BigEndian.Uint64(r), Hash: r[8:]}
	}
	return out, nil
}

// Witness extends a witness file as a Log grows.
type Witness struct {
	f        *os.File
	n        uint64 // records in the file
	dirty    bool
	mismatch *WitnessMismatch
}

// WitnessMismatch is the first leaf at which the log no longer matches
// what the witness recorded.
type WitnessMismatch struct {
	Index    uint64
	Recorded WitnessLeaf
	Found    Leaf
}

func (m *WitnessMismatch) Error() string {
	return fmt.Sprintf("leaf %d: the witness recorded position %d with leaf hash %x, the log now has position %d with leaf hash %x",
		m.Index, m.Recorded.Position, m.Recorded.Hash, m.Found.Position, m.Found.Hash)
}

// OpenWitness opens (creating if missing) the witness file at path.
func OpenWitness(path string) (*Witness, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open witness: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open witness: %w", err)
	}
	return &Witness{f: f, n: uint64(st.Size()) / witnessRecord}, nil
}

// Observe compares leaf with the record at its index, or records it when
// it is the next one. It returns the first mismatch (and every call after
// it returns the same), after which the file is no longer written.
func (w *Witness) Observe(leaf Leaf) (*WitnessMismatch, error) {
	if w.mismatch != nil {
		return w.mismatch, nil
	}
	var rec [witnessRecord]byte
	switch {
	case leaf.Index < w.n:
		if _, err := w.f.ReadAt(rec[:], int64(leaf.Index)*witnessRecord); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read witness leaf %d: %w", leaf.Index, err)
		}
		pos := binary.BigEndian.Uint64(rec[:8])
		if pos != leaf.Position || !bytes.Equal(rec[8:], leaf.Hash) {
			w.mismatch = &WitnessMismatch{Index: leaf.Index, Recorded: WitnessLeaf{Position: pos, Hash: append([]byte(nil), rec[8:]...)}, Found: leaf}
			return w.mismatch, nil
		}
		return nil, nil
	case leaf.Index == w.n:
		binary.BigEndian.PutUint64(rec[:8], leaf.Position)
		copy(rec[8:], leaf.Hash)
		if _, err := w.f.WriteAt(rec[:], int64(leaf.Index)*witnessRecord); err != nil {
			return nil, fmt.Errorf("write witness leaf %d: %w", leaf.Index, err)
		}
		w.n++
		w.dirty = true
		return nil, nil
	default:
		return nil, fmt.Errorf("witness: leaf %d observed after only %d", leaf.Index, w.n)
	}
}

// Len returns how many leaves the witness holds: those in the file when it
// was opened, and those Observe recorded since.
func (w *Witness) Len() uint64 { return w.n }

// Flush makes the records written so far durable, so that a crash cannot
// leave a hole that would later read as a mismatch.
func (w *Witness) Flush() error {
	if !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync witness: %w", err)
	}
	w.dirty = false
	return nil
}

// Close flushes and closes the file.
func (w *Witness) Close() error {
	return errors.Join(w.Flush(), w.f.Close())
}
