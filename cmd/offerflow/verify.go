package main

import (
	"context"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

// runVerify checks the hash chain of every stream in the log and that every
// read model agrees with the log; it fails when anything does not check out.
func runVerify(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("verify", e)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "verify log", int64(head))
	res, err := eventstore.VerifyAll(ctx, store, func(n int) { bar.set(int64(n)) })
	bar.done()
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	fmt.Fprintf(e.stdout, "log ok: %d events in %d streams, head %d\n", res.Events, res.Streams, res.Head)
	return verifyReadModels(ctx, sf, store, e)
}
