package projections

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// processRetry is Watermill's Retry middleware r, except that an error
// marked permanent (processPermanent) ends the retries at once and is
// returned as it is. The waits are exactly r's schedule: InitialInterval,
// then each wait Multiplier times the one before (up to MaxInterval), spread
// by RandomizationFactor.
//
// Retry's own ShouldRetry is not used for the permanent errors, and r must
// set neither it nor OnRetryHook: Watermill v1.5.1 fills RetryParams.Delay
// (and OnRetryHook's delay) by calling NextBackOff on the same backoff that
// times the waits, so every failure consumed an interval of its own and the
// waits grew by Multiplier squared (2, 8, 32 times the initial interval
// instead of 1, 2, 4 with a doubling backoff). Instead, the handler under
// Retry reports a permanent failure as a success, which stops Retry without
// a wait, and the failure is returned once Retry has returned.
func processRetry(r middleware.Retry) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			var permanent error
			retried := r.Middleware(func(msg *message.Message) ([]*message.Message, error) {
				out, err := h(msg)
				if err != nil && processIsPermanent(err) {
					permanent = err
					return out, nil
				}
				return out, err
			})
			out, err := retried(msg)
			if permanent != nil {
				return out, permanent
			}
			return out, err
		}
	}
}
