package main

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHistory_CausedStreams runs `history` on an accepted offer of the
// bench's log: it shows the licenses.granted of the offer's grant stream
// beside the offer's own events, in log order, verifies each stream's chain
// on its own, and fails when the grant's event was changed.
func TestHistory_CausedStreams(t *testing.T) {
	dir := t.TempDir()
	mustBenchLog(t, dir, 300)
	db, err := sql.Open("sqlite3", filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var grant row
	for _, r := range readRows(t, db) {
		if strings.HasPrefix(r.stream, "grant-") {
			grant = r
			break
		}
	}
	if grant.stream == "" {
		t.Fatal("the bench's log holds no grant")
	}
	offer := strings.TrimPrefix(grant.stream, "grant-")

	out, stderr, code := runCLI("history", "--data", dir, offer)
	if code != 0 {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, stderr)
	}
	var streams []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[1] == "offer-"+offer || f[1] == grant.stream) {
			streams = append(streams, f[1]+" "+f[4])
		}
	}
	if n := len(streams); n < 4 || streams[n-1] != grant.stream+" licenses.granted" || streams[0] != "offer-"+offer+" offer.created" {
		t.Fatalf("history rows (stream, type): %q\n%s", streams, out)
	}
	for _, want := range []string{"hash chain intact: offer-" + offer + ",", "hash chain intact: " + grant.stream + ", 1 events"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := runCLI("history", "--data", dir, offer, "--json"); code != 0 || !strings.Contains(out, `"stream":"`+grant.stream+`"`) {
		t.Fatalf("history --json: exit %d\n%s", code, out)
	}

	mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, `{"tampered":true}`, grant.position)
	if out, stderr, code := runCLI("history", "--data", dir, offer); code != 1 || !strings.Contains(stderr, grant.stream) {
		t.Fatalf("history of a changed grant: exit %d, want 1 naming %s\n%s\n%s", code, grant.stream, out, stderr)
	}
}

// TestHistory_JSONIsTheAPIShape: each line `history --json` prints is, byte
// for byte, the item GET /v1/offers/{id}/history gives for that event, for
// an accepted offer (its grant's event included) whose texts need escaping,
// and for one whose customer was erased (sealed, erased: true).
func TestHistory_JSONIsTheAPIShape(t *testing.T) {
	dir := t.TempDir()
	const opToken = "ofr_history-json-test-operator-token-0123456789"
	s := MustServe(t, dir, "--operator-token", opToken)
	op := apiClient{t, s.url, opToken}
	res, tid := op.newReseller("Lernwerk <&>")
	send := func(name string) (customer, offer string, c apiClient) {
		cu, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": name})
		ct, _ := op.must(201, "POST", "/v1/tokens", map[string]string{"role": "customer", "tenant": cu["id"].(string)})
		o, _ := res.must(202, "POST", "/v1/customers/"+cu["id"].(string)+"/offers", map[string]string{"template_id": tid, "message": "Für <Sie> & Co."})
		return cu["id"].(string), o["id"].(string), apiClient{t, s.url, ct["token"].(string)}
	}
	_, accepted, cus := send("Schule A")
	erasedCustomer, erased, _ := send("Schule B")
	res.waitStatus(accepted, "waiting_for_confirmation")
	res.waitStatus(erased, "waiting_for_confirmation")
	cus.must(200, "POST", "/v1/inbox/"+accepted+"/accept", nil)
	res.must(200, "POST", "/v1/customers/"+erasedCustomer+"/erase", nil)
	api := map[string][]json.RawMessage{}
	for _, id := range []string{accepted, erased} {
		want := 3 // created, dispatched, delivered
		if id == accepted {
			want = 5 // and accepted, licenses.granted
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, b, _ := res.do("GET", "/v1/offers/"+id+"/history", nil)
			var page struct{ Items []json.RawMessage }
			if err := json.Unmarshal(b, &page); err != nil {
				t.Fatalf("history of %s: %v: %s", id, err, b)
			}
			if api[id] = page.Items; len(page.Items) >= want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("history of %s has %d events, want %d", id, len(page.Items), want)
			}
		}
	}
	s.stop(t)

	for _, id := range []string{accepted, erased} {
		out, stderr, code := runCLI("history", "--data", dir, id, "--json")
		if code != 0 {
			t.Fatalf("history --json %s: exit %d\n%s", id, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(api[id]) {
			t.Fatalf("history --json %s: %d lines, the API %d events\n%s", id, len(lines), len(api[id]), out)
		}
		for i, line := range lines {
			if line != string(api[id][i]) {
				t.Errorf("event %d of %s:\ncli %s\napi %s", i, id, line, api[id][i])
			}
		}
		if id == erased && !strings.Contains(out, `"erased":true`) {
			t.Errorf("history --json of the erased customer's offer marks nothing erased:\n%s", out)
		}
		if id == accepted && (!strings.Contains(out, `"type":"licenses.granted"`) || !strings.Contains(out, `\u003cSie\u003e`)) {
			t.Errorf("history --json of the accepted offer lacks the grant or the escaped message:\n%s", out)
		}
	}
}
