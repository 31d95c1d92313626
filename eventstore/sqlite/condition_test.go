package sqlite_test

import (
	"errors"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestStore_AppendConditions checks that an append whose context names
// other streams at versions is written only when they are there, the
// other streams changed by another store on the same file (another
// process), as a command's cached reads can be outdated.
func TestStore_AppendConditions(t *testing.T) {
	tests := []struct {
		name  string
		conds func(customer, template string) []eventstore.StreamVersion
		// wrong names the stream the rejection names; "" when written.
		wrong string
	}{
		{"no conditions", func(string, string) []eventstore.StreamVersion { return nil }, ""},
		{"both where read", func(c, tp string) []eventstore.StreamVersion {
			return []eventstore.StreamVersion{{Stream: c, Version: 2}, {Stream: tp, Version: 1}}
		}, ""},
		{"a stream that does not exist, expected absent", func(string, string) []eventstore.StreamVersion {
			return []eventstore.StreamVersion{{Stream: "customer-none", Version: eventstore.NoStream}}
		}, ""},
		{"customer moved on", func(c, tp string) []eventstore.StreamVersion {
			return []eventstore.StreamVersion{{Stream: c, Version: 1}, {Stream: tp, Version: 1}}
		}, "customer-1"},
		{"template moved on", func(c, tp string) []eventstore.StreamVersion {
			return []eventstore.StreamVersion{{Stream: c, Version: 2}, {Stream: tp, Version: 0}}
		}, "template-1"},
		{"stream that does not exist, expected present", func(string, string) []eventstore.StreamVersion {
			return []eventstore.StreamVersion{{Stream: "customer-none", Version: 1}}
		}, "customer-none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			s := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
			other := MustOpen(t, path, sqlite.Config{PollInterval: time.Hour})
			mustAppend(t, other, "customer-1", 0, event("c1", 1))
			mustAppend(t, other, "customer-1", 1, event("c2", 2))
			mustAppend(t, other, "template-1", 0, event("t1", 1))
			ctx := eventstore.WithConditions(t.Context(), tt.conds("customer-1", "template-1")...)
			res, err := s.Append(ctx, "offer-1", eventstore.NoStream, event("o1", 1))
			if tt.wrong == "" {
				if err != nil || res.Version != 1 {
					t.Fatalf("append = %+v, %v; want version 1", res, err)
				}
				return
			}
			var ve *eventstore.VersionError
			if !errors.As(err, &ve) || !errors.Is(err, eventstore.ErrWrongVersion) || ve.Stream != tt.wrong {
				t.Fatalf("append = %+v, %v; want a wrong version of %s", res, err, tt.wrong)
			}
			if evs, err := s.ReadStream(t.Context(), "offer-1", 0, 10); err != nil || len(evs) != 0 {
				t.Fatalf("offer stream after the rejection: %d events, %v; want none", len(evs), err)
			}
		})
	}
}

// TestStore_AppendConditionsRetry checks that conditions are checked
// before an append is taken for a retry: a repeated append whose conditions
// hold is answered as the retry it is, one whose conditions fail is
// rejected (its caller decided on outdated state and must read again).
func TestStore_AppendConditionsRetry(t *testing.T) {
	s := MustOpen(t, tempPath(t), sqlite.Config{PollInterval: time.Hour})
	mustAppend(t, s, "customer-1", 0, event("c1", 1))
	ctx := eventstore.WithConditions(t.Context(), eventstore.StreamVersion{Stream: "customer-1", Version: 1})
	first, err := s.Append(ctx, "offer-1", eventstore.NoStream, event("o1", 1))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, "offer-1", eventstore.NoStream, event("o1", 1))
	if err != nil || again != first {
		t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
	}
	// The stream itself at the version the caller read: a retry found
	// after the caller's read tells itself from a write.
	self := eventstore.WithConditions(t.Context(), eventstore.StreamVersion{Stream: "offer-1", Version: 0})
	if _, err := s.Append(self, "offer-1", eventstore.NoStream, event("o1", 1)); !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("retry from outdated state = %v, want a wrong version", err)
	}
	mustAppend(t, s, "customer-1", 1, event("c2", 2))
	if _, err := s.Append(ctx, "offer-1", eventstore.NoStream, event("o1", 1)); !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("retry after the customer changed = %v, want a wrong version", err)
	}
	if !eventstore.ChecksConditions(s) {
		t.Fatal("the SQLite store does not say it checks conditions")
	}
}
