// Package leasetest holds the tests every lease.Backend must pass.
package leasetest

import (
	"testing"

	"github.com/offerflow/offerflow/eventstore/lease"
)

// Run checks compare-and-swap on a lease through a and b, two handles of one
// shared store (two processes on one SQLite file, two clients of one
// cluster). name must be a lease no one has taken yet.
func Run(t *testing.T, a, b lease.Backend, name string) {
	t.Helper()
	ctx := t.Context()
	if holder, rev, err := a.ReadLease(ctx, name); err != nil || holder != "" || rev != 0 {
		t.Fatalf("a lease never taken: ReadLease = %q, %d, %v; want \"\", 0, nil", holder, rev, err)
	}
	rev, ok, err := a.SwapLease(ctx, name, 0, "node-a")
	if err != nil || !ok || rev == 0 {
		t.Fatalf("first take: SwapLease = %d, %v, %v; want a revision, true, nil", rev, ok, err)
	}
	// b, having read nothing newer, loses the race at revision 0.
	if _, ok, err := b.SwapLease(ctx, name, 0, "node-b"); err != nil || ok {
		t.Fatalf("second take at revision 0: ok %v, err %v; want false, nil", ok, err)
	}
	holder, got, err := b.ReadLease(ctx, name)
	if err != nil || holder != "node-a" || got != rev {
		t.Fatalf("through the other handle: ReadLease = %q, %d, %v; want node-a, %d", holder, got, err, rev)
	}
	renewed, ok, err := a.SwapLease(ctx, name, rev, "node-a")
	if err != nil || !ok || renewed <= rev {
		t.Fatalf("renewal: SwapLease = %d, %v, %v; want a revision above %d", renewed, ok, err, rev)
	}
	// A write at a stale revision changes nothing.
	if _, ok, err := b.SwapLease(ctx, name, rev, "node-b"); err != nil || ok {
		t.Fatalf("take at a stale revision: ok %v, err %v; want false, nil", ok, err)
	}
	if holder, got, err := a.ReadLease(ctx, name); err != nil || holder != "node-a" || got != renewed {
		t.Fatalf("after a stale take: ReadLease = %q, %d, %v; want node-a, %d", holder, got, err, renewed)
	}
	// Release, then the other takes it.
	released, ok, err := a.SwapLease(ctx, name, renewed, "")
	if err != nil || !ok {
		t.Fatalf("release: ok %v, err %v", ok, err)
	}
	if holder, got, err := b.ReadLease(ctx, name); err != nil || holder != "" || got != released {
		t.Fatalf("after release: ReadLease = %q, %d, %v; want \"\", %d", holder, got, err, released)
	}
	if _, ok, err := b.SwapLease(ctx, name, released, "node-b"); err != nil || !ok {
		t.Fatalf("take after release: ok %v, err %v", ok, err)
	}
	if holder, _, err := a.ReadLease(ctx, name); err != nil || holder != "node-b" {
		t.Fatalf("after b took it: holder %q, err %v; want node-b", holder, err)
	}
	// Other leases are apart.
	if holder, rev, err := a.ReadLease(ctx, name+"-other"); err != nil || holder != "" || rev != 0 {
		t.Fatalf("another lease: ReadLease = %q, %d, %v; want untouched", holder, rev, err)
	}
}
