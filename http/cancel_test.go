package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestClientClosed: a client that gives up during a min_position wait is
// counted as 499 client_closed, logged without an error line, and never as
// a 500 internal.
func TestClientClosed(t *testing.T) {
	var logs lockedBuffer
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.LogTo = &logs })
	_, reseller := ts.NewReseller(t, "Impatient")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL()+"/v1/products?min_position=999999999", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+reseller.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the client gave up", resp.StatusCode)
	}

	closed := ts.Metrics.Requests.WithLabelValues("/v1/products", "499")
	Eventually(t, 5*time.Second, "the request to be counted as 499", func() bool { return testutil.ToFloat64(closed) == 1 })
	if n := testutil.ToFloat64(ts.Metrics.Requests.WithLabelValues("/v1/products", "500")); n != 0 {
		t.Fatalf("%v requests counted as 500", n)
	}
	// observe counts the request before it writes its line: wait for the
	// line too (read at once, it was missing in a loaded full run).
	Eventually(t, 5*time.Second, "the request's log line", func() bool { return strings.Contains(logs.String(), `"status":499`) })
	out := logs.String()
	if strings.Contains(out, `"level":"ERROR"`) {
		t.Fatalf("a client that gave up was logged as an error:\n%s", out)
	}
	if !strings.Contains(out, `"status":499`) || !strings.Contains(out, `"code":"client_closed"`) {
		t.Fatalf("no request line with status 499 client_closed:\n%s", out)
	}
}
