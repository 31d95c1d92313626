package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/merkle"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// runHead prints a signed tree head over the whole log as it is now, one
// JSON line, for an auditor to keep outside the system. It signs with the
// node's key (generating it on first use) and writes nothing to the log.
func runHead(ctx context.Context, args []string, e env) error {
	sf, err := parseStoreOnly("head", args, e)
	if err != nil {
		return err
	}
	store, err := sf.openLog(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := treehead.LoadOrCreateKey(sf.path(treeKeyFile))
	if err != nil {
		return err
	}
	svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: sf.path(witnessFile)}, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	h, err := svc.Sign(ctx)
	if err != nil {
		return err
	}
	// What is wrong with the log goes to stderr (a cron job mails it); the
	// head is still printed, for it states what the log is now.
	for _, p := range svc.Problems() {
		fmt.Fprintf(e.stderr, "offerflow head: warning: %v\n", p)
	}
	return json.NewEncoder(e.stdout).Encode(h)
}

// runKey prints the public key that verifies this node's tree heads.
func runKey(_ context.Context, args []string, e env) error {
	sf, err := parseStoreOnly("key", args, e)
	if err != nil {
		return err
	}
	if st, err := os.Stat(sf.data); err != nil || !st.IsDir() {
		return fmt.Errorf("no data directory %s: check --data", sf.data)
	}
	key, err := treehead.LoadOrCreateKey(sf.path(treeKeyFile))
	if err != nil {
		return err
	}
	return json.NewEncoder(e.stdout).Encode(key.Public())
}

// parseStoreOnly parses the command line of a command that takes the store
// flags and nothing else.
func parseStoreOnly(name string, args []string, e env) (storeFlags, error) {
	fs := newFlagSet(name, e)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return sf, err
	}
	if fs.NArg() > 0 {
		return sf, usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return sf, nil
}

// readHeads reads a file of tree heads, one JSON object a line (blank lines
// skipped), as `offerflow head >> FILE` writes it.
func readHeads(path string) ([]domain.TreeHead, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read heads: %w", err)
	}
	var out []domain.TreeHead
	err = decodeLines(bytes.NewReader(b), 1<<20, func(_ int, h domain.TreeHead) error {
		if h.RootHash == "" || h.KeyID == "" {
			return errors.New("no root_hash or key_id")
		}
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %w: not a tree head", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no tree head", path)
	}
	return out, nil
}

// verifyTree reads the log into its Merkle tree and checks that the log
// still extends every head it records in its own stream and, when
// headsFile is not empty, every head in that file: the first size events,
// in log order, unchanged. A head it does not extend is reported with the
// first bad position, exactly when this node's witness file still
// reproduces that head.
func verifyTree(ctx context.Context, sf storeFlags, store eventstore.Store, headsFile string, e env) error {
	var heads []domain.TreeHead
	if headsFile != "" {
		var err error
		if heads, err = readHeads(headsFile); err != nil {
			return err
		}
	}
	// The witness is read before the log: it records only events already
	// in the log, so the log read after it holds every one of them unless
	// some were removed, even while serve appends to both.
	witness, err := merkle.ReadWitness(sf.path(witnessFile))
	if err != nil {
		return err
	}
	var problems []error
	var l *merkle.Log
	l = merkle.NewLog(store, true, func(ev eventstore.Event, leaf merkle.Leaf) error {
		if ev.Stream != treehead.Stream {
			return nil
		}
		var h domain.TreeHead
		if err := json.Unmarshal(ev.Data, &h); err != nil {
			problems = append(problems, fmt.Errorf("tree head recorded at position %d cannot be read: %w", ev.Position, err))
		} else if err := treehead.Extends(l.Tree(), h); err != nil {
			problems = append(problems, fmt.Errorf("tree head recorded at position %d: %w", ev.Position, err))
		}
		return nil
	})
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "merkle tree", int64(head))
	size, err := l.Sync(ctx, func(n uint64) { bar.set(int64(n)) })
	bar.done()
	if err != nil {
		return err
	}
	var recorded error
	if len(problems) > 0 {
		recorded = fmt.Errorf("the log no longer extends tree heads it records: %w", errors.Join(problems...))
	}
	checker, err := treehead.NewChecker(l, witness)
	if err != nil {
		return err
	}
	// The node's witness is checked too: without a head kept outside, it
	// is what tells that the log lost its last events, which no recorded
	// head may cover yet.
	witnessErr := checker.CheckWitness()
	if witnessErr != nil {
		witnessErr = fmt.Errorf("%s: %w", sf.path(witnessFile), witnessErr)
	}
	if headsFile == "" {
		if recorded == nil && witnessErr == nil {
			seen := ""
			if len(witness) > 0 {
				seen = fmt.Sprintf(", and the %d leaves of this node's witness", len(witness))
			}
			fmt.Fprintf(e.stdout, "merkle tree ok: %d leaves, every recorded tree head extended%s\n", size, seen)
		}
		return errors.Join(witnessErr, recorded)
	}
	// The auditor's heads are checked whatever the recorded ones say: they
	// are the evidence, and they name the first bad position.
	return errors.Join(checkHeads(sf, checker, heads, headsFile, e), witnessErr, recorded)
}

// checkHeads checks heads (read from file) against the synced tree l.
func checkHeads(sf storeFlags, checker *treehead.Checker, heads []domain.TreeHead, file string, e env) error {
	key, err := treehead.LoadKey(sf.path(treeKeyFile))
	if err != nil && !errors.Is(err, treehead.ErrNoKey) {
		return err
	}
	var good []uint64 // sizes of the heads the log extends, ascending
	for i, h := range heads {
		switch {
		case key != nil && h.KeyID == key.ID():
			if err := treehead.Verify(h, key.Public()); err != nil {
				return fmt.Errorf("%s head %d: %w", file, i+1, err)
			}
		default:
			fmt.Fprintf(e.stderr, "offerflow verify: %s head %d is signed by key %s, not this node's: its signature is not checked\n", file, i+1, h.KeyID)
		}
		if checker.Extends(h) == nil {
			good = append(good, h.Size)
		}
	}
	slices.Sort(good)
	var first *treehead.BadPositionError
	bad := 0
	for i, h := range heads {
		var below uint64 // the largest size below this head's that the log extends
		if j, _ := slices.BinarySearch(good, h.Size); j > 0 {
			below = good[j-1]
		}
		err := checker.Check(h, below)
		if err == nil {
			continue
		}
		bad++
		fmt.Fprintf(e.stderr, "offerflow verify: %s head %d: %v\n", file, i+1, err)
		var bp *treehead.BadPositionError
		if !errors.As(err, &bp) {
			return err
		}
		if first == nil || bp.Leaf < first.Leaf || (bp.Leaf == first.Leaf && bp.Exact && !first.Exact) {
			first = bp
		}
	}
	if first != nil {
		return fmt.Errorf("the log does not extend %d of the %d heads in %s; %w", bad, len(heads), file, first)
	}
	fmt.Fprintf(e.stdout, "tree heads ok: the log extends all %d heads in %s (the largest of size %d)\n", len(heads), file, good[len(good)-1])
	return nil
}
