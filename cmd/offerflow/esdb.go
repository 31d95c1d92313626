package main

import (
	"context"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
)

// openESDB connects to an EventStoreDB/KurrentDB cluster holding the log.
func openESDB(ctx context.Context, url string) (eventstore.Store, error) {
	s, err := esdb.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open EventStoreDB: %w", err)
	}
	return s, nil
}
