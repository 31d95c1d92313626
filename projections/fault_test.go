package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/eventstore/faultstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/projections"
)

// TestProjections_ReadFaults makes the log unreadable for a while under
// the projectors: they must retry and end equal to a rebuild of the log.
func TestProjections_ReadFaults(t *testing.T) {
	e := newRMEnv(t)
	fs := faultstore.New(e.store)
	p, err := projections.New(e.db, fs, projections.Config{
		Subscriber: pubsub.SubscriberConfig{PollInterval: 50 * time.Millisecond, NackResendDelay: 10 * time.Millisecond, RetryDelay: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })

	w := newRMWorkload(e, 7)
	w.Run(t, 150)
	fs.FailReads(40)
	w.Run(t, 300)
	e.waitHead(t, e.db)
	if n := len(fs.Injected()); n != 40 {
		t.Fatalf("%d reads failed, want 40", n)
	}
	if diff := cmp.Diff(rmFingerprint(t, e.rebuilt(t, "fresh.db")), rmFingerprint(t, e.db)); diff != "" {
		t.Errorf("read models after read faults differ from a rebuild (-rebuilt +live):\n%s", diff)
	}
}
