package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// Files in the data directory. The event log is the truth; the read models
// are rebuilt from it whenever needed.
const (
	eventsFile      = "events.db"
	readModelsFile  = "readmodels.db"
	idempotencyFile = "idempotency.db"
)

// storeFlags are the flags every command that opens the log shares.
type storeFlags struct {
	data       string
	eventstore string
	// logger receives the EventStoreDB client's log lines; nil discards them.
	logger *slog.Logger
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data", "data directory (created if missing)")
	fs.StringVar(&f.eventstore, "eventstore", "", "EventStoreDB/KurrentDB connection string (esdb://...); empty: the embedded SQLite log in the data directory")
}

// openStore opens the event log the flags name, creating the data directory.
func (f *storeFlags) openStore(ctx context.Context) (eventstore.Store, error) {
	if err := os.MkdirAll(f.data, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if f.eventstore != "" {
		return openESDB(ctx, f.eventstore, f.logger)
	}
	s, err := sqlite.Open(ctx, filepath.Join(f.data, eventsFile), sqlite.Config{})
	if err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	return s, nil
}

func (f *storeFlags) path(name string) string { return filepath.Join(f.data, name) }
