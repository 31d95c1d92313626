package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestVerifyAll_Tamper edits the file directly, the way someone rewriting
// history would, and checks that eventstore.VerifyAll names the stream and
// version where the chain breaks.
func TestVerifyAll_Tamper(t *testing.T) {
	cases := []struct {
		name        string
		tamper      func(t *testing.T, db *sql.DB, s *sqlite.Store)
		wantVersion uint64
	}{
		{
			name: "DataChanged",
			tamper: func(t *testing.T, db *sql.DB, s *sqlite.Store) {
				exec(t, db, `UPDATE events SET data = '{"n":999}' WHERE stream = 'offer-2' AND version = 2`)
			},
			wantVersion: 2,
		},
		{
			name: "ActorChanged",
			tamper: func(t *testing.T, db *sql.DB, s *sqlite.Store) {
				exec(t, db, `UPDATE events SET metadata = json_set(metadata, '$.actor.subject', 'mallory') WHERE stream = 'offer-2' AND version = 3`)
			},
			wantVersion: 3,
		},
		{
			// Rewriting an event and its hash moves the break to the
			// event after it, whose prev_hash still names the original.
			name: "RehashedAfterChange",
			tamper: func(t *testing.T, db *sql.DB, s *sqlite.Store) {
				evs, err := s.ReadStream(t.Context(), "offer-2", 1, 1)
				if err != nil || len(evs) != 1 {
					t.Fatalf("read offer-2 version 2: %v, %d events", err, len(evs))
				}
				e := evs[0]
				e.Data = []byte(`{"n":999}`)
				if err := eventstore.Seal(&e, e.PrevHash); err != nil {
					t.Fatal(err)
				}
				exec(t, db, `UPDATE events SET data = ?, hash = ? WHERE stream = 'offer-2' AND version = 2`, string(e.Data), e.Hash)
			},
			wantVersion: 3,
		},
		{
			name: "EventRemoved",
			tamper: func(t *testing.T, db *sql.DB, s *sqlite.Store) {
				exec(t, db, `DELETE FROM events WHERE stream = 'offer-2' AND version = 2`)
			},
			wantVersion: 3,
		},
		{
			name: "PrevHashChanged",
			tamper: func(t *testing.T, db *sql.DB, s *sqlite.Store) {
				exec(t, db, `UPDATE events SET prev_hash = NULL WHERE stream = 'offer-2' AND version = 4`)
			},
			wantVersion: 4,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			path := tempPath(t)
			s := MustOpen(t, path, sqlite.Config{})
			total := seedStreams(t, s, 3, 4)

			var calls, last int
			res, err := eventstore.VerifyAll(ctx, s, func(n int) { calls++; last = n })
			if err != nil {
				t.Fatalf("VerifyAll before tampering: %v", err)
			}
			if res.Streams != 3 || res.Events != total || calls == 0 || last != total {
				t.Fatalf("VerifyAll before tampering: %+v, progress called %d times ending at %d; want 3 streams, %d events", res, calls, last, total)
			}

			c.tamper(t, rawDB(t, path), s)

			_, err = eventstore.VerifyAll(ctx, s, nil)
			if !errors.Is(err, eventstore.ErrChainBroken) {
				t.Fatalf("VerifyAll after tampering: err = %v, want ErrChainBroken", err)
			}
			var ce *eventstore.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyAll error %v carries no ChainError", err)
			}
			if ce.Stream != "offer-2" || ce.Version != c.wantVersion {
				t.Errorf("ChainError at %s version %d, want offer-2 version %d: %v", ce.Stream, ce.Version, c.wantVersion, err)
			}
			// One broken stream is reported once, and the others stay good.
			if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 1 {
				t.Errorf("VerifyAll reported %d broken chains, want 1: %v", n, err)
			}
		})
	}
}

func TestVerifyAll_Cancelled(t *testing.T) {
	s := MustOpen(t, tempPath(t), sqlite.Config{})
	seedStreams(t, s, 1, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := eventstore.VerifyAll(ctx, s, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, eventstore.ErrChainBroken) {
		t.Fatalf("VerifyAll with a cancelled context: err = %v, want context.Canceled only", err)
	}
}

// seedStreams appends perStream events to each of streams streams named
// offer-1…, interleaved across streams, and returns how many it appended.
func seedStreams(t *testing.T, s eventstore.Store, streams, perStream int) int {
	t.Helper()
	n := 0
	for v := range perStream {
		for i := 1; i <= streams; i++ {
			n++
			mustAppend(t, s, fmt.Sprintf("offer-%d", i), uint64(v), event(fmt.Sprintf("e-%d-%d", i, v), n))
		}
	}
	return n
}

func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: changed %d rows, want 1", query, n)
	}
}
