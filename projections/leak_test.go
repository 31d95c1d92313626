package projections_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: a
// projector, subscriber or process manager that outlives its Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
