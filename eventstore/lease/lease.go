// Package lease runs work on exactly one of several processes that share a
// log: the one holding a named lease. The lease is a record in the shared
// store (a row of the SQLite file, a stream on EventStoreDB) written by
// compare-and-swap on its revision; the holder renews it every few seconds,
// and a candidate takes it over once its revision has stood still for the
// TTL.
//
// Expiry is judged on each reader's own monotonic clock, never by comparing
// timestamps written by another machine, so clock skew between nodes does
// not matter, only clock rate:
//
//   - the holder counts its lease from the moment it sent the write that
//     succeeded, and stops its work when TTL−Margin has passed without a
//     successful renewal;
//   - a candidate counts from the moment it first read the current revision,
//     which is after that write, and takes the lease only TTL later.
//
// So a holder cut off from the store has stopped before anyone else starts,
// and a holder that died is replaced within TTL plus one Poll.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Backend is a store that can hold leases. Both event stores implement it.
type Backend interface {
	// ReadLease returns the holder and revision of the lease called name;
	// revision 0 means it was never taken, an empty holder that it was
	// released.
	ReadLease(ctx context.Context, name string) (holder string, revision uint64, err error)
	// SwapLease writes holder into the lease if it is still at revision
	// and returns the new revision; ok is false, with no error, when
	// another writer got there first.
	SwapLease(ctx context.Context, name string, revision uint64, holder string) (newRevision uint64, ok bool, err error)
}

