package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
)

// openESDB connects to an EventStoreDB/KurrentDB cluster holding the log.
func openESDB(ctx context.Context, url string, log *slog.Logger) (eventstore.Store, error) {
	s, err := esdb.OpenConfig(ctx, esdb.Config{URL: url, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open EventStoreDB: %w", err)
	}
	return s, nil
}
