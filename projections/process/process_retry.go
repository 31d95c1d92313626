package process

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// processRetry calls op until it succeeds, fails with an error marked
// permanent (returned at once), ctx ends, or tries calls were made (the
// last error is returned). The waits between calls are initial, then each
// twice the one before up to maxWait, each spread by up to jitter (a
// fraction) either way.
func processRetry(ctx context.Context, tries int, initial, maxWait time.Duration, jitter float64, op func() error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = initial, maxWait
	b.Multiplier, b.RandomizationFactor = 2, jitter
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := op()
		if err != nil && processIsPermanent(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(max(tries, 1))), backoff.WithMaxElapsedTime(0))
	// A permanent error on the last try comes back still wrapped.
	var pe *backoff.PermanentError
	if errors.As(err, &pe) {
		err = pe.Unwrap()
	}
	return err
}

// retryStores is processRetry with the handlers' schedule for transient
// failures of the stores: 1 + HandlerRetries calls, from HandlerBackoff.
func retryStores(ctx context.Context, cfg ProcessConfig, op func() error) error {
	return processRetry(ctx, 1+cfg.HandlerRetries, cfg.HandlerBackoff, time.Minute, 0, op)
}
