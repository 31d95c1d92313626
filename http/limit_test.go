package http_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/offerflow/offerflow/domain"
	ofhttp "github.com/offerflow/offerflow/http"
)

// withLimits starts a server with the given limits.
func withLimits(t *testing.T, l ofhttp.Limits) *TestServer {
	t.Helper()
	return MustOpenServer(t, func(o *Options) {
		o.NoProcesses = true
		o.Configure = func(c *ofhttp.Config) { c.Limits = l }
	})
}

// burst sends n requests from workers goroutines at once and returns the
// answers. Requests in parallel arrive together however slow the machine
// is, so a rate limit is reached whatever each answer costs.
func burst(n, workers int, send func(i int) Response) []Response {
	out := make([]Response, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				out[i] = send(i)
			}
		})
	}
	wg.Wait()
	return out
}

// firstLimited returns the first 429 among rs, failing the test if none.
func firstLimited(t *testing.T, rs []Response) Response {
	t.Helper()
	for _, r := range rs {
		if r.Status == http.StatusTooManyRequests {
			return r
		}
	}
	t.Fatalf("no 429 in %d requests", len(rs))
	return Response{}
}

// assertLimited checks a 429: rate_limited, with Retry-After.
func assertLimited(t *testing.T, r Response, retryAfter string) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.Code() != "rate_limited" || r.Header.Get("Retry-After") != retryAfter {
		t.Fatalf("got %s (Retry-After %q), want 429 rate_limited with Retry-After %s", r, r.Header.Get("Retry-After"), retryAfter)
	}
}

