package pubsub_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestSubscriber_CloseAndReopen kills the subscriber mid-stream several
// times (Close, then a new Subscriber in the same group) and checks that a
// consumer deduplicating by position applies every event exactly once: each
// new subscription starts right after the last saved checkpoint, so only the
// one message delivered but not acked comes again.
func TestSubscriber_CloseAndReopen(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	checkpoints := mustCheckpoints(t, filepath.Join(t.TempDir(), "checkpoints.db"))

	// Offer events interleaved with events of another category, which the
	// "offer" topic must pass over.
	var want []uint64
	for i := range 60 {
		mustAppend(t, store, fmt.Sprintf("template-%d", i), "template.created")
		want = append(want, mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created"))
	}

	applied := map[uint64]int{} // what the consumer applied, by position
	var last uint64             // the consumer's own dedup checkpoint
	consume := func(msg *message.Message) {
		pos := mustPosition(t, msg)
		if pos > last {
			applied[pos]++
			last = pos
		}
	}
	deliveries := 0
	var held uint64 // position delivered but not acked when the subscriber was killed

	// Each round acks some messages, takes one more without acking it (its
	// delivery proves the previous Ack was checkpointed), and is killed.
	for round, acks := range []int{7, 0, 1, 13, 2} {
		sub := mustSubscriber(t, store, checkpoints, pubsub.SubscriberConfig{ConsumerGroup: "projector", PageSize: 5})
		msgs, err := sub.Subscribe(ctx, "offer")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			msg := receive(t, msgs)
			deliveries++
			pos := mustPosition(t, msg)
			if i == 0 && held != 0 && pos != held {
				t.Fatalf("round %d: first delivery at %d, want the unacked %d again", round, pos, held)
			}
			if round == 2 && i == 0 {
				// A Nack redelivers the same event before anything else.
				msg.Nack()
				msg = receive(t, msgs)
				deliveries++
				if got := mustPosition(t, msg); got != pos {
					t.Fatalf("after Nack got %d, want %d again", got, pos)
				}
			}
			// The consumer applies the held message too, as a projector
			// commits before it acks: the redelivery must then be a no-op.
			consume(msg)
			if i == acks {
				held = pos
				break
			}
			msg.Ack()
		}
		cp, err := checkpoints.Load(ctx, "projector", "offer")
		if err != nil {
			t.Fatal(err)
		}
		if wantCP := prevOffer(want, held); cp != wantCP {
			t.Fatalf("round %d: checkpoint %d, want %d (the last acked offer event)", round, cp, wantCP)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if _, open := <-msgs; open {
			t.Fatalf("round %d: channel still open after Close", round)
		}
	}

	// The last subscriber acks everything that is left.
	sub := mustSubscriber(t, store, checkpoints, pubsub.SubscriberConfig{ConsumerGroup: "projector", PageSize: 5})
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	for last < want[len(want)-1] {
		msg := receive(t, msgs)
		deliveries++
		consume(msg)
		msg.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	for _, pos := range want {
		if applied[pos] != 1 {
			t.Errorf("event at %d applied %d times, want once", pos, applied[pos])
		}
	}
	if len(applied) != len(want) {
		t.Errorf("applied %d events, want %d", len(applied), len(want))
	}
	// 60 events, one redelivery per killed round (5) and one per Nack (1).
	if deliveries != len(want)+5+1 {
		t.Errorf("%d deliveries, want %d", deliveries, len(want)+6)
	}
}

// prevOffer returns the offer position before pos in want, 0 for the first.
func prevOffer(want []uint64, pos uint64) uint64 {
	var prev uint64
	for _, p := range want {
		if p == pos {
			return prev
		}
		prev = p
	}
	return prev
}

// TestSubscriber_Topics checks that a topic selects its stream category,
// TopicAll selects everything, both in global order, and that messages of
// domain events carry the event's data and envelope.
func TestSubscriber_Topics(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	var all, offers []uint64
	for i := range 5 {
		all = append(all, mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created"))
		offers = append(offers, all[len(all)-1])
		all = append(all, mustAppend(t, store, fmt.Sprintf("customer-%d", i), "customer.created"))
		// "offerx" shares a prefix with "offer" but is another category.
		all = append(all, mustAppend(t, store, fmt.Sprintf("offerx-%d", i), "offerx.created"))
	}
	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{}) // no group: from the start

	read := func(topic string, n int) []uint64 {
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for range n {
			msg := receive(t, msgs)
			got = append(got, mustPosition(t, msg))
			msg.Ack()
		}
		return got
	}
	if diff := cmp.Diff(all, read(pubsub.TopicAll, len(all))); diff != "" {
		t.Errorf("$all positions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(offers, read("offer", len(offers))); diff != "" {
		t.Errorf("offer positions (-want +got):\n%s", diff)
	}

	msgs, err := sub.Subscribe(ctx, "customer")
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, msgs)
	evs, err := store.ReadStream(ctx, "customer-0", 0, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("read customer-0: %v, %d events", err, len(evs))
	}
	ev := evs[0]
	// The message carries the envelope whole: EventFrom gives back the
	// event as stored, and the metadata holds only the routing keys
	// beside it.
	got, err := pubsub.EventFrom(msg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, got); diff != "" {
		t.Errorf("EventFrom (-stored +read back):\n%s", diff)
	}
	if got.Metadata.Actor.Subject != "alice" || got.Metadata.CorrelationID != "corr-customer-0" {
		t.Errorf("envelope metadata %+v, want alice's in corr-customer-0", got.Metadata)
	}
	wantKeys := []string{pubsub.MetaEnvelope, pubsub.MetaEventType, pubsub.MetaPosition}
	if keys := slices.Sorted(maps.Keys(msg.Metadata)); !slices.Equal(keys, wantKeys) {
		t.Errorf("metadata keys %v, want %v", keys, wantKeys)
	}
	if msg.Metadata.Get(pubsub.MetaPosition) != strconv.FormatUint(ev.Position, 10) {
		t.Errorf("position %s, want %d", msg.Metadata.Get(pubsub.MetaPosition), ev.Position)
	}
	if msg.UUID != ev.ID || string(msg.Payload) != string(ev.Data) {
		t.Errorf("message %s %s, want event %s %s", msg.UUID, msg.Payload, ev.ID, ev.Data)
	}
	if pubsub.EventType(msg) != "customer.created" {
		t.Errorf("EventType = %q", pubsub.EventType(msg))
	}
	msg.Ack()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSubscriber_WokenOnAppend checks that a caught-up subscription
// delivers a new event without relying on polling: both the store's and the
// subscriber's poll intervals are an hour.
func TestSubscriber_WokenOnAppend(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{PollInterval: time.Hour})
	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{PollInterval: time.Hour})
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		pos := mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created")
		msg := receive(t, msgs)
		if got := mustPosition(t, msg); got != pos {
			t.Fatalf("got position %d, want %d", got, pos)
		}
		msg.Ack()
	}
}

