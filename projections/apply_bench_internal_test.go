package projections

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkApply_SmallBatches measures what a live batch costs at low
// rates, where a wake-up brings a few events: the transaction, every
// projector's checkpoint read and written, the handlers and the flush
// (issue 7). Each op applies the next batch of the log to all five
// projectors; once the log is exhausted, a fresh database starts over
// (outside the timing).
//
//	go test -run '^$' -bench BenchmarkApply_SmallBatches -count 5 ./projections/
func BenchmarkApply_SmallBatches(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	_, events := applyTestLog(b, filepath.Join(dir, "events.db"), 300)
	for _, size := range []int{1, 4} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			var (
				db   *DB
				prs  []*projector
				next int
				dbs  int
			)
			for range b.N {
				if db == nil || next+size > len(events) {
					b.StopTimer()
					if db != nil {
						_ = db.Close()
					}
					dbs++
					db, prs = applyTestDB(b, filepath.Join(b.TempDir(), fmt.Sprintf("read-%d.db", dbs)))
					next = 0
					b.StartTimer()
				}
				if err := db.apply(ctx, prs, events[next:next+size]); err != nil {
					b.Fatal(err)
				}
				next += size
			}
		})
	}
}

// BenchmarkCheckpoints compares a batch's checkpoint reads and writes as
// one statement each with a statement per projector, each in a
// transaction of its own (what a batch with no events of interest costs).
//
//	go test -run '^$' -bench BenchmarkCheckpoints -count 5 ./projections/
func BenchmarkCheckpoints(b *testing.B) {
	ctx := context.Background()
	db, _ := applyTestDB(b, filepath.Join(b.TempDir(), "read.db"))
	names := ProjectorNames()
	pos := uint64(0)
	b.Run("statement=each", func(b *testing.B) {
		for range b.N {
			pos++
			err := db.inTx(ctx, func(tx *sql.Tx) error {
				for _, name := range names {
					if _, err := readCheckpoint(ctx, tx, name); err != nil {
						return err
					}
				}
				for _, name := range names {
					if err := writeCheckpoint(ctx, tx, name, pos); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("statement=one", func(b *testing.B) {
		ps := make([]uint64, len(names))
		for range b.N {
			pos++
			err := db.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := readCheckpoints(ctx, tx, names); err != nil {
					return err
				}
				for i := range ps {
					ps[i] = pos
				}
				return writeCheckpoints(ctx, tx, names, ps)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("statement=read", func(b *testing.B) {
		for range b.N {
			err := db.inTx(ctx, func(tx *sql.Tx) error {
				_, err := readCheckpoints(ctx, tx, names)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("statement=none", func(b *testing.B) {
		for range b.N {
			if err := db.inTx(ctx, func(*sql.Tx) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
