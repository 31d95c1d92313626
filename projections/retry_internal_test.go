package projections

import (
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

func TestProcessRetry(t *testing.T) {
	const backoff = 20 * time.Millisecond
	retry := processRetry(middleware.Retry{MaxRetries: 4, InitialInterval: backoff, MaxInterval: time.Minute, Multiplier: 2})

	t.Run("WaitsDouble", func(t *testing.T) {
		var calls []time.Time
		_, err := retry(func(*message.Message) ([]*message.Message, error) {
			calls = append(calls, time.Now())
			if len(calls) < 4 {
				return nil, errors.New("store busy")
			}
			return nil, nil
		})(message.NewMessage("m", nil))
		if err != nil || len(calls) != 4 {
			t.Fatalf("err %v after %d calls, want success on the 4th", err, len(calls))
		}
		for i := 1; i < len(calls); i++ {
			gap, want := calls[i].Sub(calls[i-1]), backoff<<(i-1)
			if gap < want*9/10 || gap >= want*19/10 {
				t.Errorf("wait %d = %v, want about %v", i, gap, want)
			}
		}
	})

	t.Run("GivesUpAfterMaxRetries", func(t *testing.T) {
		calls := 0
		busy := errors.New("store busy")
		_, err := retry(func(*message.Message) ([]*message.Message, error) {
			calls++
			return nil, busy
		})(message.NewMessage("m", nil))
		if !errors.Is(err, busy) || calls != 5 {
			t.Errorf("err %v after %d calls, want the handler's error after 1 + 4 retries", err, calls)
		}
	})

	t.Run("PermanentNotRetried", func(t *testing.T) {
		calls := 0
		cause := errors.New("undecodable")
		start := time.Now()
		_, err := retry(func(*message.Message) ([]*message.Message, error) {
			calls++
			return nil, processPermanent(cause)
		})(message.NewMessage("m", nil))
		if calls != 1 || !errors.Is(err, cause) || !processIsPermanent(err) {
			t.Errorf("err %v after %d calls, want the permanent error after one call", err, calls)
		}
		if d := time.Since(start); d >= backoff {
			t.Errorf("returned after %v, want no wait", d)
		}
	})
}
