package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ErrLogNotEmpty is matched (errors.Is) by the error Import returns when the
// log already holds events: an import never mixes two histories.
var ErrLogNotEmpty = errors.New("the log is not empty")

// Importer is implemented by a store that can load a whole log written
// elsewhere (an export) with every event's id, stream, version, position,
// data, metadata and hashes exactly as they were, so that every hash chain
// and tree head still verifies. Appending cannot do that: Append seals
// events anew and the store picks their positions.
type Importer interface {
	// Import writes events, which must pass CheckImport, into the empty
	// log, all of them or none. It returns an error matching
	// ErrLogNotEmpty when the log holds any event, and one matching
	// ErrChainBroken (an *ImportError) when events do not pass
	// CheckImport; either way it writes nothing.
	Import(ctx context.Context, events []Event) error
}

// ImportError names the event of an import that cannot be loaded, by its
// index in the import.
type ImportError struct {
	Index   int
	Problem string
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("event %d: %s", e.Index+1, e.Problem)
}

// Is makes ImportError match ErrChainBroken: an event that does not belong
// where the import puts it is as good as tampered with.
func (e *ImportError) Is(target error) bool { return target == ErrChainBroken }

// CheckImport checks that events, in log order, are a whole log: positions
// strictly increasing from above 0, each event with an id, a stream and
// data that is one JSON value (or none), and every stream's hash chain
// intact from its first event (versions consecutive from 1, each prev_hash
// the hash before it, each hash recomputed equal, no id twice in a
// stream). It returns the first problem as an *ImportError.
func CheckImport(events []Event) error {
	type tip struct {
		version uint64
		hash    string
		ids     map[string]bool
	}
	tips := make(map[string]*tip)
	var last uint64
	for i, e := range events {
		bad := func(format string, args ...any) error {
			return &ImportError{Index: i, Problem: fmt.Sprintf(format, args...)}
		}
		switch {
		case e.ID == "":
			return bad("no id")
		case e.Stream == "":
			return bad("no stream")
		case e.Position <= last || e.Position > math.MaxInt64:
			return bad("position %d does not follow position %d", e.Position, last)
		case len(e.Data) > 0 && !json.Valid(e.Data):
			// The hash reads only the first JSON value; the log must not
			// take what follows it.
			return bad("data is not one JSON value")
		}
		last = e.Position
		t := tips[e.Stream]
		if t == nil {
			t = &tip{ids: make(map[string]bool)}
			tips[e.Stream] = t
		}
		if t.ids[e.ID] {
			return bad("stream %s holds id %s twice", e.Stream, e.ID)
		}
		if problem := checkLink(e, t.version, t.hash); problem != "" {
			return bad("stream %s version %d: %s", e.Stream, e.Version, problem)
		}
		t.version, t.hash = e.Version, e.Hash
		t.ids[e.ID] = true
	}
	return nil
}
