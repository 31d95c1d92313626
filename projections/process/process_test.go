package process_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/offerflow/offerflow/projections/process"
)

// TestProcesses_CloseWithoutRun checks that process managers wired but never
// run (serve failing after NewProcesses, say) close at once, and that Run
// refuses to start after Close.
func TestProcesses_CloseWithoutRun(t *testing.T) {
	e := newProcessEnv(t, nil)
	p, err := process.NewProcesses(context.Background(), process.ProcessDeps{Service: e.svc, DB: e.db}, fastRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	// The router's CloseTimeout is 15 s: a Close that waits for handlers
	// that never started takes that long.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(context.Background()) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Run after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run after Close did not return")
	}
}

// TestProcesses_CancelledBeforeRunning runs the process managers with a
// context that ends before the router has subscribed its handlers (serve
// stopped right after start-up): every Subscribe then fails. That is a
// normal stop: Run returns nil or context.Canceled, and Close returns
// promptly without error.
func TestProcesses_CancelledBeforeRunning(t *testing.T) {
	e := newProcessEnv(t, nil)
	p, err := process.NewProcesses(context.Background(), process.ProcessDeps{Service: e.svc, DB: e.db}, fastRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want nil or context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run with a cancelled context did not return")
	}
	start := time.Now()
	if err := p.Close(); err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Close = %v after %v, want nil within 5s", err, time.Since(start))
	}
}
