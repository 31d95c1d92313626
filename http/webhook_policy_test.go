package http_test

import (
	"testing"

	ofhttp "github.com/offerflow/offerflow/http"
)

// TestWebhook_AddressPolicy is defect 10 of issue 8 through the API: a
// webhook at an address of a special-purpose block is refused when it is
// set (422 on url, nothing written), not only when it is called; public
// addresses are accepted.
func TestWebhook_AddressPolicy(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) {
		o.NoProcesses = true
		o.Configure = func(c *ofhttp.Config) { c.AllowInsecureWebhooks = false }
	})
	_, r := ts.NewReseller(t, "Policy Reseller")
	_, c := r.CreateCustomer(t, "Policy Customer")
	for _, url := range []string{
		"https://[::127.0.0.1]/hook",
		"https://0.0.0.1/hook",
		"https://[2002:7f00:1::1]/hook",
		"https://[64:ff9b:1::1]/hook",
		"https://[fec0::1]/hook",
		"https://198.18.0.1/hook",
		"https://240.0.0.1/hook",
		"https://255.255.255.255/hook",
	} {
		before := ts.Head(t)
		resp := c.Do(t, "PUT", "/v1/webhook", map[string]string{"url": url})
		if resp.Status != 422 || resp.Code() != "validation_failed" {
			t.Errorf("PUT /v1/webhook %s: %s, want 422 validation_failed", url, resp)
		}
		if wrote := ts.Wrote(t, before, resp); len(wrote) != 0 {
			t.Errorf("PUT /v1/webhook %s wrote %v", url, wrote)
		}
	}
	c.Must(t, 404, "GET", "/v1/webhook", nil)
	for _, url := range []string{"https://8.8.8.8/hook", "https://[2606:4700::1111]/hook", "https://hooks.example.com/hook"} {
		c.Must(t, 200, "PUT", "/v1/webhook", map[string]string{"url": url})
	}
}