// TestSubscriber_ReadsOncePerAppend checks that a caught-up subscription
// reads the log once for each append it is woken by: after a page that
// reached the head it waits for the next append rather than reading an
// empty page first, which every follower did after every commit.
func TestSubscriber_ReadsOncePerAppend(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: mustStore(t, sqlite.Config{PollInterval: time.Hour})}
	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{PollInterval: time.Hour})
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	const appends = 5
	for i := range appends {
		pos := mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created")
		msg := receive(t, msgs)
		if got := mustPosition(t, msg); got != pos {
			t.Fatalf("got position %d, want %d", got, pos)
		}
		msg.Ack()
	}
	// The first read found the log empty; each append was read once.
	if got := store.reads.Load(); got > appends+1 {
		t.Errorf("the subscription read the log %d times for %d appends, want at most %d", got, appends, appends+1)
	}
}

// countingStore counts the reads of the log.
type countingStore struct {
	*sqlite.Store
	reads atomic.Int64
}

func (s *countingStore) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	s.reads.Add(1)
	return s.Store.ReadAll(ctx, after, limit)
}

// TestSubscriber_CheckpointPassesOverOtherTopics checks that a whole page of
// events the topic does not select moves the checkpoint, so a rare topic is
// not rescanned from far back after a restart, and that it never moves past
// an event still to be acked.
func TestSubscriber_CheckpointPassesOverOtherTopics(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	checkpoints := mustCheckpoints(t, filepath.Join(t.TempDir(), "checkpoints.db"))
	var others []uint64
	for i := range 25 {
		others = append(others, mustAppend(t, store, fmt.Sprintf("customer-%d", i), "customer.created"))
	}
	offer := mustAppend(t, store, "offer-1", "offer.created")

	sub := mustSubscriber(t, store, checkpoints, pubsub.SubscriberConfig{ConsumerGroup: "rare", PageSize: 10})
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, msgs)
	if got := mustPosition(t, msg); got != offer {
		t.Fatalf("got %d, want %d", got, offer)
	}
	// Two full pages passed over: the checkpoint is at the 20th event, and
	// not past the unacked offer.
	if cp := mustLoad(t, checkpoints, "rare", "offer"); cp != others[19] {
		t.Errorf("checkpoint before Ack = %d, want %d", cp, others[19])
	}
	msg.Ack()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if cp := mustLoad(t, checkpoints, "rare", "offer"); cp != offer {
		t.Errorf("checkpoint after Ack = %d, want %d", cp, offer)
	}
}