// Config configures Run. Zero durations take the defaults named.
type Config struct {
	// Name of the lease (required), Holder this process's unique id
	// (required: a restarted process must not pass for its predecessor).
	Name, Holder string
	// TTL is how long a lease lasts unrenewed (default 10 s).
	TTL time.Duration
	// Renew is how often the holder renews it (default TTL/3).
	Renew time.Duration
	// Poll is how often a candidate reads it (default 1 s, at most TTL/4).
	Poll time.Duration
	// Margin is how much earlier than TTL the holder gives up a lease it
	// cannot renew, for its work to stop (default TTL/5).
	Margin time.Duration
	// Logger receives the lease's changes of hands (default: discarded).
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Name == "" || c.Holder == "" {
		return errors.New("lease: Name and Holder are required")
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Second
	}
	if c.Renew == 0 {
		c.Renew = c.TTL / 3
	}
	if c.Poll == 0 {
		c.Poll = min(time.Second, c.TTL/4)
	}
	if c.Margin == 0 {
		c.Margin = c.TTL / 5
	}
	if c.TTL <= 0 || c.Renew <= 0 || c.Poll <= 0 || c.Margin < 0 || c.Renew >= c.TTL-c.Margin {
		return fmt.Errorf("lease %s: want positive TTL, Renew and Poll, and Renew shorter than TTL-Margin (TTL %v, Renew %v, Margin %v)", c.Name, c.TTL, c.Renew, c.Margin)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run runs work whenever this process holds the lease, until ctx is done.
// work's context ends when the lease is lost (or cannot be renewed in time);
// work must then return promptly, and Run becomes a candidate again. When
// ctx ends, Run stops work, releases the lease so that another process takes
// it at once, and returns nil. An error of work itself (one it returns while
// its context is live) ends Run with that error, the lease released.
func Run(ctx context.Context, b Backend, cfg Config, work func(context.Context) error) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	for {
		rev, since, err := acquire(ctx, b, cfg)
		if err != nil {
			return nil // ctx is done
		}
		cfg.Logger.Info("lease taken: running the background work here", "lease", cfg.Name, "holder", cfg.Holder)
		rev, err = hold(ctx, b, cfg, rev, since, work)
		if ctx.Err() != nil || err != nil {
			release(b, cfg, rev)
			return err
		}
		cfg.Logger.Warn("lease lost: background work stopped here", "lease", cfg.Name, "holder", cfg.Holder)
	}
}

// acquire waits until this process holds the lease and returns its revision
// and the time the winning write was sent; its error is ctx's.
func acquire(ctx context.Context, b Backend, cfg Config) (uint64, time.Time, error) {
	var (
		seenRev uint64
		seenAt  time.Time
		first   = true
	)
	t := time.NewTicker(cfg.Poll)
	defer t.Stop()
	for {
		holder, rev, err := b.ReadLease(ctx, cfg.Name)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				cfg.Logger.Warn("lease: reading it", "lease", cfg.Name, "err", err)
			}
		case first || rev != seenRev:
			// A revision seen for the first time starts the count; a
			// free (never taken or released) lease is taken at once.
			first, seenRev, seenAt = false, rev, time.Now()
			if rev == 0 || holder == "" || holder == cfg.Holder {
				if newRev, sent, ok := swap(ctx, b, cfg, rev); ok {
					return newRev, sent, nil
				}
			}
		case time.Since(seenAt) >= cfg.TTL:
			cfg.Logger.Info("lease expired: taking it over", "lease", cfg.Name, "from", holder)
			if newRev, sent, ok := swap(ctx, b, cfg, rev); ok {
				return newRev, sent, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// swap writes this holder at rev and reports the new revision and when the
// write was sent, if it succeeded.
func swap(ctx context.Context, b Backend, cfg Config, rev uint64) (uint64, time.Time, bool) {
	sent := time.Now()
	newRev, ok, err := b.SwapLease(ctx, cfg.Name, rev, cfg.Holder)
	if err != nil {
		if ctx.Err() == nil {
			cfg.Logger.Warn("lease: writing it", "lease", cfg.Name, "err", err)
		}
		return 0, time.Time{}, false
	}
	return newRev, sent, ok
}

// hold runs work while renewing the lease, and returns when the lease is
// lost (nil), ctx ends (nil) or work fails on its own (its error), with the
// revision last written, once work has returned.
func hold(ctx context.Context, b Backend, cfg Config, rev uint64, since time.Time, work func(context.Context) error) (uint64, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- work(wctx) }()
	t := time.NewTicker(cfg.Renew)
	defer t.Stop()
	// The deadline is checked on its own timer too: a renewal stuck in the
	// store must not keep the work running past it.
	deadline := time.NewTimer(time.Until(since.Add(cfg.TTL - cfg.Margin)))
	defer deadline.Stop()
	for {
		select {
		case err := <-done:
			if wctx.Err() == nil {
				if err == nil {
					err = errors.New("stopped by itself")
				}
				return rev, fmt.Errorf("lease %s: background work: %w", cfg.Name, err)
			}
			return rev, nil
		case <-ctx.Done():
			stop()
			<-done
			return rev, nil
		case <-deadline.C:
			cfg.Logger.Warn("lease could not be renewed in time", "lease", cfg.Name)
			stop()
			<-done
			return 0, nil
		case <-t.C:
		}
		// Renew with a bound shorter than what is left, so that the
		// deadline timer is not starved by a hung call.
		rctx, cancel := context.WithDeadline(ctx, since.Add(cfg.TTL-cfg.Margin))
		newRev, sent, ok := swap(rctx, b, cfg, rev)
		if !ok && rctx.Err() == nil {
			// Lost, or a renewal that was written although its answer was
			// lost: the record tells which.
			if holder, cur, err := b.ReadLease(rctx, cfg.Name); err == nil {
				if holder != cfg.Holder {
					cancel()
					stop()
					<-done
					return 0, nil
				}
				rev = cur
				newRev, sent, ok = swap(rctx, b, cfg, rev)
			}
		}
		cancel()
		if ok {
			rev, since = newRev, sent
			deadline.Reset(time.Until(since.Add(cfg.TTL - cfg.Margin)))
		}
	}
}

// release gives the lease up so that a candidate takes it at its next poll
// instead of after the TTL. It is best effort: a lease not released expires.
func release(b Backend, cfg Config, rev uint64) {
	if rev == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Renew)
	defer cancel()
	if _, ok, err := b.SwapLease(ctx, cfg.Name, rev, ""); err != nil || !ok {
		cfg.Logger.Warn("lease: releasing it", "lease", cfg.Name, "released", ok, "err", err)
		return
	}
	cfg.Logger.Info("lease released", "lease", cfg.Name, "holder", cfg.Holder)
}
