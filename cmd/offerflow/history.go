package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	ohttp "github.com/offerflow/offerflow/http"
)

// runHistory prints every event of one offer and of the streams it caused
// (its grant), in log order, and whether each stream's hash chain is intact.
func runHistory(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("history", e)
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the events as NDJSON, each as GET /v1/offers/{id}/history shows it")
	// The contract puts OFFER_ID before --json; the flag package stops at the
	// first argument that is not a flag, so parse around it.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"history needs an OFFER_ID"}
	}
	id := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	store, err := sf.openSealed(ctx, true)
	if err != nil {
		return err
	}
	defer store.Close()
	// The chains are checked on the events as stored; they are shown with
	// their texts opened (null once the customer was erased).
	evs, err := eventlog.ReadOfferHistory(ctx, store.Raw(), domain.OfferID(id))
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return fmt.Errorf("offer %s: no such offer", id)
	}
	// The offer's stream and the streams it caused each carry a hash chain
	// of their own: each is verified alone.
	var streams []string
	byStream := map[string][]eventstore.Event{}
	for _, ev := range evs {
		if _, ok := byStream[ev.Stream]; !ok {
			streams = append(streams, ev.Stream)
		}
		byStream[ev.Stream] = append(byStream[ev.Stream], ev)
	}
	var chainErrs []error
	for _, s := range streams {
		if err := eventstore.VerifyChain(byStream[s]); err != nil {
			chainErrs = append(chainErrs, err)
		}
	}
	for i := range evs {
		if evs[i], err = store.Open(ctx, evs[i]); err != nil {
			return err
		}
	}
	if *asJSON {
		// The API's shape, encoded as the API encodes it, so that a line
		// equals the item GET /v1/offers/{id}/history gives.
		enc := json.NewEncoder(e.stdout)
		for _, ev := range evs {
			if err := enc.Encode(ohttp.HistoryEvent(ev)); err != nil {
				return err
			}
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "POSITION\tSTREAM\tVERSION\tOCCURRED AT\tTYPE\tACTOR\tDATA")
		for _, ev := range evs {
			a := ev.Metadata.Actor
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s/%s/%s\t%s\n", ev.Position, ev.Stream, ev.Version,
				ev.Metadata.OccurredAt.UTC().Format(time.RFC3339), ev.Type, a.Role, a.Tenant, a.Subject, summarize(ev.Data))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(chainErrs) > 0 {
		return fmt.Errorf("hash chain broken: %w", errors.Join(chainErrs...))
	}
	if !*asJSON {
		for _, s := range streams {
			last := byStream[s][len(byStream[s])-1]
			fmt.Fprintf(e.stdout, "hash chain intact: %s, %d events, last hash %s\n", s, len(byStream[s]), last.Hash)
		}
	}
	return nil
}

// summarize shortens event data for a table cell.
func summarize(data []byte) string {
	s := string(data)
	if r := []rune(s); len(r) > 100 {
		return string(r[:99]) + "…"
	}
	return s
}
