package http_test

import (
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
)

// ended reports whether the stream ends within d; comments and events
// before the end are passed over.
func (s *sse) ended(d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// TestStream_EndsWhenTheTokenIsRevoked: an open stream re-checks its token
// every StreamRecheck and ends once the token is revoked, whether it came in
// the Authorization header or the session cookie. A stream whose token
// stays valid stays open.
func TestStream_EndsWhenTheTokenIsRevoked(t *testing.T) {
	const recheck = 100 * time.Millisecond
	ts := MustOpenServer(t, func(o *Options) {
		o.NoProcesses = true
		o.Heartbeat = 50 * time.Millisecond
		o.Configure = func(c *ofhttp.Config) { c.StreamRecheck = recheck }
	})
	_, reseller := ts.NewReseller(t, "Streams")
	customer, _ := reseller.CreateCustomer(t, "Listener")

	for _, cookie := range []bool{false, true} {
		name := map[bool]string{false: "Header", true: "Cookie"}[cookie]
		t.Run(name, func(t *testing.T) {
			revoked := ts.NewToken(t, "customer", customer)
			kept := ts.NewToken(t, "customer", customer)
			gone, stays := openStream(t, revoked, "", cookie), openStream(t, kept, "", cookie)
			if gone.ended(3 * recheck) {
				t.Fatal("the stream of a valid token ended")
			}

			ts.Operator().Must(t, 204, "POST", "/v1/tokens/revoke", map[string]string{"token": revoked.Token})
			if !gone.ended(5 * time.Second) {
				t.Fatal("the stream of a revoked token is still open after 5 s")
			}
			if stays.ended(5 * recheck) {
				t.Fatal("the stream of a token that was not revoked ended")
			}
			revoked.Must(t, 401, "GET", "/v1/stream", nil)
		})
	}
}
