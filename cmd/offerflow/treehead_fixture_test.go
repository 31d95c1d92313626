package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// Fixtures of the tamper tests: the bench's log, copies of data
// directories, and raw access to a copy's events table.

// row is one stored event as the tamper test sees the events table.
type row struct {
	position uint64
	stream   string
	version  uint64
	data     string
}

func readRows(tb testing.TB, db *sql.DB) []row {
	tb.Helper()
	rows, err := db.Query(`SELECT position, stream, version, data FROM events ORDER BY position`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.position, &r.stream, &r.version, &r.data); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// rechain renumbers a stream's versions from 1 and recomputes its hash
// chain, as someone covering their tracks would: afterwards every chain
// checks out and only the tree heads can tell.
func rechain(tb testing.TB, db *sql.DB, stream string) {
	tb.Helper()
	rows, err := db.Query(`SELECT position, id, type, schema_version, data, metadata FROM events WHERE stream = ? ORDER BY position`, stream)
	if err != nil {
		tb.Fatal(err)
	}
	var evs []eventstore.Event
	for rows.Next() {
		e := eventstore.Event{Stream: stream}
		var data, meta string
		if err := rows.Scan(&e.Position, &e.ID, &e.Type, &e.SchemaVersion, &data, &meta); err != nil {
			tb.Fatal(err)
		}
		e.Data = json.RawMessage(data)
		if err := json.Unmarshal([]byte(meta), &e.Metadata); err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, e)
	}
	rows.Close()
	prev := ""
	for i := range evs {
		e := &evs[i]
		e.Version = uint64(i + 1)
		if err := eventstore.Seal(e, prev); err != nil {
			tb.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE events SET version = ?, prev_hash = ?, hash = ? WHERE position = ?`,
			e.Version, sql.NullString{String: prev, Valid: prev != ""}, e.Hash, e.Position); err != nil {
			tb.Fatal(err)
		}
		prev = e.Hash
	}
}

func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o750); err != nil {
		tb.Fatal(err)
	}
	for _, en := range entries {
		if !en.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, en.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, en.Name()), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		tb.Fatal(err)
	}
}

// mustBenchLog writes the bench's log of about events events into a new data
// directory dir.
func mustBenchLog(tb testing.TB, dir string, events int) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if _, err := buildLog(context.Background(), filepath.Join(dir, eventsFile), events, io.Discard); err != nil {
		tb.Fatal(err)
	}
}

// recordHead records a signed head in the log's treeheads stream, as serve
// does, with the key and witness of dir.
func recordHead(tb testing.TB, store eventstore.Store, dir string) {
	tb.Helper()
	ctx := context.Background()
	key, err := treehead.LoadOrCreateKey(filepath.Join(dir, treeKeyFile))
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: filepath.Join(dir, witnessFile), StoredHashes: true}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.Head(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		tb.Fatal(err)
	}
}
