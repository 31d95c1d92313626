package process_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// TestDelivery_BackoffDoubles checks the contract's schedule: the first
// retry WebhookBackoff after the first failure, each further wait twice the
// one before, and WebhookAttempts tries in all before delivery_failed. The
// bounds are loose enough for a loaded machine, yet a schedule growing
// fourfold (each wait consumed twice from the backoff) fails them.
func TestDelivery_BackoffDoubles(t *testing.T) {
	e := newProcessEnv(t, nil)
	hook := newHookServer(t, func(int) int { return http.StatusServiceUnavailable })
	hook.setSecret(e.setWebhook(t, hook.URL))
	const (
		attempts = 5
		// Each try starts with a scan of the queue and reads of the offer and
		// the customer: 100ms leaves room for those on a loaded machine.
		backoff = 100 * time.Millisecond
	)
	cfg := fastRetries(attempts)
	cfg.WebhookBackoff = backoff
	p := e.start(t, cfg)

	id := e.createOffer(t, nil)
	// 100+200+400+800 ms as specified; 200+800+3200+12800 ms fourfold.
	v := e.waitStatus(t, id, domain.StatusDeliveryFailed, 20*time.Second)
	e.waitIdle(t, p)
	calls := hook.Calls()
	if len(calls) != attempts {
		t.Fatalf("webhook called %d times before delivery_failed, want %d", len(calls), attempts)
	}
	failed := e.ofType(t, domain.OfferStream(id), domain.TypeOfferDeliveryFailed)
	if len(failed) != 1 || decode[domain.OfferDeliveryFailed](t, failed[0]).Attempts != attempts {
		t.Errorf("delivery_failed events %+v, want one counting %d attempts", failed, attempts)
	}
	if !strings.Contains(v.DeliveryError, "HTTP 503") {
		t.Errorf("delivery_error = %q, want the last status", v.DeliveryError)
	}
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].at.Sub(calls[i-1].at))
	}
	t.Logf("waits between tries with a %v backoff: %v", backoff, gaps)
	// A timer never fires early, so each wait has a lower bound; a loaded
	// machine only makes tries late, so the upper bound is on the whole
	// schedule: 1.5 s as specified, 17 s when the waits grow fourfold.
	var total, specified time.Duration
	for i, gap := range gaps {
		want := backoff << i
		specified += want
		total += gap
		if gap < want*9/10 {
			t.Errorf("wait %d = %v, want at least %v (backoff doubling from %v)", i+1, gap, want, backoff)
		}
	}
	if total >= 4*specified {
		t.Errorf("the waits took %v in all, want about %v (backoff doubling from %v)", total, specified, backoff)
	}
}
