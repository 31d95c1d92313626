package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	ofhttp "github.com/offerflow/offerflow/http"
)

func TestHealth(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	anon := ts.As("")
	anon.Must(t, 200, "GET", "/healthz", nil)
	anon.Must(t, 200, "GET", "/readyz", nil)
	if got := anon.Do(t, "GET", "/v1/nothing-here", nil); got.Status != 404 && got.Status != 401 {
		t.Fatalf("unknown path: %s", got)
	}
	if got := anon.Do(t, "PUT", "/healthz", nil); got.Status != 405 || got.Code() != "method_not_allowed" || got.Header.Get("Allow") != "GET" {
		t.Fatalf("wrong method: %s (Allow %q)", got, got.Header.Get("Allow"))
	}
}

func TestReadyz_NotReady(t *testing.T) {
	srv, err := ofhttp.NewServer(ofhttp.Config{
		Commands: nil,
	})
	if err == nil || srv != nil {
		t.Fatal("a server without dependencies was created")
	}
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	// A second server over the same dependencies whose readiness fails.
	notReady, err := ofhttp.NewServer(ofhttp.Config{
		Addr: "127.0.0.1:0", Commands: ts.Service, Queries: ts.Reads, History: ts.Reads,
		Log: ts.Log, Sessions: ts.Sessions, Idempotency: ts.Idem,
		Ready: func(context.Context) error { return errors.New("projections behind") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := notReady.Open(); err != nil {
		t.Fatal(err)
	}
	defer notReady.Close()
	resp, err := http.Get(notReady.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.Contains(string(b), "projections behind") {
		t.Fatalf("readyz: %d %s", resp.StatusCode, b)
	}
}

func TestMetrics(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	w.ResellerC.Do(t, "POST", "/v1/offers/"+w.Offer+"/redeliver", nil) // 409
	hook := newWebhook(1)
	hook.Release()
	defer hook.Close()
	id, c := w.ResellerC.CreateCustomer(t, "Hooked")
	c.Must(t, 200, "PUT", "/v1/webhook", map[string]string{"url": hook.URL})
	w.ResellerC.WaitStatus(t, w.ResellerC.SendOffer(t, id, w.Template, ""), "waiting_for_confirmation")
	s := openStream(t, w.ResellerC, "", false)
	defer s.Close()

	wants := []string{
		`offerflow_command_duration_seconds_count{command="offer_create",outcome="ok"}`,
		`offerflow_command_duration_seconds_count{command="offer_redeliver",outcome="invalid_transition"} 1`,
		`offerflow_http_requests_total{route="/v1/offers/{id}",status="200"}`,
		"offerflow_log_head_position " + strconv.FormatUint(ts.Head(t), 10),
		`offerflow_projector_position{projector=`,
		`offerflow_projector_lag{projector=`,
		"offerflow_append_conflicts_total",
		"offerflow_delivery_attempts_total 2",
		"offerflow_delivery_failures_total 1",
		`offerflow_deliveries_total{outcome="delivered"}`,
		"offerflow_stream_connections 1",
		"go_goroutines",
	}
	// The delivery counters are fed after the fact: poll a little.
	var body string
	missing := wants
	for deadline := time.Now().Add(5 * time.Second); len(missing) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		body = string(ts.As("").Must(t, 200, "GET", "/metrics", nil).Body)
		missing = nil
		for _, want := range wants {
			if !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
	}
	for _, m := range missing {
		t.Errorf("/metrics lacks %s", m)
	}
	if strings.Contains(body, w.ResellerC.Token) {
		t.Fatal("/metrics holds a token")
	}
}

// TestShutdown checks that a graceful shutdown answers every command in
// flight and that every acknowledged command is in the log.
func TestShutdown(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []string
	)
	start := make(chan struct{})
	for i := range 4 {
		wg.Go(func() {
			<-start
			for j := 0; ; j++ {
				req, _ := http.NewRequest("POST", ts.URL()+"/v1/customers", strings.NewReader(`{"name":"C`+strconv.Itoa(i)+`-`+strconv.Itoa(j)+`"}`))
				req.Header.Set("Authorization", "Bearer "+r.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, string(b))
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no command was acknowledged before the shutdown")
	}
	evs, err := ts.Store.ReadAll(context.Background(), 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range evs {
		if e.Type == domain.TypeCustomerRegistered {
			stored[strings.TrimPrefix(e.Stream, "customer-")] = true
		}
	}
	for _, b := range acked {
		var c struct{ ID string }
		if err := json.Unmarshal([]byte(b), &c); err != nil || !stored[c.ID] {
			t.Fatalf("acknowledged customer %s is not in the log", b)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogs checks that there is a line per request and that no token, good
// or bad, ends up in the log.
func TestLogs(t *testing.T) {
	var buf lockedBuffer
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.LogTo = &buf })
	_, r := ts.NewReseller(t, "R")
	r.Must(t, 201, "POST", "/v1/templates", map[string]string{"name": "T"})
	ts.As("ofr_guessed-token-value").Must(t, 401, "GET", "/v1/templates", nil)
	ts.As("").Must(t, 200, "GET", "/v1/templates", nil, "Cookie", "offerflow_session="+r.Token)
	r.Must(t, 200, "GET", "/v1/templates?cursor=", nil)
	out := buf.String()
	for _, secret := range []string{r.Token, operatorToken, "ofr_guessed-token-value", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"route":"/v1/templates"`, `"status":401`, `"code":"unauthenticated"`, `"role":"reseller"`, `"request_id"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}
