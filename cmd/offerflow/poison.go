package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/offerflow/offerflow/projections"
)

// runPoison lists the events the read models parked (`poison list`), one
// JSON object a line in log order.
func runPoison(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError{"usage: offerflow poison list --data DIR"}
	}
	sf, err := parseStoreOnly("poison list", args[1:], e)
	if err != nil {
		return err
	}
	// Never create read models here: a mistyped --data would list nothing.
	path := sf.path(readModelsFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no read models at %s: check --data", path)
	}
	db, err := projections.OpenDB(ctx, path)
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
		if err := enc.Encode(struct {
			Position uint64    `json:"position"`
			Type     string    `json:"type"`
			Stream   string    `json:"stream"`
			EventID  string    `json:"event_id"`
			Error    string    `json:"error"`
			Tries    int       `json:"tries"`
			ParkedAt time.Time `json:"parked_at"`
		}(p)); err != nil {
			return err
		}
	}
	return nil
}
