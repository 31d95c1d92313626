package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/sqlitefile"
)

// logCheck is what checkLog found in the log.
type logCheck struct {
	events     int
	checked    int      // acknowledged commands looked up
	lost       []string // acknowledged commands not in the log
	duplicated []string // commands or decisions the log holds twice
}

// checkLog reads the whole log and checks the ledger against it: every
// acknowledged command is there at the position it was acknowledged with,
// no offer was created twice for one command (each carries its key as
// message), no offer was decided twice, and no event id repeats in a
// stream.
func checkLog(ctx context.Context, store eventstore.Store, acks []ack) (logCheck, error) {
	var c logCheck
	byPos := map[uint64]eventstore.Event{}
	created := map[string]int{}   // message (the op's key) -> offers created
	decisions := map[string]int{} // offer stream -> decisions
	ids := map[string]bool{}
	for after := uint64(0); ; {
		evs, err := store.ReadAll(ctx, after, 1000)
		if err != nil {
			return c, fmt.Errorf("read the log: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			c.events++
			byPos[e.Position] = e
			if ids[e.Stream+"\x00"+e.ID] {
				c.duplicated = append(c.duplicated, fmt.Sprintf("event id %s twice in %s", e.ID, e.Stream))
			}
			ids[e.Stream+"\x00"+e.ID] = true
			switch e.Type {
			case domain.TypeOfferCreated:
				var d domain.OfferCreated
				if err := json.Unmarshal(e.Data, &d); err != nil {
					return c, fmt.Errorf("event at %d: %w", e.Position, err)
				}
				created[d.Message]++
			case domain.TypeOfferAccepted, domain.TypeOfferRejected, domain.TypeOfferWithdrawn:
				decisions[e.Stream]++
			}
		}
		after = evs[len(evs)-1].Position
	}
	for _, a := range acks {
		c.checked++
		e, ok := byPos[a.position]
		if !ok || e.Stream != "offer-"+a.offer || e.Type != a.event {
			c.lost = append(c.lost, fmt.Sprintf("%s (%s of offer %s at position %d)", a.op, a.event, a.offer, a.position))
		}
		if a.event == domain.TypeOfferDispatched && created[a.op] != 1 {
			c.lost = append(c.lost, fmt.Sprintf("%s: %d offers created with its key", a.op, created[a.op]))
		}
	}
	for msg, n := range created {
		if n > 1 {
			c.duplicated = append(c.duplicated, fmt.Sprintf("%d offers created by command %s", n, msg))
		}
	}
	for stream, n := range decisions {
		if n > 1 {
			c.duplicated = append(c.duplicated, fmt.Sprintf("%d decisions of %s", n, stream))
		}
	}
	slices.Sort(c.duplicated)
	return c, nil
}

// integrityCheck runs PRAGMA integrity_check on every SQLite file in dir and
// returns the names of the files checked.
func integrityCheck(ctx context.Context, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		if err := integrityOf(ctx, f); err != nil {
			return names, err
		}
		names = append(names, filepath.Base(f))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no SQLite file in %s", dir)
	}
	return names, nil
}

func integrityOf(ctx context.Context, path string) error {
	db, err := sqlitefile.Open(path, sqlitefile.Settings{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity_check %s: %w", path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(out) != 1 || out[0] != "ok" {
		return fmt.Errorf("integrity_check %s: %s", filepath.Base(path), strings.Join(out, "; "))
	}
	return nil
}
