package eventstore

import (
	"context"
	"errors"
	"fmt"
)

// ErrChainBroken is matched (errors.Is) by every *ChainError, so a caller can
// tell tampering apart from a failure to read the log.
var ErrChainBroken = errors.New("hash chain broken")

// ChainError reports the first event of a stream at which its hash chain or
// its numbering does not check out.
type ChainError struct {
	Stream   string
	Version  uint64
	Position uint64
	Problem  string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("stream %s version %d (position %d): %s: %v", e.Stream, e.Version, e.Position, e.Problem, ErrChainBroken)
}

// Is makes ChainError match ErrChainBroken.
func (e *ChainError) Is(target error) bool { return target == ErrChainBroken }

// VerifyResult counts what VerifyAll read.
type VerifyResult struct {
	// Streams is the number of distinct streams seen.
	Streams int
	// Events is the number of events read.
	Events int
	// Head is the position of the last event read, 0 for an empty log.
	Head uint64
}

// verifyPage is how many events VerifyAll reads at a time.
const verifyPage = 1000

// VerifyAll reads the whole log of s once, in global order, and checks every
// stream's hash chain as VerifyChain would: versions consecutive from 1, each
// prev_hash the hash before it (empty for a stream's first event), each hash
// recomputed equal. It also checks that positions strictly increase.
//
// It reads every event even after finding a broken chain, reporting at most
// one ChainError per stream (the first broken event; the rest of that stream
// is not checked further). The returned error is nil when everything checks
// out; it matches ErrChainBroken when only chains are broken, and it is any
// other error when the log could not be read (ctx's error included). progress,
// when not nil, is called after every page with the number of events read so
// far.
//
// Memory use grows with the number of streams, not events. A chain cannot
// reveal the removal of a stream's last events, nor of a whole stream; a log
// that must detect those needs an outside anchor (for instance a recorded
// head position and hash).
func VerifyAll(ctx context.Context, s Store, progress func(events int)) (VerifyResult, error) {
	type tip struct {
		version uint64
		hash    string
		broken  bool
	}
	var (
		res    VerifyResult
		tips   = make(map[string]*tip)
		broken []error
	)
	for {
		evs, err := s.ReadAll(ctx, res.Head, verifyPage)
		if err != nil {
			return res, fmt.Errorf("verify: read log after position %d: %w", res.Head, err)
		}
		for _, e := range evs {
			if e.Position <= res.Head {
				return res, fmt.Errorf("verify: position %d follows position %d: log is not in order", e.Position, res.Head)
			}
			res.Head = e.Position
			res.Events++
			t, ok := tips[e.Stream]
			if !ok {
				t = &tip{}
				tips[e.Stream] = t
			}
			if t.broken {
				continue
			}
			if problem := checkLink(e, t.version, t.hash); problem != "" {
				t.broken = true
				broken = append(broken, &ChainError{Stream: e.Stream, Version: e.Version, Position: e.Position, Problem: problem})
				continue
			}
			t.version, t.hash = e.Version, e.Hash
		}
		if progress != nil && len(evs) > 0 {
			progress(res.Events)
		}
		if len(evs) < verifyPage {
			break
		}
	}
	res.Streams = len(tips)
	return res, errors.Join(broken...)
}

// checkLink checks e against the version and hash of the event before it in
// its stream (0 and "" for none) and returns what is wrong, or "".
func checkLink(e Event, prevVersion uint64, prevHash string) string {
	if e.Version != prevVersion+1 {
		return fmt.Sprintf("version follows version %d", prevVersion)
	}
	if e.PrevHash != prevHash {
		return fmt.Sprintf("prev_hash %q is not the hash before it %q", e.PrevHash, prevHash)
	}
	h, err := Hash(e)
	if err != nil {
		return fmt.Sprintf("cannot hash: %v", err)
	}
	if h != e.Hash {
		return fmt.Sprintf("hash %s does not match its content (%s)", e.Hash, h)
	}
	return ""
}
