package process_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: a
// process manager, delivery worker or subscriber that outlives its Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
