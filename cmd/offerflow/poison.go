package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/offerflow/offerflow/projections"
)

const poisonUsage = "usage: offerflow poison list --data DIR | offerflow poison retry --data DIR [POSITION|EVENT_ID ...]"

// runPoison lists the events the read models parked (`poison list`), one
// JSON object a line in log order, or applies them again after a fix
// (`poison retry`).
func runPoison(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageError{poisonUsage}
	}
	switch args[0] {
	case "list":
		return runPoisonList(ctx, args[1:], e)
	case "retry":
		return runPoisonRetry(ctx, args[1:], e)
	}
	return usageError{poisonUsage}
}

// parkedJSON is a parked event as poison list and retry print it.
type parkedJSON struct {
	Position uint64    `json:"position"`
	Type     string    `json:"type"`
	Stream   string    `json:"stream"`
	EventID  string    `json:"event_id"`
	Error    string    `json:"error"`
	Tries    int       `json:"tries"`
	ParkedAt time.Time `json:"parked_at"`
}

func runPoisonList(ctx context.Context, args []string, e env) error {
	sf, err := parseStoreOnly("poison list", args, e)
	if err != nil {
		return err
	}
	db, err := openExistingReadModels(ctx, sf)
	if err != nil {
		return err
	}
	defer db.Close()
	parked, err := db.Parked(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for _, p := range parked {
		if err := enc.Encode(parkedJSON(p)); err != nil {
			return err
		}
	}
	return nil
}

// runPoisonRetry applies parked events again through the projectors (all,
// or those named by position or event id), prints one JSON object a line
// with each one's outcome, and fails unless every one was applied.
func runPoisonRetry(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("poison retry", e)
	var sf storeFlags
	sf.register(fs)
	// Flags may come before, between or after the events named.
	var names []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	db, err := openExistingReadModels(ctx, sf)
	if err != nil {
		return err
	}
	defer db.Close()
	positions, err := parkedPositions(ctx, db, names)
	if err != nil {
		return err
	}
	// The projectors apply events as serve hands them over: through the
	// sealing store, a customer's texts opened, or null with the event
	// marked erased once its key is destroyed. Read from the log as
	// stored, a text is its sealed form, which no projector decodes: every
	// parked event with a text failed again.
	store, err := sf.openSealed(ctx, true)
	if err != nil {
		return err
	}
	defer store.Close()
	results, err := db.RetryParked(ctx, store, positions)
	enc := json.NewEncoder(e.stdout)
	left := 0
	for _, r := range results {
		if r.Outcome != projections.RetryApplied {
			left++
		}
		if eerr := enc.Encode(struct {
			parkedJSON
			Outcome string `json:"outcome"`
			Reason  string `json:"reason,omitempty"`
		}{parkedJSON(r.ParkedEvent), r.Outcome, r.Reason}); eerr != nil {
			return eerr
		}
	}
	if err != nil {
		return err
	}
	if len(results) == 0 {
		fmt.Fprintln(e.stderr, "no parked events")
	}
	if left > 0 {
		return fmt.Errorf("%d of %d retried events still parked (see each one's reason)", left, len(results))
	}
	return nil
}

// parkedPositions returns the positions of the parked events names
// designates, each a position or an event id; none for no names (all).
func parkedPositions(ctx context.Context, db *projections.DB, names []string) ([]uint64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	parked, err := db.Parked(ctx)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, n := range names {
		found := false
		for _, p := range parked {
			if p.EventID == n || strconv.FormatUint(p.Position, 10) == n {
				out, found = append(out, p.Position), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("no parked event has position or id %q (see offerflow poison list)", n)
		}
	}
	return out, nil
}

// openExistingReadModels opens the read models of the data directory
// without creating them: a mistyped --data would otherwise show nothing
// parked.
func openExistingReadModels(ctx context.Context, sf storeFlags) (*projections.DB, error) {
	path := sf.path(readModelsFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no read models at %s: check --data", path)
	}
	return projections.OpenDB(ctx, path)
}
