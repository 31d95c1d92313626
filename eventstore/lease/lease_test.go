package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore/lease"
)

// memory is a Backend in memory, as a store shared by several processes.
type memory struct {
	mu     sync.Mutex
	holder string
	rev    uint64
}

func (m *memory) ReadLease(ctx context.Context, name string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holder, m.rev, nil
}

func (m *memory) SwapLease(ctx context.Context, name string, rev uint64, holder string) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rev != rev {
		return 0, false, nil
	}
	m.rev++
	m.holder = holder
	return m.rev, true, nil
}

// cuttable is one process's view of the backend, which the test can cut off
// (a partition, a process frozen): every call then fails.
type cuttable struct {
	lease.Backend
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (c *cuttable) ReadLease(ctx context.Context, name string) (string, uint64, error) {
	if c.cut.Load() {
		return "", 0, errCut
	}
	return c.Backend.ReadLease(ctx, name)
}

func (c *cuttable) SwapLease(ctx context.Context, name string, rev uint64, holder string) (uint64, bool, error) {
	if c.cut.Load() {
		return 0, false, errCut
	}
	return c.Backend.SwapLease(ctx, name, rev, holder)
}

// works records which holders run their work, and fails the test when two
// run at once.
type works struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]bool
	starts  map[string]int
}

func newWorks(t *testing.T) *works {
	return &works{t: t, running: map[string]bool{}, starts: map[string]int{}}
}

func (w *works) fn(holder string) func(context.Context) error {
	return func(ctx context.Context) error {
		w.mu.Lock()
		for other, on := range w.running {
			if on {
				w.t.Errorf("%s started while %s was still running", holder, other)
			}
		}
		w.running[holder] = true
		w.starts[holder]++
		w.mu.Unlock()
		<-ctx.Done()
		w.mu.Lock()
		w.running[holder] = false
		w.mu.Unlock()
		return nil
	}
}

func (w *works) current() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for h, on := range w.running {
		if on {
			return h
		}
	}
	return ""
}

// eventually waits generously: the machine running the tests may be busy.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cfg gives the holder a second of margin: it stops a lease it cannot renew
// a whole second before any candidate may take it, far more than a busy
// machine delays a timer.
func cfg(holder string) lease.Config {
	return lease.Config{Name: "processes", Holder: holder, TTL: 2 * time.Second, Renew: 200 * time.Millisecond,
		Poll: 50 * time.Millisecond, Margin: time.Second}
}

type node struct {
	backend *cuttable
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, mem *memory, w *works, holder string) *node {
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{backend: &cuttable{Backend: mem}, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- lease.Run(ctx, n.backend, cfg(holder), w.fn(holder)) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *node) stop(t *testing.T) {
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		n.done <- nil // later stops return at once
	case <-time.After(30 * time.Second):
		t.Error("Run did not return after its context ended")
	}
}

func TestRun_OneHolderHandsOverOnStop(t *testing.T) {
	mem := &memory{}
	w := newWorks(t)
	nodes := map[string]*node{}
	for _, h := range []string{"a", "b", "c"} {
		nodes[h] = start(t, mem, w, h)
	}
	eventually(t, "someone holds the lease", func() bool { return w.current() != "" })
	// Renewals go on for a while without the work moving.
	first := w.current()
	time.Sleep(3 * cfg("").TTL / 2)
	if got := w.current(); got != first {
		t.Fatalf("work moved from %s to %s while %s was healthy", first, got, first)
	}
	// A clean stop releases the lease: another node takes it at its next
	// poll, not after the TTL.
	stopped := time.Now()
	nodes[first].stop(t)
	eventually(t, "another node takes over", func() bool { h := w.current(); return h != "" && h != first })
	if took := time.Since(stopped); took >= cfg("").TTL {
		t.Errorf("handover after a release took %v, want less than the TTL %v", took, cfg("").TTL)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.starts[first] != 1 {
		t.Errorf("%s started its work %d times, want once", first, w.starts[first])
	}
}

func TestRun_HolderCutOffStopsBeforeTakeover(t *testing.T) {
	mem := &memory{}
	w := newWorks(t)
	a := start(t, mem, w, "a")
	eventually(t, "a holds the lease", func() bool { return w.current() == "a" })
	b := start(t, mem, w, "b")
	time.Sleep(cfg("").TTL / 2)
	// a can no longer reach the store: it must stop its work before b
	// starts (works fails the test on an overlap), and b must start.
	a.backend.cut.Store(true)
	eventually(t, "b takes over", func() bool { return w.current() == "b" })
	// Back in touch, a finds the lease taken and stays a candidate.
	a.backend.cut.Store(false)
	time.Sleep(cfg("").TTL)
	if got := w.current(); got != "b" {
		t.Errorf("after a came back, %q runs the work, want b", got)
	}
	_ = b
}

func TestRun_WorkFailureEndsRunAndReleases(t *testing.T) {
	mem := &memory{}
	boom := errors.New("boom")
	err := lease.Run(t.Context(), mem, cfg("a"), func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the work's error", err)
	}
	if holder, rev, _ := mem.ReadLease(t.Context(), "processes"); holder != "" || rev != 2 {
		t.Errorf("after the failure the lease is held by %q at revision %d, want released at 2", holder, rev)
	}
}

func TestConfig_Refused(t *testing.T) {
	for name, c := range map[string]lease.Config{
		"no name":         {Holder: "a"},
		"no holder":       {Name: "n"},
		"renew too slow":  {Name: "n", Holder: "a", TTL: time.Second, Renew: 900 * time.Millisecond},
		"negative margin": {Name: "n", Holder: "a", Margin: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if err := lease.Run(t.Context(), &memory{}, c, func(context.Context) error { return nil }); err == nil {
				t.Error("Run accepted the configuration")
			}
		})
	}
}
