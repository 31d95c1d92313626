package pubsub_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// suiteFeatures returns the features this Pub/Sub has, as Watermill's
// universal suite understands them.
func suiteFeatures() tests.Features {
	return tests.Features{
		// Checkpoints per (group, topic); different groups read independently.
		ConsumerGroups: true,
		// At least once: an acked message whose checkpoint was not yet saved
		// comes again after a restart.
		ExactlyOnceDelivery: false,
		// One subscription delivers in global order, one message at a time;
		// several subscriptions each do, so the suite's merged, deduplicated
		// view stays ordered too.
		GuaranteedOrder:                     true,
		GuaranteedOrderWithSingleSubscriber: false,
		// The log is a SQLite file that outlives every Pub/Sub over it.
		Persistent: true,
		// Without a consumer group a subscription replays the log from its
		// start, so a new subscriber sees what was published before it.
		NewSubscriberReceivesOldMessages: true,
		// Nothing to restart: the store is an embedded file.
		RestartServiceCommand: nil,
		// Messages carry their own context, cancelled after Ack/Nack; the
		// publisher's context is not stored.
		ContextPreserved: false,
	}
}

// TestPubSub runs Watermill's universal Pub/Sub suite over a SQLite event
// store. With -short the suite itself shrinks its message counts.
func TestPubSub(t *testing.T) {
	logs := newSuiteLogs(t)
	tests.TestPubSub(t, suiteFeatures(), logs.pubSub, logs.consumerGroupPubSub)
}

// TestPubSub_DurableGroup runs the suite's delivery tests again with every
// Pub/Sub in one consumer group, so that resuming after Close, Nack and
// cancellation goes through the saved checkpoints (without a group those
// tests pass by replaying from the start).
func TestPubSub_DurableGroup(t *testing.T) {
	logs := newSuiteLogs(t)
	group := "durable_" + watermill.NewShortUUID()
	grouped := func(t *testing.T) (message.Publisher, message.Subscriber) {
		return logs.consumerGroupPubSub(t, group)
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, tests.TestContext, tests.PubSubConstructor)
	}{
		{"PublishSubscribe", tests.TestPublishSubscribe},
		{"ResendOnError", tests.TestResendOnError},
		{"NoAck", tests.TestNoAck},
		{"ContinueAfterSubscribeClose", tests.TestContinueAfterSubscribeClose},
		{"ContinueAfterErrors", tests.TestContinueAfterErrors},
		{"PublishSubscribeInOrder", tests.TestPublishSubscribeInOrder},
		{"SubscribeCtx", tests.TestSubscribeCtx},
		{"ConcurrentClose", tests.TestConcurrentClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, tests.TestContext{TestID: tests.NewTestID(), Features: suiteFeatures()}, grouped)
		})
	}
}

// suiteLogs gives each test of Watermill's suite a harness of its own: its
// publishers and subscribers share a log, as the suite expects, and no other
// test's messages are in it. A subscription reads the whole log and keeps
// its topic, and the suite's tests run in parallel: over one log for all of
// them, a new subscriber of TestContinueAfterSubscribeClose (full mode,
// -race, load 15-20) read the other tests' tens of thousands of messages
// before its own, and got none of its 1,000 within the suite's 15 s wait.
type suiteLogs struct {
	t      *testing.T // the suite's: harnesses live until it ends
	mu     sync.Mutex
	byTest map[string]*harness
}

func newSuiteLogs(t *testing.T) *suiteLogs {
	return &suiteLogs{t: t, byTest: map[string]*harness{}}
}

