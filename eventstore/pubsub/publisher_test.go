package pubsub_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestPublisher_Publish checks what a published message becomes in the log
// and that it comes back to a subscriber exactly as published.
func TestPublisher_Publish(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	pub := mustPublisher(t, store)

	// Bytes that are not valid UTF-8 nor JSON must survive, and so must
	// metadata that is not ours.
	payload := []byte{0xff, 0x00, '{', 0xfe, '"'}
	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.Metadata.Set("test", "<value & \"quoted\">")
	msg.Metadata.Set(pubsub.MetaCorrelationID, "corr-1")
	msg.Metadata.Set(pubsub.MetaCausationID, "cause-1")
	msg.Metadata.Set(pubsub.MetaEventType, "poisoned.message")
	if err := pub.Publish("poison", msg); err != nil {
		t.Fatal(err)
	}

	evs, err := store.ReadStream(ctx, "poison-"+msg.UUID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("stream poison-%s holds %d events, want 1", msg.UUID, len(evs))
	}
	ev := evs[0]
	if ev.ID != msg.UUID || ev.Type != "poisoned.message" || ev.SchemaVersion != 1 {
		t.Errorf("event id %s type %s schema %d", ev.ID, ev.Type, ev.SchemaVersion)
	}
	wantActor := domain.Actor{Role: "system", Tenant: "*", Subject: "pubsub-publisher"}
	if ev.Metadata.Actor != wantActor || ev.Metadata.CorrelationID != "corr-1" || ev.Metadata.CausationID != "cause-1" {
		t.Errorf("event metadata %+v", ev.Metadata)
	}

	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{})
	msgs, err := sub.Subscribe(ctx, "poison")
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if got.UUID != msg.UUID {
		t.Errorf("UUID %s, want %s", got.UUID, msg.UUID)
	}
	if string(got.Payload) != string(payload) {
		t.Errorf("payload %q, want %q", got.Payload, payload)
	}
	for k, v := range msg.Metadata {
		if got.Metadata.Get(k) != v {
			t.Errorf("metadata %s = %q, want %q", k, got.Metadata.Get(k), v)
		}
	}
	env, err := pubsub.EventFrom(got)
	if err != nil {
		t.Fatal(err)
	}
	if mustPosition(t, got) != ev.Position || env.Stream != ev.Stream || env.Position != ev.Position {
		t.Errorf("envelope metadata %v does not match event %s at %d", got.Metadata, ev.Stream, ev.Position)
	}
}

// TestPublisher_Idempotent checks that publishing a message again writes
// nothing.
func TestPublisher_Idempotent(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	pub := mustPublisher(t, store)
	msg := message.NewMessage(watermill.NewUUID(), []byte("x"))
	if err := pub.Publish("topic", msg); err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("topic", msg); err != nil {
		t.Fatalf("publishing again: %v", err)
	}
	if again, err := store.Head(ctx); err != nil || again != head {
		t.Fatalf("head moved from %d to %d (%v) on a repeated publish", head, again, err)
	}
}

// TestPublisher_TopicsWithDashes checks that topics holding '-' or '%' get
// categories of their own, mixed up neither with each other (each topic's
// first message is its own, though the others were published around it) nor
// with the category before the dash.
func TestPublisher_TopicsWithDashes(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	pub := mustPublisher(t, store)
	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{})

	topics := []string{"a-b", "a%2Db", "a", "a-b-c", "a%b"}
	ids := map[string]string{}
	for _, topic := range topics {
		msg := message.NewMessage(watermill.NewUUID(), []byte(topic))
		ids[topic] = msg.UUID
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}
	var streams []string
	for _, topic := range topics {
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, msgs)
		got.Ack()
		if got.UUID != ids[topic] {
			t.Errorf("topic %q delivered the message of %q", topic, got.Payload)
		}
		env, err := pubsub.EventFrom(got)
		if err != nil {
			t.Fatal(err)
		}
		stream := env.Stream
		if i := strings.IndexByte(stream, '-'); stream[:i] == "a" && topic != "a" {
			t.Errorf("topic %q was stored in category a: %s", topic, stream)
		}
		streams = append(streams, stream)
	}
	if diff := cmp.Diff([]string{
		"a%2Db-" + ids["a-b"], "a%252Db-" + ids["a%2Db"], "a-" + ids["a"], "a%2Db%2Dc-" + ids["a-b-c"], "a%25b-" + ids["a%b"],
	}, streams); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
}

// TestPublisher_Rejects checks the messages and topics Publish refuses, and
// that a refused batch writes nothing.
func TestPublisher_Rejects(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	pub := mustPublisher(t, store)
	good := message.NewMessage(watermill.NewUUID(), nil)
	for name, publish := range map[string]func() error{
		"NotAUUID":  func() error { return pub.Publish("topic", good, message.NewMessage("not-a-uuid", nil)) },
		"AllTopic":  func() error { return pub.Publish(pubsub.TopicAll, good) },
		"Reserved":  func() error { return pub.Publish("$system", good) },
		"EmptyName": func() error { return pub.Publish("", good) },
	} {
		if err := publish(); err == nil {
			t.Errorf("%s: Publish succeeded", name)
		}
	}
	if head, err := store.Head(ctx); err != nil || head != 0 {
		t.Fatalf("head %d (%v) after refused publishes, want 0", head, err)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("topic", good); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
}

func mustPublisher(tb testing.TB, store eventstore.Store) *pubsub.Publisher {
	tb.Helper()
	pub, err := pubsub.NewPublisher(store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pub.Close() })
	return pub
}
