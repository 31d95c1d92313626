package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// runExport writes the whole log as NDJSON, one envelope a line, in global
// order: a portable copy for auditors and for moving between stores.
func runExport(ctx context.Context, args []string, e env) (err error) {
	fs := newFlagSet("export", e)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := sf.openSealed(ctx, true)
	if err != nil {
		return err
	}
	defer store.Close()

	var w io.Writer = e.stdout
	if *out != "" {
		// The export holds every webhook secret: readable by its owner
		// only, also when it replaces an older file.
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", *out, err)
		}
		if err := f.Chmod(0o600); err != nil {
			_ = f.Close()
			return fmt.Errorf("create %s: %w", *out, err)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close %s: %w", *out, cerr)
			}
		}()
		w = f
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var after uint64
	n := 0
	for {
		evs, err := store.ReadAll(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("read log after %d: %w", after, err)
		}
		for _, ev := range evs {
			if err := enc.Encode(ev); err != nil {
				return fmt.Errorf("write event %d: %w", ev.Position, err)
			}
			after = ev.Position
			n++
		}
		if len(evs) < 1000 {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "exported %d events to %s\n", n, *out)
	}
	return nil
}
