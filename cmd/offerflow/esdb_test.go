package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/offerflow/offerflow/eventstore/esdb"
	"github.com/offerflow/offerflow/eventstore/esdb/esdbemulator"
	"github.com/offerflow/offerflow/eventstore/seal"
	ohttp "github.com/offerflow/offerflow/http"
)

// TestServe_TwoNodesOnEventStoreDB starts two serve processes on one
// EventStoreDB log (the in-process emulator) and sends requests with an
// Idempotency-Key through one node and their retries through the other:
// the retry is replayed from the records in the cluster, byte for byte,
// including a POST /v1/tokens, whose second run would issue a second token;
// the key with another body is refused. The nodes share no file but the
// secret: the customers' keys are in the cluster, so an offer's message
// sent through a reads in the clear through b, and an erasure through b
// holds on a, whose cache had the key.
func TestServe_TwoNodesOnEventStoreDB(t *testing.T) {
	t.Setenv(runAsProgramEnv, "1")
	ctx := t.Context()
	em, err := esdbemulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Close() })
	root := t.TempDir()
	shared := filepath.Join(root, "shared")
	if err := os.MkdirAll(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	operator, _ := ohttp.NewToken()
	start := func(name string) *node {
		c := newChild(os.Args[0], nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(root, name),
			"--eventstore", em.URL(), "--operator-token", operator,
			// What every node of a cluster shares besides the log: the
			// secret sealing the replies and wrapping the customers' keys,
			// which are in the cluster (no keys.db anywhere).
			"--secret-file", filepath.Join(shared, "server.secret"))
		if err := c.start(ctx); err != nil {
			t.Fatalf("start node %s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.stop(syscall.SIGKILL) })
		return &node{name: name, proc: c, api: &api{srv: c, client: &http.Client{Timeout: 30 * time.Second}}}
	}
	a := start("a")
	f, err := a.api.setup(ctx, operator, 1)
	if err != nil {
		t.Fatalf("setup through a: %v", err)
	}
	b := start("b")

	// twice sends one request through a, then its retry through b.
	twice := func(token, method, path, key string, body any) (first, again result) {
		t.Helper()
		first, ok := a.api.call(ctx, token, method, path, key, body)
		if !ok {
			t.Fatalf("%s %s through a: no answer", method, path)
		}
		again, ok = b.api.call(ctx, token, method, path, key, body)
		if !ok {
			t.Fatalf("%s %s through b: no answer", method, path)
		}
		return first, again
	}
	replayed := func(what string, first, again result, status int) {
		t.Helper()
		if first.status != status || again.status != status || !reflect.DeepEqual(first.body, again.body) {
			t.Fatalf("%s through a, then retried through b: %d %v, then %d %v; want %d twice, the same body",
				what, first.status, first.body, again.status, again.body, status)
		}
		if first.header.Get("Idempotency-Replayed") != "" || again.header.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("%s: Idempotency-Replayed %q then %q, want the retry marked replayed",
				what, first.header.Get("Idempotency-Replayed"), again.header.Get("Idempotency-Replayed"))
		}
		for _, h := range []string{"ETag", "X-Log-Position", "Location"} {
			if first.header.Get(h) != again.header.Get(h) {
				t.Errorf("%s: %s %q, replayed as %q", what, h, first.header.Get(h), again.header.Get(h))
			}
		}
	}

	customer := f.customers[0]
	offer := map[string]any{"template_id": f.template, "message": "once"}
	first, again := twice(f.resellerToken, "POST", "/v1/customers/"+customer+"/offers", "offer-1", offer)
	replayed("create offer", first, again, http.StatusAccepted)
	offerID, offerPos := fmt.Sprint(first.body["id"]), first.header.Get("X-Log-Position")

	// The same key with another body, through either node.
	for _, n := range []*node{a, b} {
		res, ok := n.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+customer+"/offers", "offer-1",
			map[string]any{"template_id": f.template, "message": "another"})
		if !ok || res.status != http.StatusUnprocessableEntity || res.body["code"] != "idempotency_key_reused" {
			t.Fatalf("key reused with another body through %s: %d %v, want 422 idempotency_key_reused", n.name, res.status, res.body)
		}
	}

	// A token's stream is named by the new token's random hash, so nothing
	// but the Idempotency-Key record keeps a retry from issuing a second one.
	tok := map[string]any{"role": "customer", "tenant": customer, "name": "retried"}
	first, again = twice(operator, "POST", "/v1/tokens", "token-1", tok)
	replayed("create token", first, again, http.StatusCreated)
	if first.body["token"] == nil || fmt.Sprint(first.body["token"]) == "" {
		t.Fatalf("no token in %v", first.body)
	}
	// The token the retry handed back works (through the node that did
	// not issue it, once it has caught up with a's write).
	if _, err := b.api.must(ctx, fmt.Sprint(again.body["token"]), 200, "GET", "/v1/inbox?min_position="+first.header.Get("X-Log-Position"), nil); err != nil {
		t.Fatalf("the replayed token through b: %v", err)
	}

	// The message sealed through a, under a key a made, opens through b.
	got, err := b.api.must(ctx, f.resellerToken, 200, "GET", "/v1/offers/"+offerID+"?min_position="+offerPos, nil)
	if err != nil || got["message"] != "once" || got["erased"] == true {
		t.Fatalf("the offer through b: %v (%v), want its message in the clear", got, err)
	}
	// Erased through b; a, which sealed with the key and holds it in its
	// cache, shows the message erased once it has read the erasure.
	erased, ok := b.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+customer+"/erase", "", nil)
	if !ok || erased.status != http.StatusOK {
		t.Fatalf("erase through b: %d %v", erased.status, erased.body)
	}
	pos := erased.header.Get("X-Log-Position")
	got, err = a.api.must(ctx, f.resellerToken, 200, "GET", "/v1/offers/"+offerID+"?min_position="+pos, nil)
	if err != nil || got["message"] != nil || got["erased"] != true {
		t.Fatalf("the offer through a after the erasure through b: %v (%v), want message null, erased", got, err)
	}
	// The offer's events, opened by a with the keys as a knows them now:
	// the key is forgotten, so the message shows as null.
	hist, err := a.api.must(ctx, f.resellerToken, 200, "GET", "/v1/offers/"+offerID+"/history", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range hist["items"].([]any) {
		if ev := ev.(map[string]any); ev["type"] == "offer.created" && (ev["erased"] != true || strings.Contains(fmt.Sprint(ev), "once")) {
			t.Fatalf("offer.created in a's history after the erasure through b: %v, want its message erased", ev)
		}
	}
	// a refuses new texts for the customer too.
	if res, _ := a.api.call(ctx, f.resellerToken, "POST", "/v1/customers/"+customer+"/offers", "", map[string]any{"template_id": f.template, "message": "after"}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("an offer for the erased customer through a: %d %v, want 422", res.status, res.body)
	}
	for _, n := range []*node{a, b} {
		if _, err := os.Stat(filepath.Join(root, n.name, keysFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("node %s has a %s (%v): the keys belong in the cluster", n.name, keysFile, err)
		}
	}

	for _, n := range []*node{a, b} {
		if err := n.proc.stop(syscall.SIGTERM); err != nil {
			t.Errorf("node %s on SIGTERM: %v\n%s", n.name, err, n.proc.lastLines())
		}
		if n.proc.raced() {
			t.Errorf("the race detector spoke in node %s", n.name)
		}
	}
}

// TestImportKeys: the keys.db an esdb:// deployment shared before the keys
// were kept in the cluster is copied into it (--keys on esdb://): live keys
// as they were, erasures as erasures (pending ones still pending); a second
// copy changes nothing, and a customer the cluster holds another key for is
// refused.
func TestImportKeys(t *testing.T) {
	ctx := t.Context()
	em, err := esdbemulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Close() })
	es, err := esdb.OpenConfig(ctx, esdb.Config{URL: em.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = es.Close() })
	cluster, err := es.Keys(ctx, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), keysFile)
	if err := importKeys(ctx, path, cluster); err == nil {
		t.Fatal("copied a key store that does not exist")
	}
	file, err := seal.OpenKeys(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := file.Key(ctx, "c1", true)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 6, 7, 8, 9, 123, time.UTC)
	for _, c := range []string{"c2", "c3"} {
		if _, _, err := file.Key(ctx, c, true); err != nil {
			t.Fatal(err)
		}
		if _, err := file.Destroy(ctx, c, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := file.Recorded(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}

	client, err := em.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	// lastInAll is the position of the cluster's newest event.
	lastInAll := func() uint64 {
		t.Helper()
		rs, err := client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		ev, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return ev.OriginalEvent().Position.Commit
	}
	var afterFirst uint64
	for i := range 2 {
		if err := importKeys(ctx, path, cluster); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			afterFirst = lastInAll()
		} else if last := lastInAll(); last != afterFirst {
			t.Fatalf("the second copy wrote to the cluster: its newest event at %d, %d after the first copy", last, afterFirst)
		}
		if got, erased, err := cluster.Key(ctx, "c1", true); err != nil || erased || !bytes.Equal(got, live) {
			t.Fatalf("c1 in the cluster: %x, erased %v, %v; want the file's key %x", got, erased, err, live)
		}
		for _, c := range []string{"c2", "c3"} {
			if first, err := cluster.Destroy(ctx, c, time.Now()); err != nil || !first.Equal(at) {
				t.Fatalf("%s in the cluster: erased at %v (%v), want the file's %v", c, first, err, at)
			}
		}
		if pending, err := cluster.Unrecorded(ctx); err != nil || len(pending) != 1 || !pending["c3"].Equal(at) {
			t.Fatalf("pending erasures in the cluster: %v (%v), want c3's", pending, err)
		}
	}

	if _, _, err := cluster.Key(ctx, "c4", true); err != nil {
		t.Fatal(err)
	}
	file, err = seal.OpenKeys(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := file.Key(ctx, "c4", true); err != nil {
		t.Fatal(err)
	}
	_ = file.Close()
	if err := importKeys(ctx, path, cluster); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("copy a key the cluster holds another of: %v, want refused", err)
	}
}
