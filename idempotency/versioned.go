package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
)

// Backend keeps records by key, each write a compare-and-swap on the key's
// revision, so that of two nodes claiming one key only one succeeds. Only
// a key's last record is ever read. eventstore/esdb implements it on
// EventStoreDB: a stream per key, an append at an expected revision.
type Backend interface {
	// ReadIdempotency returns the last record written under key, its
	// revision (how many records the key has had) and its place in the
	// order of all the backend's writes (later writes have larger ones).
	// A key never written, or whose last record is older than the keep it
	// was written with (the backend may forget those), reads as data nil
	// and revision 0.
	ReadIdempotency(ctx context.Context, key string) (data []byte, revision, seq uint64, err error)
	// SwapIdempotency writes data as key's next record if key is still at
	// revision (0: nothing readable, as ReadIdempotency reported) and
	// returns key's revision after it; ok is false, with no error, when
	// another write came first. The record must stay readable for keep;
	// after that the backend may forget it.
	SwapIdempotency(ctx context.Context, key string, revision uint64, data []byte, keep time.Duration) (newRevision uint64, ok bool, err error)
	// MarkIdempotency writes a mark after every record written so far and
	// keeps it readable for keep; IdempotencyMark returns the place of the
	// last mark (0: none).
	MarkIdempotency(ctx context.Context, keep time.Duration) error
	IdempotencyMark(ctx context.Context) (seq uint64, err error)
}

// Versioned are Records on a Backend: every claim, reply and release is a
// record of its own, written by compare-and-swap on the key's revision, and
// Begin decides from the key's last record alone (one read). Wipe writes a
// mark instead of finding and deleting replies: a reply written before the
// last mark is not replayed.
type Versioned struct {
	b   Backend
	cfg Config

	mu sync.Mutex
	// claims are this process's claims in progress, by key: the revision
	// their reply or release must be written at.
	claims map[string]claim
}

var _ Records = (*Versioned)(nil)

type claim struct {
	revision    uint64
	fingerprint string
}

// NewVersioned returns Records on b. Records stay readable for TTL plus
// Lease plus an hour (the keep each is written with), longer than any of
// them matters, so that a record the backend forgot is one that Begin would
// have taken as free anyway, clock skew between the nodes included.
func NewVersioned(b Backend, cfg Config) *Versioned {
	cfg.setDefaults()
	return &Versioned{b: b, cfg: cfg, claims: make(map[string]claim)}
}

// Record states.
const (
	stateClaimed  = "claimed"
	stateDone     = "done"
	stateReleased = "released"
)

