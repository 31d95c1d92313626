package http_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	ofhttp "github.com/offerflow/offerflow/http"
)

// shedWorld is a server with bound commands in flight at most (0: none), a
// reseller with a customer and a template to send offers with, and the
// customer's client.
type shedWorld struct {
	ts                 *TestServer
	reseller, customer Client
	customerID         string
	offerBody          string
}

func newShedWorld(t *testing.T, bound int) shedWorld {
	t.Helper()
	ts := MustOpenServer(t, func(o *Options) {
		o.NoProcesses = true
		o.Configure = func(c *ofhttp.Config) { c.MaxCommandsInFlight = bound }
	})
	_, reseller := ts.NewReseller(t, "Busy Reseller")
	product := reseller.CreateProduct(t, "Module", 12)
	template := reseller.CreateTemplate(t, "Basics")
	reseller.AddItem(t, template, product, 12)
	id, customer := reseller.CreateCustomer(t, "Customer")
	return shedWorld{ts: ts, reseller: reseller, customer: customer, customerID: id,
		offerBody: fmt.Sprintf(`{"template_id":%q,"message":"held"}`, template)}
}

// holdOffer starts sending an offer on a connection of its own and stops
// halfway through its body, so that the command is in progress (it has
// passed every check before the body) until finish sends the rest and
// returns the answer's status.
func (w shedWorld) holdOffer(t *testing.T) (finish func() int) {
	t.Helper()
	conn, err := net.Dial("tcp", w.ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	half := len(w.offerBody) / 2
	fmt.Fprintf(conn, "POST /v1/customers/%s/offers HTTP/1.1\r\nHost: offerflow\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", w.customerID, w.reseller.Token, len(w.offerBody), w.offerBody[:half])
	return func() int {
		t.Helper()
		if _, err := conn.Write([]byte(w.offerBody[half:])); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
}

// offersCreated counts the offer.created events in the log.
func (w shedWorld) offersCreated(t *testing.T) int {
	t.Helper()
	evs, err := w.ts.Store.ReadAll(context.Background(), 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == "offer.created" {
			n++
		}
	}
	return n
}

// metric returns the value /metrics gives name (a metric without labels).
func (w shedWorld) metric(t *testing.T, name string) string {
	t.Helper()
	body := string(w.ts.As("").Must(t, 200, "GET", "/metrics", nil).Body)
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

func TestShed_CommandsOverTheBound(t *testing.T) {
	w := newShedWorld(t, 1)
	finish := w.holdOffer(t)
	Eventually(t, 10*time.Second, "the held offer to be in progress", func() bool {
		return w.metric(t, "offerflow_commands_in_flight") == "1"
	})
	headBefore := w.ts.Head(t)
	path := "/v1/customers/" + w.customerID + "/offers"

	t.Run("ShedWritingNothing", func(t *testing.T) {
		r := w.reseller.Do(t, "POST", path, w.offerBody, "Idempotency-Key", "shed-1")
		if r.Status != http.StatusServiceUnavailable || r.Code() != "unavailable" || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("got %s (Retry-After %q), want 503 unavailable with Retry-After 1", r, r.Header.Get("Retry-After"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q, want application/problem+json", ct)
		}
		// Every command, whoever sends it, counts against one bound.
		if r := w.customer.Do(t, "PUT", "/v1/webhook", map[string]string{"url": "http://127.0.0.1:1/hook"}); r.Status != http.StatusServiceUnavailable {
			t.Errorf("a customer's command while the bound is held: got %s, want 503", r)
		}
		if h := w.ts.Head(t); h != headBefore {
			t.Errorf("the log moved from %d to %d: a shed command wrote", headBefore, h)
		}
		if got := testutil.ToFloat64(w.ts.Metrics.CommandsShed); got != 2 {
			t.Errorf("offerflow_commands_shed_total %v, want 2", got)
		}
	})

	t.Run("ReadsNotShed", func(t *testing.T) {
		w.customer.Must(t, 200, "GET", "/v1/inbox", nil)
		w.customer.Must(t, 200, "GET", "/v1/inbox/badge", nil)
		w.reseller.Must(t, 200, "GET", "/v1/offers", nil)
		w.ts.As("").Must(t, 200, "GET", "/healthz", nil)
		w.ts.As("").Must(t, 200, "GET", "/readyz", nil)
	})

	if st := finish(); st != http.StatusAccepted {
		t.Fatalf("the held offer: got %d, want 202", st)
	}
	if n := w.offersCreated(t); n != 1 {
		t.Fatalf("%d offers in the log after the held one was answered, want 1", n)
	}

	t.Run("SentAgainAfterwards", func(t *testing.T) {
		// The slot frees once the held command has returned, which its
		// client may see a moment before the server has counted it out.
		var first Response
		Eventually(t, 10*time.Second, "the shed offer to be accepted when sent again", func() bool {
			first = w.reseller.Do(t, "POST", path, w.offerBody, "Idempotency-Key", "shed-1")
			return first.Status != http.StatusServiceUnavailable
		})
		if first.Status != http.StatusAccepted {
			t.Fatalf("sent again: got %s, want 202", first)
		}
		// The 503 was not kept under the key: this 202 is, and a replay
		// answers it without writing a third offer.
		replay := w.reseller.Must(t, 202, "POST", path, w.offerBody, "Idempotency-Key", "shed-1")
		if a, b := first.Map(t)["id"], replay.Map(t)["id"]; a != b {
			t.Errorf("the replay answered offer %v, the first 202 offer %v", b, a)
		}
		if n := w.offersCreated(t); n != 2 {
			t.Errorf("%d offers in the log, want 2: the held one and the one sent again", n)
		}
		if v := w.metric(t, "offerflow_commands_in_flight"); v != "0" {
			t.Errorf("offerflow_commands_in_flight %s once every command was answered, want 0", v)
		}
	})
}

// TestShed_NoBound: with MaxCommandsInFlight 0 (the Config's zero value),
// a command in progress does not hold another one back.
func TestShed_NoBound(t *testing.T) {
	w := newShedWorld(t, 0)
	finish := w.holdOffer(t)
	// The held request must have reached the server before the other is
	// sent, or the test would pass whatever the bound.
	time.Sleep(200 * time.Millisecond)
	w.reseller.Must(t, 202, "POST", "/v1/customers/"+w.customerID+"/offers", w.offerBody)
	if st := finish(); st != http.StatusAccepted {
		t.Fatalf("the held offer: got %d, want 202", st)
	}
	if testutil.ToFloat64(w.ts.Metrics.CommandsShed) != 0 {
		t.Error("commands shed without a bound")
	}
}
