// Package treehead signs the roots of the Merkle tree over the event log
// (package eventstore/merkle) with the node's Ed25519 key, keeps the heads
// it signs as events of their own stream, answers proofs against them, and
// checks that a log still extends heads an auditor kept outside it.
package treehead

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/offerflow/offerflow/domain"
)

// Algorithm names the signature scheme of tree heads.
const Algorithm = "Ed25519"

// Key is the private key that signs tree heads.
type Key struct {
	priv ed25519.PrivateKey
	id   string
}

// KeyID returns the id of a public key: the hex of the first 8 bytes of the
// SHA-256 of its 32 raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func newKey(priv ed25519.PrivateKey) *Key {
	return &Key{priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))}
}

// ID returns the key's id.
func (k *Key) ID() string { return k.id }

// Public returns the public half, as GET /v1/audit/key serves it.
func (k *Key) Public() domain.TreeKey {
	return domain.TreeKey{KeyID: k.id, Algorithm: Algorithm, PublicKey: hex.EncodeToString(k.priv.Public().(ed25519.PublicKey))}
}

// ErrNoKey is matched by LoadKey's error when the file does not exist.
var ErrNoKey = errors.New("no tree head key")

// LoadKey reads the PEM (PKCS #8) private key at path.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read tree head key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("tree head key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tree head key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("tree head key %s: a %T, not an Ed25519 key", path, k)
	}
	return newKey(priv), nil
}

// LoadOrCreateKey reads the key at path, generating it first (mode 0600)
// when the file does not exist. Two processes racing to create it end up
// with the same key: the file appears whole or not at all (written aside,
// then linked into place, which fails when another got there first).
func LoadOrCreateKey(path string) (*Key, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, ErrNoKey) {
		return k, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate tree head key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode tree head key: %w", err)
	}
	err = CreatePrivateFile(path, func(w io.Writer) error {
		return pem.Encode(w, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	})
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create tree head key: %w", err)
	}
	return LoadKey(path)
}

// CreatePrivateFile creates the file at path (mode 0600) with what write
// writes, unless it exists (an error matching fs.ErrExist). The file
// appears whole or not at all: it is written aside, synced, then linked
// into place, which fails when another process got there first, so two
// processes starting at once agree on one file. Keys and secrets kept in a
// data directory are made this way.
func CreatePrivateFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so rather than rely on it.
	werr := tmp.Chmod(0o600)
	if werr == nil {
		werr = write(tmp)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), werr)
	}
	return os.Link(tmp.Name(), path)
}
