package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Hash returns the hex SHA-256 of e's canonical envelope, which includes
// PrevHash and excludes Position and Hash: the position is assigned by the
// store (EventStoreDB only knows it after the write), and the chain runs per
// stream, so the position adds nothing to tamper evidence.
//
// The canonical envelope is the JSON object
//
//	{"data":…,"id":…,"metadata":{"actor":{"name"?,"role","subject","tenant"},"causation_id","correlation_id","occurred_at"},
//	 "prev_hash":…|null,"schema_version":…,"stream":…,"type":…,"version":…}
//
// with keys sorted, no insignificant white space, numbers as written, and
// occurred_at in RFC 3339 with nanoseconds in UTC. Anyone holding the history
// of a stream can recompute it.
func Hash(e Event) (string, error) {
	b, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Canonical returns the canonical envelope of e that Hash digests.
func Canonical(e Event) ([]byte, error) {
	data, err := canonicalJSON(e.Data)
	if err != nil {
		return nil, fmt.Errorf("canonical data of %s/%d: %w", e.Stream, e.Version, err)
	}
	var prev any
	if e.PrevHash != "" {
		prev = e.PrevHash
	}
	env := map[string]any{
		"data": json.RawMessage(data),
		"id":   e.ID,
		"metadata": map[string]any{
			"actor":          canonicalActor(e.Metadata.Actor),
			"causation_id":   e.Metadata.CausationID,
			"correlation_id": e.Metadata.CorrelationID,
			"occurred_at":    e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano),
		},
		"prev_hash":      prev,
		"schema_version": e.SchemaVersion,
		"stream":         e.Stream,
		"type":           e.Type,
		"version":        e.Version,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// canonicalActor is the actor of the canonical envelope: role, subject,
// tenant, and name only where there is one, so that events recorded before
// names existed keep their hashes.
func canonicalActor(a Actor) map[string]any {
	m := map[string]any{"role": a.Role, "subject": a.Subject, "tenant": a.Tenant}
	if a.Name != "" {
		m["name"] = a.Name
	}
	return m
}

// canonicalJSON re-encodes a JSON value with sorted keys and no white space,
// keeping numbers exactly as written.
func canonicalJSON(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Seal sets e's PrevHash to prev and computes its Hash.
func Seal(e *Event, prev string) error {
	e.PrevHash = prev
	h, err := Hash(*e)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// VerifyChain checks that events, which must be a whole stream from its first
// event in version order, form an intact hash chain: consecutive versions from
// 1, each PrevHash the Hash before it, each Hash recomputed equal.
func VerifyChain(events []Event) error {
	prev := ""
	for i, e := range events {
		if e.Version != uint64(i+1) {
			return fmt.Errorf("stream %s: event %d has version %d", e.Stream, i+1, e.Version)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("stream %s version %d: prev_hash %q does not match the hash before it %q", e.Stream, e.Version, e.PrevHash, prev)
		}
		h, err := Hash(e)
		if err != nil {
			return fmt.Errorf("stream %s version %d: %w", e.Stream, e.Version, err)
		}
		if h != e.Hash {
			return fmt.Errorf("stream %s version %d: hash %s does not match its content (%s)", e.Stream, e.Version, e.Hash, h)
		}
		prev = e.Hash
	}
	return nil
}
