package pubsub_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: a
// follower of the log that outlives its subscriber's Close. Watermill's own
// TestPubSub harness fans several subscribers into one channel through its
// internal multiplier and leaves those goroutines blocked when a test stops
// reading; they belong to the harness, not to the store's subscriber.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/ThreeDotsLabs/watermill/internal/subscriber.(*multiplier).Subscribe.func2"),
		goleak.IgnoreAnyFunction("github.com/ThreeDotsLabs/watermill/internal/subscriber.(*multiplier).Subscribe.func3"),
	)
}