// record is one write of a key: a claim, its reply, or its release.
type record struct {
	State       string `json:"state"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// At is when the claim was made or the reply stored (Unix ns, the
	// writing node's clock): the record's age counts from it.
	At int64 `json:"at"`
	// LeaseUntil is when a claim lapses (Unix ns).
	LeaseUntil int64  `json:"lease_until,omitempty"`
	Response   []byte `json:"response,omitempty"`
}

// maxSwaps bounds the decisions of one call that keeps losing the
// compare-and-swap to other writers of the key.
const maxSwaps = 8

func (v *Versioned) keep() time.Duration { return v.cfg.TTL + v.cfg.Lease + time.Hour }

// read returns key's last record and revision; nil when there is none.
func (v *Versioned) read(ctx context.Context, key string) (*record, uint64, uint64, error) {
	data, rev, seq, err := v.b.ReadIdempotency(ctx, key)
	if err != nil || data == nil {
		return nil, rev, seq, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, 0, 0, fmt.Errorf("record of revision %d: %w", rev, err)
	}
	return &r, rev, seq, nil
}

func (v *Versioned) swap(ctx context.Context, key string, rev uint64, r record) (uint64, bool, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return 0, false, err
	}
	return v.b.SwapIdempotency(ctx, key, rev, data, v.keep())
}

// Begin claims key for a request whose body has fingerprint, deciding as
// Store.Begin does: a key whose last record is older than TTL, released,
// or a reply from before the last Wipe is free; another fingerprint is
// IdempotencyMismatch; a reply is replayed; a claim is in progress until
// its lease lapses, and then taken over.
func (v *Versioned) Begin(ctx context.Context, key, fingerprint string) (ofhttp.IdempotencyOutcome, []byte, error) {
	for range maxSwaps {
		now := v.cfg.Now()
		r, rev, seq, err := v.read(ctx, key)
		if err != nil {
			return 0, nil, fmt.Errorf("idempotency look-up: %w", err)
		}
		free := r == nil || r.State == stateReleased || time.Unix(0, r.At).Before(now.Add(-v.cfg.TTL))
		if !free && r.State == stateDone && r.Fingerprint == fingerprint {
			// Only a reply about to be replayed needs the mark: a
			// mismatch or a claim shows no reply.
			mark, err := v.b.IdempotencyMark(ctx)
			if err != nil {
				return 0, nil, fmt.Errorf("idempotency look-up: %w", err)
			}
			free = seq < mark
		}
		if !free {
			switch {
			case r.Fingerprint != fingerprint:
				return ofhttp.IdempotencyMismatch, nil, nil
			case r.State == stateDone:
				return ofhttp.IdempotencyReplay, r.Response, nil
			case time.Unix(0, r.LeaseUntil).After(now):
				return ofhttp.IdempotencyInProgress, nil, nil
			}
			// The claim lapsed: its request died without settling it.
		}
		next, ok, err := v.swap(ctx, key, rev, record{
			State: stateClaimed, Fingerprint: fingerprint, At: now.UnixNano(), LeaseUntil: now.Add(v.cfg.Lease).UnixNano(),
		})
		if err != nil {
			return 0, nil, fmt.Errorf("idempotency claim: %w", err)
		}
		if ok {
			v.mu.Lock()
			v.claims[key] = claim{revision: next, fingerprint: fingerprint}
			v.mu.Unlock()
			return ofhttp.IdempotencyStarted, nil, nil
		}
		// Another node wrote the key meanwhile: decide again on its record.
	}
	return 0, nil, fmt.Errorf("idempotency begin: the key changed %d times while it was being claimed", maxSwaps)
}

// claimOf returns (and forgets) the claim in progress on key: this
// process's, else the key's last record when that is a claim.
func (v *Versioned) claimOf(ctx context.Context, key string) (claim, bool, error) {
	v.mu.Lock()
	c, ok := v.claims[key]
	delete(v.claims, key)
	v.mu.Unlock()
	if ok {
		return c, true, nil
	}
	r, rev, _, err := v.read(ctx, key)
	if err != nil || r == nil || r.State != stateClaimed {
		return claim{}, false, err
	}
	return claim{revision: rev, fingerprint: r.Fingerprint}, true, nil
}

// Complete stores the response of the request that claimed key, as the
// record after its claim. The entry's age counts from now.
func (v *Versioned) Complete(ctx context.Context, key string, response []byte) error {
	c, ok, err := v.claimOf(ctx, key)
	if err != nil {
		return fmt.Errorf("idempotency complete: %w", err)
	}
	if !ok {
		return errors.New("idempotency complete: no claim in progress for the key")
	}
	_, ok, err = v.swap(ctx, key, c.revision, record{
		State: stateDone, Fingerprint: c.fingerprint, At: v.cfg.Now().UnixNano(), Response: response,
	})
	if err != nil {
		return fmt.Errorf("idempotency complete: %w", err)
	}
	if !ok {
		return errors.New("idempotency complete: the claim lapsed and another request took the key over")
	}
	return nil
}

// Release drops the claim on key if it is still in progress: a record that
// frees the key, written after the claim. A claim taken over meanwhile is
// left to its new owner.
func (v *Versioned) Release(ctx context.Context, key string) error {
	c, ok, err := v.claimOf(ctx, key)
	if err != nil || !ok {
		if err != nil {
			return fmt.Errorf("idempotency release: %w", err)
		}
		return nil
	}
	if _, _, err := v.swap(ctx, key, c.revision, record{State: stateReleased, At: v.cfg.Now().UnixNano()}); err != nil {
		return fmt.Errorf("idempotency release: %w", err)
	}
	return nil
}

// Wipe writes a mark after every record so far: the replies before it are
// never replayed again (Begin treats them as absent), on any node. Their
// bytes stay in the backend until it forgets them (see Backend).
func (v *Versioned) Wipe(ctx context.Context) error {
	if err := v.b.MarkIdempotency(ctx, v.keep()); err != nil {
		return fmt.Errorf("idempotency wipe: %w", err)
	}
	return nil
}

// Close does nothing: the backend belongs to the caller.
func (v *Versioned) Close() error { return nil }
