package esdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	_ "github.com/mattn/go-sqlite3" // the checkpoints' database

	"github.com/offerflow/offerflow/eventstore/esdb"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// TestPubSub runs Watermill's universal Pub/Sub suite over the log pubsub
// package on this store: against the emulator, or the server EVENTSTORE_URL
// names (in a namespace of this run). With -short the suite shrinks its
// message counts.
//
// Each of the suite's tests has a log of its own: an emulator of its own, or
// a namespace of its own on the server. A subscription reads $all and keeps
// its topic on the client, so with one log shared by the suite's tests,
// which run in parallel, every new subscriber read every other test's
// messages first: at a load of 17-20, two messages took 6.6 s and a hundred
// 14.2 s of the 15 s the suite waits without a message, and the suite
// failed under load on those waits. Within a test, its publishers and
// subscribers share the log, as the suite expects.
func TestPubSub(t *testing.T) {
	shared := os.Getenv("EVENTSTORE_URL") // else an emulator per test
	run := runID()
	var (
		mu     sync.Mutex
		stores = map[string]*esdb.Store{}
	)
	// storeOf returns the store of the suite's test that t is, or is a
	// subtest of; it lives until TestPubSub ends.
	storeOf := func(sub *testing.T) *esdb.Store {
		name := strings.Join(strings.SplitN(sub.Name(), "/", 3)[:2], "/")
		mu.Lock()
		defer mu.Unlock()
		if s, ok := stores[name]; ok {
			return s
		}
		url := shared
		if url == "" {
			url = startEmulator(t).URL()
		}
		s := open(t, url, fmt.Sprintf("pubsub-%s-%d-", run, len(stores)))
		stores[name] = s
		return s
	}
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
		store := storeOf(t)
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
		// long as TestPubSub).
		Persistent:                       true,
		NewSubscriberReceivesOldMessages: true,
		ContextPreserved:                 false,
	}
	tests.TestPubSub(t, features, func(t *testing.T) (message.Publisher, message.Subscriber) { return grouped(t, "") }, grouped)
}