// TestSubscriber_Lifecycle checks cancellation, Close and bad arguments.
func TestSubscriber_Lifecycle(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	mustAppend(t, store, "offer-1", "offer.created")

	t.Run("ContextCancelClosesChannel", func(t *testing.T) {
		sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{})
		subCtx, cancel := context.WithCancel(ctx)
		msgs, err := sub.Subscribe(subCtx, "offer")
		if err != nil {
			t.Fatal(err)
		}
		msg := receive(t, msgs)
		cancel()
		select {
		case <-msg.Context().Done():
		case <-time.After(receiveTimeout):
			t.Fatal("message context not cancelled with the subscription")
		}
		mustClosed(t, msgs)
	})
	t.Run("CancelledBeforeSubscribing", func(t *testing.T) {
		checkpoints := mustCheckpoints(t, filepath.Join(t.TempDir(), "checkpoints.db"))
		sub := mustSubscriber(t, store, checkpoints, pubsub.SubscriberConfig{ConsumerGroup: "g"})
		subCtx, cancel := context.WithCancel(ctx)
		cancel()
		msgs, err := sub.Subscribe(subCtx, "offer")
		if err != nil {
			t.Fatalf("Subscribe with an ended context: %v, want a closed channel", err)
		}
		mustClosed(t, msgs)
	})
	t.Run("CloseIsIdempotentAndFinal", func(t *testing.T) {
		sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{})
		msgs, err := sub.Subscribe(ctx, "offer")
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		mustClosed(t, msgs)
		if err := sub.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := sub.Subscribe(ctx, "offer"); err == nil {
			t.Fatal("Subscribe after Close succeeded")
		}
	})
	t.Run("BadArguments", func(t *testing.T) {
		if _, err := pubsub.NewSubscriber(store, nil, pubsub.SubscriberConfig{ConsumerGroup: "g"}, nil); err == nil {
			t.Error("a consumer group without a checkpoint store was accepted")
		}
		if _, err := pubsub.NewSubscriber(store, nil, pubsub.SubscriberConfig{PageSize: -1}, nil); err == nil {
			t.Error("a negative page size was accepted")
		}
		sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{})
		for _, topic := range []string{"", "$streams"} {
			if _, err := sub.Subscribe(ctx, topic); err == nil {
				t.Errorf("Subscribe(%q) succeeded", topic)
			}
		}
	})
	t.Run("PositionOfForeignMessage", func(t *testing.T) {
		if _, err := pubsub.Position(message.NewMessage(watermill.NewUUID(), nil)); err == nil {
			t.Error("Position of a message without position metadata succeeded")
		}
	})
}
