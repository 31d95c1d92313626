package esdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	_ "github.com/mattn/go-sqlite3" // the checkpoints' database

	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// TestPubSub runs Watermill's universal Pub/Sub suite over the log pubsub
// package on this store: against the emulator, or the server EVENTSTORE_URL
// names (in a namespace of this run). With -short the suite shrinks its
// message counts.
func TestPubSub(t *testing.T) {
	store := open(t, serverURL(t), "pubsub-"+runID()+"-")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "checkpoints.db")+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	checkpoints, err := pubsub.NewSQLCheckpoints(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	grouped := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		pub, err := pubsub.NewPublisher(store, watermill.NopLogger{})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := pubsub.NewSubscriber(store, checkpoints, pubsub.SubscriberConfig{ConsumerGroup: group}, watermill.NopLogger{})
		if err != nil {
			t.Fatal(err)
		}
		// Some suite tests leave subscribers open; stop them before the
		// store closes. Close is idempotent.
		t.Cleanup(func() { _ = sub.Close(); _ = pub.Close() })
		return pub, sub
	}
	features := tests.Features{
		ConsumerGroups:                      true,
		ExactlyOnceDelivery:                 false,
		GuaranteedOrder:                     true,
		GuaranteedOrderWithSingleSubscriber: false,
		// The log outlives every Pub/Sub over it (the emulator lives as
		// long as the test).
		Persistent:                       true,
		NewSubscriberReceivesOldMessages: true,
		ContextPreserved:                 false,
	}
	tests.TestPubSub(t, features, func(t *testing.T) (message.Publisher, message.Subscriber) { return grouped(t, "") }, grouped)
}