// of returns the harness of the suite's test that t is, or is a subtest of
// (the suite's tests are the subtests of the suite's t).
func (l *suiteLogs) of(t *testing.T) *harness {
	name := strings.Join(strings.SplitN(t.Name(), "/", 3)[:2], "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.byTest[name]
	if !ok {
		h = newHarness(l.t)
		l.byTest[name] = h
	}
	return h
}

func (l *suiteLogs) pubSub(t *testing.T) (message.Publisher, message.Subscriber) {
	return l.of(t).pubSub(t)
}

func (l *suiteLogs) consumerGroupPubSub(t *testing.T, group string) (message.Publisher, message.Subscriber) {
	return l.of(t).consumerGroupPubSub(t, group)
}

// harness owns one event store and one checkpoint database shared by every
// Pub/Sub it makes, as processes share a data directory.
type harness struct {
	store       *sqlite.Store
	checkpoints *pubsub.SQLCheckpoints
	logger      watermill.LoggerAdapter
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &harness{
		store:       store,
		checkpoints: mustCheckpoints(t, filepath.Join(dir, "checkpoints.db")),
		logger:      watermill.NopLogger{},
	}
}

// mustCheckpoints opens a checkpoint store in a SQLite file at path.
func mustCheckpoints(tb testing.TB, path string) *pubsub.SQLCheckpoints {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	// One connection serializes this process's writers, so none of them
	// has to wait for SQLite's lock.
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	cp, err := pubsub.NewSQLCheckpoints(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return cp
}

func (h *harness) pubSub(t *testing.T) (message.Publisher, message.Subscriber) {
	return h.consumerGroupPubSub(t, "")
}

func (h *harness) consumerGroupPubSub(t *testing.T, group string) (message.Publisher, message.Subscriber) {
	pub, err := pubsub.NewPublisher(h.store, h.logger)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := pubsub.NewSubscriber(h.store, h.checkpoints, pubsub.SubscriberConfig{ConsumerGroup: group}, h.logger)
	if err != nil {
		t.Fatal(err)
	}
	// Some suite tests leave subscribers open; stop them before the store
	// closes. Close is idempotent.
	t.Cleanup(func() { _ = sub.Close(); _ = pub.Close() })
	return pub, sub
}

// receiveTimeout bounds every wait for a message; tests prove progress by
// receiving, and fail rather than hang.
const receiveTimeout = 10 * time.Second

func mustStore(tb testing.TB, cfg sqlite.Config) *sqlite.Store {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

func mustSubscriber(tb testing.TB, store eventstore.Store, cp pubsub.CheckpointStore, cfg pubsub.SubscriberConfig) *pubsub.Subscriber {
	tb.Helper()
	sub, err := pubsub.NewSubscriber(store, cp, cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sub.Close() })
	return sub
}

// mustAppend appends one domain-like event as the first of stream and
// returns its position.
func mustAppend(tb testing.TB, store eventstore.Store, stream, typ string) uint64 {
	tb.Helper()
	data, _ := json.Marshal(map[string]string{"stream": stream})
	res, err := store.Append(context.Background(), stream, eventstore.NoStream, eventstore.NewEvent{
		ID:            uuid.NewString(),
		Type:          typ,
		SchemaVersion: 1,
		Data:          data,
		Metadata: eventstore.Metadata{
			Actor:         domain.Actor{Role: "reseller", Tenant: "r1", Subject: "alice"},
			CorrelationID: "corr-" + stream,
			CausationID:   "cause-" + stream,
			OccurredAt:    time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC),
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Position
}

func mustLoad(tb testing.TB, cp pubsub.CheckpointStore, group, topic string) uint64 {
	tb.Helper()
	pos, err := cp.Load(context.Background(), group, topic)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

func mustPosition(tb testing.TB, msg *message.Message) uint64 {
	tb.Helper()
	pos, err := pubsub.Position(msg)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

func receive(tb testing.TB, msgs <-chan *message.Message) *message.Message {
	tb.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			tb.Fatal("channel closed while a message was expected")
		}
		return msg
	case <-time.After(receiveTimeout):
		tb.Fatal("no message within", receiveTimeout)
	}
	return nil
}

func mustClosed(tb testing.TB, msgs <-chan *message.Message) {
	tb.Helper()
	for {
		select {
		case _, ok := <-msgs:
			if !ok {
				return
			}
		case <-time.After(receiveTimeout):
			tb.Fatal("channel not closed within", receiveTimeout)
		}
	}
}
