package esdb_test

import (
	"testing"

	"github.com/offerflow/offerflow/eventstore/lease/leasetest"
)

// TestLease holds the lease primitives to the backend tests through two
// clients of one server, as two serve nodes use them, and checks that the
// lease's writes stay out of the log.
func TestLease(t *testing.T) {
	url := serverURL(t)
	prefix := "lease-" + runID() + "-"
	a, b := open(t, url, prefix), open(t, url, prefix)
	leasetest.Run(t, a, b, "processes")
	if head, err := a.Head(t.Context()); err != nil || head != 0 {
		t.Errorf("after the lease's writes the log's head is %d (%v), want 0: they must not be part of the log", head, err)
	}
}
