package http_test

import (
	"strings"
	"testing"
)

// TestIdempotencyKey_RanksAfterThePath: a malformed Idempotency-Key is a
// 422, and the contract answers 404 for the path's resource first, even
// though the key is checked in middleware before the handler runs.
func TestIdempotencyKey_RanksAfterThePath(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	bad := strings.Repeat("k", 1000)
	cases := []struct {
		name  string
		offer string
		want  int
	}{
		{"an offer that does not exist", "00000000-0000-0000-0000-000000000000", 404},
		{"another reseller's offer", w.ForeignOffer, 404},
		{"the reseller's own offer", w.Offer, 422},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := w.ResellerC.Must(t, c.want, "POST", "/v1/offers/"+c.offer+"/withdraw", `{}`, "Idempotency-Key", bad)
			if c.want == 422 && !strings.Contains(string(got.Body), `"field":"Idempotency-Key"`) {
				t.Fatalf("422 names another field: %s", got.Body)
			}
		})
	}
	// Nothing was withdrawn by the refused requests.
	w.ResellerC.WaitStatus(t, w.Offer, "waiting_for_confirmation")
}
