package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ohttp "github.com/offerflow/offerflow/http"
)

// webhookCounter is a customer's system: it answers every notification 2xx
// and counts them by webhook-id (one offer.dispatched, one id). It answers
// after a second, as a slow receiver would: two nodes both delivering would
// then both call it before either records the delivery (a quick receiver
// lets the second node find the offer delivered and skip it, which hid the
// double delivery this test is about).
type webhookCounter struct {
	mu    sync.Mutex
	byID  map[string]int
	total int
}

func (w *webhookCounter) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	w.byID[r.Header.Get("webhook-id")]++
	w.total++
	w.mu.Unlock()
	select {
	case <-time.After(time.Second):
	case <-r.Context().Done():
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *webhookCounter) counts() (map[string]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.byID))
	for k, v := range w.byID {
		out[k] = v
	}
	return out, w.total
}

// node is one serve process of the pair, and its API.
type node struct {
	name string
	proc *child
	api  *api
}

// TestServe_TwoNodesOneLog is issue 11's done-when: two serve processes on
// one shared SQLite log, each with its own data directory. An offer sent
// through one is read and accepted through the other (min_position from the
// first's X-Log-Position), both read models agree, a webhook receiver counts
// exactly one notification per offer while both run, and after SIGKILL of
// the node holding the background-work lease, offers sent through the other
// are delivered within 20 seconds. The lease runs at its default TTL (10 s).
func TestServe_TwoNodesOneLog(t *testing.T) {
	t.Setenv(runAsProgramEnv, "1")
	ctx := t.Context()
	root := t.TempDir()
	logPath := filepath.Join(root, "shared", "log.db")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	operator, _ := ohttp.NewToken()
	hooks := &webhookCounter{byID: map[string]int{}}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)

	start := func(name string) *node {
		c := newChild(os.Args[0], nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(root, name),
			"--eventstore", "sqlite://"+logPath, "--operator-token", operator, "--allow-insecure-webhooks")
		if err := c.start(ctx); err != nil {
			t.Fatalf("start node %s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.stop(syscall.SIGKILL) })
		return &node{name: name, proc: c, api: &api{srv: c, client: &http.Client{Timeout: 30 * time.Second}}}
	}
	a, b := start("a"), start("b")

	f, err := a.api.setup(ctx, operator, 2)
	if err != nil {
		t.Fatalf("setup through a: %v", err)
	}
	for _, c := range f.customers {
		if _, err := b.api.must(ctx, f.customerToken[c], 200, "PUT", "/v1/webhook", map[string]any{"url": receiver.URL}); err != nil {
			t.Fatalf("webhook through b: %v", err)
		}
	}

	// send sends an offer through n and returns its id and X-Log-Position.
	n := 0
	send := func(through *node) (string, string) {
		t.Helper()
		n++
		customer := f.customers[n%len(f.customers)]
		res, ok := through.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+customer+"/offers",
			fmt.Sprintf("two-nodes-%d", n), map[string]any{"template_id": f.template, "message": "hello"})
		if !ok || res.status != http.StatusAccepted {
			t.Fatalf("send through %s: %d %v", through.name, res.status, res.body)
		}
		return fmt.Sprint(res.body["id"]), res.header.Get("X-Log-Position")
	}
	// offer reads an offer through n, at least at position pos.
	offer := func(through *node, id, pos string) map[string]any {
		t.Helper()
		body, err := through.api.must(ctx, f.resellerToken, 200, "GET", "/v1/offers/"+id+"?min_position="+pos, nil)
		if err != nil {
			t.Fatalf("read through %s: %v", through.name, err)
		}
		return body
	}
	// delivered waits until n reads the offer as delivered, up to within.
	delivered := func(through *node, id string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			if s := offer(through, id, "0")["status"]; s != "waiting" {
				if s != "waiting_for_confirmation" {
					t.Fatalf("offer %s through %s is %v, want waiting_for_confirmation", id, through.name, s)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("offer %s not delivered within %v", id, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The live stream on b carries what is written through a.
	live := followStream(t, b, f.resellerToken)

	// While both run: sent through a, read and accepted through b.
	var ids []string
	for i := range 4 {
		id, pos := send(a)
		if i == 0 {
			live.want(t, id)
		}
		if got := offer(b, id, pos); got["id"] != id {
			t.Fatalf("b at a's position %s reads offer %v, want %s", pos, got["id"], id)
		}
		delivered(b, id, 30*time.Second)
		customer := fmt.Sprint(offer(b, id, "0")["customer_id"])
		res, ok := b.api.call(ctx, f.customerToken[customer], "POST", "/v1/inbox/"+id+"/accept", "accept-"+id, map[string]any{})
		if !ok || res.status != http.StatusOK {
			t.Fatalf("accept through b: %d %v", res.status, res.body)
		}
		at := res.header.Get("X-Log-Position")
		onA, onB := offer(a, id, at), offer(b, id, at)
		if onA["status"] != "accepted" || !reflect.DeepEqual(onA, onB) {
			t.Fatalf("the nodes disagree on offer %s at %s:\na: %v\nb: %v", id, at, onA, onB)
		}
		ids = append(ids, id)
	}
	// A retried create (same Idempotency-Key) reaching the other node is
	// replayed there, not made twice.
	first, _ := a.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+f.customers[0]+"/offers", "retried",
		map[string]any{"template_id": f.template, "message": "once"})
	again, _ := b.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+f.customers[0]+"/offers", "retried",
		map[string]any{"template_id": f.template, "message": "once"})
	if first.status != http.StatusAccepted || again.status != first.status || again.body["id"] != first.body["id"] {
		t.Fatalf("a retry through b of a create through a: %d %v, then %d %v; want the same offer replayed",
			first.status, first.body["id"], again.status, again.body["id"])
	}
	ids = append(ids, fmt.Sprint(first.body["id"]))
	delivered(a, ids[len(ids)-1], 30*time.Second)

	byID, total := hooks.counts()
	if len(byID) != len(ids) || total != len(ids) {
		t.Fatalf("while both nodes ran: %d notifications for %d webhook ids, want one for each of %d offers: %v", total, len(byID), len(ids), byID)
	}

	// SIGKILL the node holding the lease; the other must take the work over.
	leader, survivor := a, b
	if holder := leaseHolder(t, logPath); strings.Contains(holder, "/"+strconv.Itoa(b.proc.cmd.Process.Pid)+"/") {
		leader, survivor = b, a
	} else if !strings.Contains(holder, "/"+strconv.Itoa(a.proc.cmd.Process.Pid)+"/") {
		t.Fatalf("lease held by %q, neither node", holder)
	}
	if err := leader.proc.stop(syscall.SIGKILL); err == nil {
		t.Fatalf("node %s exited cleanly on SIGKILL", leader.name)
	}
	t.Logf("killed %s, the lease holder", leader.name)
	for range 3 {
		sent := time.Now()
		id, _ := send(survivor)
		delivered(survivor, id, 20*time.Second)
		t.Logf("sent through %s after the kill: delivered in %v", survivor.name, time.Since(sent).Round(time.Millisecond))
		ids = append(ids, id)
	}
	byID, total = hooks.counts()
	for id, n := range byID {
		if n != 1 {
			t.Errorf("webhook-id %s notified %d times, want once", id, n)
		}
	}
	if len(byID) != len(ids) {
		t.Errorf("%d webhook ids notified in all (%d calls), want %d", len(byID), total, len(ids))
	}
	if err := survivor.proc.stop(syscall.SIGTERM); err != nil {
		t.Errorf("node %s on SIGTERM: %v\n%s", survivor.name, err, survivor.proc.lastLines())
	}
	if leader.proc.raced() || survivor.proc.raced() {
		t.Error("the race detector spoke in a node")
	}
}

// leaseHolder reads who holds the processes lease in the shared log.
func leaseHolder(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var holder string
	if err := db.QueryRowContext(context.Background(), "SELECT holder FROM leases WHERE name = ?", processesLease).Scan(&holder); err != nil {
		t.Fatalf("read the lease: %v", err)
	}
	return holder
}

// liveStream is a reseller's /v1/stream on one node, its lines collected.
type liveStream struct {
	mu    sync.Mutex
	text  strings.Builder
	moved chan struct{}
}

// followStream opens /v1/stream on n and reads it in the background until
// the test ends.
func followStream(t *testing.T, n *node, token string) *liveStream {
	t.Helper()
	base, err := n.proc.base(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream on %s: %s", n.name, resp.Status)
	}
	l := &liveStream{moved: make(chan struct{}, 1)}
	go func() {
		defer func() { _ = resp.Body.Close() }()
		buf := make([]byte, 4096)
		for {
			k, err := resp.Body.Read(buf)
			l.mu.Lock()
			l.text.Write(buf[:k])
			l.mu.Unlock()
			select {
			case l.moved <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return l
}

// want waits until the stream has carried something naming id.
func (l *liveStream) want(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		seen := strings.Contains(l.text.String(), id)
		l.mu.Unlock()
		if seen {
			return
		}
		select {
		case <-l.moved:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the live stream did not carry offer %s within 30s", id)
		}
	}
}
