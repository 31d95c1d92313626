package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/offerflow/offerflow/eventstore"
)

// runVerify checks the hash chain of every stream in the log, that the log
// still extends every tree head it records and, with --head, every head in
// that file, and that every read model agrees with the log; it fails when
// anything does not check out.
func runVerify(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("verify", e)
	var sf storeFlags
	sf.register(fs)
	headsFile := fs.String("head", "", "file of signed tree heads (one JSON object a line, as `offerflow head >> FILE` keeps them): prove that the log still extends each")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := sf.openLog(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	// Before the comparison makes its own: what killed commands left.
	if err := removeLeftovers(sf, commandLogger(e), slog.LevelInfo); err != nil {
		return err
	}
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "verify log", int64(head))
	res, chainErr := eventstore.VerifyAll(ctx, store, func(n int) { bar.set(int64(n)) })
	bar.done()
	if chainErr != nil && !errors.Is(chainErr, eventstore.ErrChainBroken) {
		return fmt.Errorf("log: %w", chainErr)
	}
	// The tree is checked even when a chain is broken: it names the first
	// bad position against the auditor's heads, which a chain cannot.
	treeErr := verifyTree(ctx, sf, store, *headsFile, e)
	if chainErr != nil || treeErr != nil {
		if chainErr != nil {
			chainErr = fmt.Errorf("log: %w", chainErr)
		}
		return errors.Join(treeErr, chainErr)
	}
	fmt.Fprintf(e.stdout, "log ok: %d events in %d streams, head %d\n", res.Events, res.Streams, res.Head)
	// The read models hold the texts opened: compare them with a rebuild
	// that opens them too.
	sealed, err := sf.seal(ctx, store)
	if err != nil {
		return err
	}
	defer sealed.Keys().Close()
	return verifyReadModels(ctx, sf, sealed, e)
}
