package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	ofhttp "github.com/offerflow/offerflow/http"
)

// BenchmarkLimits measures what counting the limits costs a request that
// passes them, through the real router: /healthz (the address limit only)
// and an authenticated request (refused 403 after the token's limit, so
// that no query is measured), with the limits off and with every limit on
// (rates too high to refuse anything: only the counting is measured).
func BenchmarkLimits(b *testing.B) {
	counting := ofhttp.Limits{TokenRate: 1 << 30, AddressRate: 1 << 30, AuthFailures: 1 << 30, StreamsPerToken: 8}
	for _, bc := range []struct {
		name   string
		limits ofhttp.Limits
	}{{"Off", ofhttp.Limits{}}, {"On", counting}} {
		b.Run(bc.name, func(b *testing.B) {
			ts := MustOpenServer(b, func(o *Options) {
				o.NoProcesses = true
				o.Configure = func(c *ofhttp.Config) { c.Limits = bc.limits }
			})
			_, reseller := ts.NewReseller(b, "Bench")
			h := ts.Handler()
			for _, rc := range []struct {
				name, path, token string
				want              int
			}{{"Healthz", "/healthz", "", http.StatusOK}, {"Authenticated", "/v1/inbox/badge", reseller.Token, http.StatusForbidden}} {
				b.Run(rc.name, func(b *testing.B) {
					for b.Loop() {
						req := httptest.NewRequest("GET", rc.path, nil)
						if rc.token != "" {
							req.Header.Set("Authorization", "Bearer "+rc.token)
						}
						w := httptest.NewRecorder()
						h.ServeHTTP(w, req)
						if w.Code != rc.want {
							b.Fatalf("status %d", w.Code)
						}
					}
				})
			}
		})
	}
}
