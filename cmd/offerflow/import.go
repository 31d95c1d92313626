package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/offerflow/offerflow/eventstore"
)

// maxImportLine caps one line of an import: an event envelope, whose data
// the API caps far below this.
const maxImportLine = 16 << 20

// runImport loads an NDJSON export (as runExport writes it) into an empty
// log, keeping every event's id, stream, version, position, data, metadata
// and hashes, so that verify passes on the copy and its tree heads still
// hold. It reads and checks the whole input before it opens the log, and
// the store writes it in one transaction: a bad line or a log that is not
// empty leaves everything as it was.
func runImport(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("import", e)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args()[1:], " "))}
	}
	name := fs.Arg(0)
	var in io.Reader = e.stdin
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open export: %w", err)
		}
		defer f.Close()
		in = f
	} else {
		name = "standard input"
	}
	events, lines, err := readExport(in, name)
	if err != nil {
		return err
	}
	if err := eventstore.CheckImport(events); err != nil {
		var ie *eventstore.ImportError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s line %d: %s: nothing was imported", name, lines[ie.Index], ie.Problem)
		}
		return err
	}

	store, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	imp, ok := store.(eventstore.Importer)
	if !ok {
		return fmt.Errorf("the event store %s cannot import: load the export into the embedded SQLite log instead", sf.eventstore)
	}
	if err := imp.Import(ctx, events); err != nil {
		if errors.Is(err, eventstore.ErrLogNotEmpty) {
			return fmt.Errorf("the log in %s already holds events: an import needs an empty log (a new data directory); nothing was imported", sf.data)
		}
		return err
	}
	var head uint64
	if n := len(events); n > 0 {
		head = events[n-1].Position
	}
	fmt.Fprintf(e.stdout, "imported %d events from %s, head %d\n", len(events), name, head)
	return nil
}

// readExport decodes an NDJSON export, one event envelope a line, and
// returns the events with the line number of each.
func readExport(r io.Reader, name string) ([]eventstore.Event, []int, error) {
	var (
		events []eventstore.Event
		lines  []int
	)
	err := decodeLines(r, maxImportLine, func(n int, ev eventstore.Event) error {
		// An export shows texts opened, with their stored form in
		// sealed: the log gets the stored form back, which the hash
		// covers.
		ev, err := eventstore.Stored(ev)
		if err != nil {
			return err
		}
		events = append(events, ev)
		lines = append(lines, n)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s %w: not an event envelope; nothing was imported", name, err)
	}
	return events, lines, nil
}
