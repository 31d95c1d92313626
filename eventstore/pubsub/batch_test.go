package pubsub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// TestSubscriber_Batches delivers a topic in batches: every message carries
// up to MaxBatch consecutive events of the topic, exactly as stored; a
// nacked batch comes again whole; an acked one moves the group's checkpoint
// to its last event, where a new subscription resumes.
func TestSubscriber_Batches(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	checkpoints := mustCheckpoints(t, filepath.Join(t.TempDir(), "checkpoints.db"))
	for i := range 23 {
		if i%3 == 0 {
			mustAppend(t, store, fmt.Sprintf("template-%d", i), "template.created")
		}
		mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created")
	}
	all, err := store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want []eventstore.Event
	for _, ev := range all {
		if ev.Type == "offer.created" {
			want = append(want, ev)
		}
	}

	cfg := pubsub.SubscriberConfig{ConsumerGroup: "batcher", MaxBatch: 4, PageSize: 10}
	sub := mustSubscriber(t, store, checkpoints, cfg)
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	var got []eventstore.Event
	nacked := false
	for len(got) < 12 {
		msg := receive(t, msgs)
		evs, err := pubsub.Events(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 || len(evs) > cfg.MaxBatch {
			t.Fatalf("batch of %d events, want 1 to %d", len(evs), cfg.MaxBatch)
		}
		if last := evs[len(evs)-1].Position; mustPosition(t, msg) != last {
			t.Fatalf("message position %d, last event at %d", mustPosition(t, msg), last)
		}
		if !nacked && len(got) > 0 {
			nacked = true
			msg.Nack()
			msg = receive(t, msgs)
			again, err := pubsub.Events(msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(evs, again); diff != "" {
				t.Fatalf("nacked batch came again different (-first +again):\n%s", diff)
			}
			evs = again
		}
		got = append(got, evs...)
		msg.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	mustClosed(t, msgs)
	if cp := mustLoad(t, checkpoints, "batcher", "offer"); cp != got[len(got)-1].Position {
		t.Fatalf("checkpoint %d, last acked event at %d", cp, got[len(got)-1].Position)
	}

	sub = mustSubscriber(t, store, checkpoints, cfg)
	msgs, err = sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	for len(got) < len(want) {
		msg := receive(t, msgs)
		evs, err := pubsub.Events(msg)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		msg.Ack()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events delivered in batches differ from the log (-log +delivered):\n%s", diff)
	}
}

// TestEvents_OneEventMessage reads back the event of a one-event message,
// as handlers written for batches see the messages of a subscriber without
// MaxBatch.
func TestEvents_OneEventMessage(t *testing.T) {
	store := mustStore(t, sqlite.Config{})
	mustAppend(t, store, "offer-1", "offer.created")
	all, err := store.ReadAll(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pubsub.Events(pubsub.ToMessage(all[0]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("(-stored +read back):\n%s", diff)
	}
}

// TestSubscriber_Prepare hands each batch's events to Prepare before it is
// delivered and what Prepare made of them to the handler with the batch
// (Prepared), the same again after a Nack; a batch message that lost its context
// (a copy) gives no events rather than wrong ones.
func TestSubscriber_Prepare(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	for i := range 10 {
		mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created")
	}
	type prep struct{ first, last uint64 }
	prepares := 0
	cfg := pubsub.SubscriberConfig{MaxBatch: 4, PageSize: 4, Prepare: func(evs []eventstore.Event) any {
		prepares++ // the subscription's one preparing goroutine
		return prep{evs[0].Position, evs[len(evs)-1].Position}
	}}
	sub := mustSubscriber(t, store, nil, cfg)
	msgs, err := sub.Subscribe(ctx, pubsub.TopicAll)
	if err != nil {
		t.Fatal(err)
	}
	var got []eventstore.Event
	for i := 0; len(got) < 10; i++ {
		msg := receive(t, msgs)
		evs, err := pubsub.Events(msg)
		if err != nil {
			t.Fatal(err)
		}
		want := prep{evs[0].Position, evs[len(evs)-1].Position}
		if p := pubsub.Prepared(msg); p != want {
			t.Fatalf("batch %d..%d prepared as %v", want.first, want.last, p)
		}
		if _, err := pubsub.Events(msg.Copy()); err == nil {
			t.Fatal("a copy of a batch message gave events")
		}
		if i == 1 {
			msg.Nack()
			msg = receive(t, msgs)
			if p := pubsub.Prepared(msg); p != want {
				t.Fatalf("nacked batch %d..%d came again prepared as %v", want.first, want.last, p)
			}
		}
		got = append(got, evs...)
		msg.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	mustClosed(t, msgs)
	if prepares != 3 { // 3 batches, the nacked one with what it had
		t.Errorf("Prepare called %d times, want 3", prepares)
	}
	if pubsub.Prepared(pubsub.ToMessage(got[0])) != nil {
		t.Error("a one-event message has something prepared")
	}
}

// TestSubscriber_HeadBatchGathersWhatCameMeanwhile: at the head of the
// log, the events appended while a batch is being handled come in the next
// batch together, not each commit's few events in a batch of their own read
// ahead: read ahead, up to three small pages waited in the subscription's
// pipeline, and an event appended meanwhile waited for a transaction of the
// consumer per page before its own (issue 7: the read models' batches were
// 2 to 4 events at 500 offers/s).
func TestSubscriber_HeadBatchGathersWhatCameMeanwhile(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t, sqlite.Config{})
	sub := mustSubscriber(t, store, nil, pubsub.SubscriberConfig{MaxBatch: 100})
	msgs, err := sub.Subscribe(ctx, "offer")
	if err != nil {
		t.Fatal(err)
	}
	first := mustAppend(t, store, "offer-0", "offer.created")
	msg := receive(t, msgs)
	if got := mustPosition(t, msg); got != first {
		t.Fatalf("first batch ends at %d, want %d", got, first)
	}
	// Three commits while the first batch is in hand.
	var want []uint64
	for i := 1; i <= 3; i++ {
		want = append(want, mustAppend(t, store, fmt.Sprintf("offer-%d", i), "offer.created"))
	}
	msg.Ack()
	msg = receive(t, msgs)
	evs, err := pubsub.Events(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, ev := range evs {
		got = append(got, ev.Position)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the batch after the one in hand (-want +got):\n%s", diff)
	}
	msg.Ack()
}
