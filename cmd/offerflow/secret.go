package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/offerflow/offerflow/eventstore/treehead"
)

// secretFile holds the server's secret (hex of 32 random bytes, 0600),
// generated on first start: it keys the responses kept for Idempotency-Key,
// so that idempotency.db alone can be neither searched nor opened.
const secretFile = "server.secret"

const secretBytes = 32

// loadOrCreateSecret returns the secret in the file at path, creating the
// file with a new one when it does not exist. A file readable by others is
// tightened to 0600 when tighten is set: the server's own file, not one an
// operator named (a mounted Docker or Kubernetes secret is read-only and
// owned by someone else, so changing its mode would fail).
func loadOrCreateSecret(path string, tighten bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read server secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) != secretBytes {
		return nil, fmt.Errorf("server secret %s is damaged (want %d hex-encoded bytes): remove it to make a new one, losing only the Idempotency-Key replays kept so far", path, secretBytes)
	}
	if !tighten {
		return secret, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	return secret, nil
}

// createSecret writes a new secret to path, atomically (a crash leaves no
// file or a whole one), and two processes starting at once agree on one.
func createSecret(path string) ([]byte, error) {
	secret := make([]byte, secretBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	err := treehead.CreatePrivateFile(path, func(w io.Writer) error {
		_, err := io.WriteString(w, hex.EncodeToString(secret)+"\n")
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateSecret(path, true) // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("create server secret: %w", err)
	}
	return secret, nil
}

// secureDataDir makes the data directory and every file directly in it
// private to the server's user: the directory 0700, the files 0600. The
// files hold the log, the read models, kept responses and keys; a
// directory that existed before keeps no looser mode. New files are
// covered by the process umask (main) and, for SQLite's -wal and -shm,
// by SQLite giving them the mode of their database file.
func secureDataDir(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
			return fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	return nil
}