func TestLimits_Token(t *testing.T) {
	ts := withLimits(t, ofhttp.Limits{TokenRate: 5})
	_, reseller := ts.NewReseller(t, "Busy")
	_, other := ts.NewReseller(t, "Calm")

	rs := burst(40, 8, func(i int) Response {
		return reseller.Do(t, "POST", "/v1/products", map[string]any{"name": fmt.Sprintf("P%d", i), "kind": "module", "license_terms_months": []int{12}})
	})
	assertLimited(t, firstLimited(t, rs), "1")
	// Every 201 wrote one product, every 429 nothing.
	created := 0
	for _, r := range rs {
		if r.Status == http.StatusCreated {
			created++
		}
	}
	evs, err := ts.Store.ReadAll(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, e := range evs {
		if e.Type == domain.TypeProductAdded {
			added++
		}
	}
	if added != created {
		t.Fatalf("%d products in the log after %d answers 201: a refused command wrote", added, created)
	}
	// Another token is not held back by this one.
	other.Must(t, 200, "GET", "/v1/products", nil)
	// The limit is a rate: a second later the token is served again.
	Eventually(t, 5*time.Second, "the token to be served again", func() bool {
		return reseller.Do(t, "GET", "/v1/products", nil).Status == http.StatusOK
	})
	if got := testutil.ToFloat64(ts.Metrics.RateLimited.WithLabelValues("token")); got < 1 {
		t.Fatalf("offerflow_rate_limited_total{limit=token} = %v", got)
	}
}

func TestLimits_Address(t *testing.T) {
	ts := withLimits(t, ofhttp.Limits{AddressRate: 10})
	rs := burst(60, 8, func(int) Response { return ts.As("").Do(t, "GET", "/healthz", nil) })
	assertLimited(t, firstLimited(t, rs), "1")
}

// TestLimits_AuthFailures: after AuthFailures refused credentials from one
// address, every request of that address with a credential is 429, a right
// one included, whether it comes as a bearer token, a cookie or a sign-in;
// requests without a credential are still served.
func TestLimits_AuthFailures(t *testing.T) {
	const allowed = 5
	ts := withLimits(t, ofhttp.Limits{AuthFailures: allowed})
	bad := ts.As("ofr_guess-0123456789")
	for i := range allowed {
		if r := bad.Do(t, "GET", "/v1/products", nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %s, want 401", i+1, r)
		}
	}
	assertLimited(t, bad.Do(t, "GET", "/v1/products", nil), "60")
	assertLimited(t, ts.Operator().Do(t, "POST", "/v1/resellers", map[string]string{"name": "Right token"}), "60")
	assertLimited(t, signIn(t, ts, "ofr_another-guess"), "60")
	ts.As("").Must(t, 200, "GET", "/healthz", nil)
	ts.As("").Must(t, 401, "GET", "/v1/products", nil)
}

// TestLimits_AuthFailuresBySignIn: wrong tokens given to the web UI's
// sign-in count as failed guesses too.
func TestLimits_AuthFailuresBySignIn(t *testing.T) {
	const allowed = 3
	ts := withLimits(t, ofhttp.Limits{AuthFailures: allowed})
	for i := range allowed {
		if r := signIn(t, ts, "ofr_guess"); r.Status != http.StatusUnauthorized {
			t.Fatalf("sign-in %d: %d, want 401", i+1, r.Status)
		}
	}
	assertLimited(t, ts.Operator().Do(t, "GET", "/v1/openapi.json", nil), "60")
}

// signIn posts the web UI's sign-in form.
func signIn(t *testing.T, ts *TestServer, token string) Response {
	t.Helper()
	resp, err := http.PostForm(ts.URL()+"/session", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func TestLimits_StreamsPerToken(t *testing.T) {
	ts := withLimits(t, ofhttp.Limits{StreamsPerToken: 2})
	_, reseller := ts.NewReseller(t, "Listener")
	_, other := ts.NewReseller(t, "Other")
	first := openStream(t, reseller, "", false)
	openStream(t, reseller, "", false)
	assertLimited(t, streamStatus(t, reseller), "10")
	openStream(t, other, "", false)

	// A slot frees when a stream ends.
	first.Close()
	Eventually(t, 5*time.Second, "a stream slot to free", func() bool {
		return streamStatus(t, reseller).Status == http.StatusOK
	})
}

// TestLimits_TemplateItems: a template holds at most MaxItemsPerTemplate
// items; one more is 422 on items and writes nothing.
func TestLimits_TemplateItems(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, reseller := ts.NewReseller(t, "Full")
	template := reseller.CreateTemplate(t, "Everything")
	// A template holds a product in a term once: one product per item.
	for i := range domain.MaxItemsPerTemplate {
		reseller.AddItem(t, template, reseller.CreateProduct(t, fmt.Sprintf("Module %d", i), 12), 12)
	}
	product := reseller.CreateProduct(t, "One too many", 12)
	before := ts.Head(t)
	r := reseller.Must(t, 422, "POST", "/v1/templates/"+template+"/items", map[string]any{"product_id": product, "term_months": 12})
	if r.Code() != "validation_failed" || !strings.Contains(string(r.Body), `"field":"items"`) {
		t.Fatalf("got %s, want validation_failed on items", r)
	}
	if after := ts.Head(t); after != before {
		t.Fatalf("head %d -> %d", before, after)
	}
}

// TestLimits_ConnectionsPerAddress: a connection beyond the cap is closed
// at once, without an answer; once one of the others closes, a new one is
// served.
func TestLimits_ConnectionsPerAddress(t *testing.T) {
	const allowed = 3
	ts := withLimits(t, ofhttp.Limits{ConnectionsPerAddress: allowed})
	var held []net.Conn
	for range allowed {
		held = append(held, rawRequest(t, ts, "GET /healthz HTTP/1.1\nHost: x", ""))
	}
	for _, c := range held {
		if resp, _ := readReply(t, c, bufio.NewReader(c), 5*time.Second); resp.StatusCode != http.StatusOK {
			t.Fatalf("a connection under the cap: %d", resp.StatusCode)
		}
	}
	extra := rawRequest(t, ts, "GET /healthz HTTP/1.1\nHost: x", "")
	assertClosed(t, extra, bufio.NewReader(extra), 5*time.Second)
	if got := testutil.ToFloat64(ts.Metrics.RateLimited.WithLabelValues("connections")); got != 1 {
		t.Fatalf("offerflow_rate_limited_total{limit=connections} = %v", got)
	}

	_ = held[0].Close()
	Eventually(t, 5*time.Second, "a connection slot to free", func() bool {
		c, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == http.StatusOK
	})
}
