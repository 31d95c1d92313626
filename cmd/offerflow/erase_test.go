package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiClient calls a running serve with one token.
type apiClient struct {
	t     *testing.T
	url   string
	token string
}

// do sends a request and returns the status, the body and the
// X-Log-Position header.
func (c apiClient) do(method, path string, body any, header ...string) (int, []byte, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("X-Log-Position")
}

// must is do that fails the test unless the status is want, and decodes
// the body into a map (nil for other bodies).
func (c apiClient) must(want int, method, path string, body any, header ...string) (map[string]any, string) {
	c.t.Helper()
	status, b, pos := c.do(method, path, body, header...)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m, pos
}

// newReseller has the operator (c) register a reseller named name with a
// template of one course, and returns the reseller's client and the
// template's id.
func (c apiClient) newReseller(name string) (apiClient, string) {
	c.t.Helper()
	r, _ := c.must(201, "POST", "/v1/resellers", map[string]string{"name": name})
	rt, _ := c.must(201, "POST", "/v1/tokens", map[string]string{"role": "reseller", "tenant": r["id"].(string)})
	res := apiClient{c.t, c.url, rt["token"].(string)}
	p, _ := res.must(201, "POST", "/v1/products", map[string]any{"name": "Erste Hilfe", "kind": "course", "license_terms_months": []int{12}})
	tp, _ := res.must(201, "POST", "/v1/templates", map[string]string{"name": "Grundpaket"})
	tid := tp["id"].(string)
	res.must(201, "POST", "/v1/templates/"+tid+"/items", map[string]any{"product_id": p["id"], "term_months": 12})
	return res, tid
}

// waitStatus waits up to 20 seconds for offer to have status.
func (c apiClient) waitStatus(offer, status string) {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		o, _ := c.must(200, "GET", "/v1/offers/"+offer, nil)
		if o["status"] == status {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("offer %s is %v after 20 s, want %s", offer, o["status"], status)
		}
	}
}

// TestErasure is the erasure's done-when: a customer with a distinctive
// name and reference, offers with distinctive messages, a rejection with a
// distinctive reason; after the erasure no byte of any of them is left in
// any file of the data directory (serve stopped, as after any shutdown),
// in an export or in a history, every reader of the API shows null with
// "erased": true, and verify still passes.
func TestErasure(t *testing.T) {
	dir := t.TempDir()
	const opToken = "ofr_erasure-test-operator-token-0123456789abcdef"
	s := MustServe(t, dir, "--operator-token", opToken)
	op := apiClient{t, s.url, opToken}

	const (
		name    = "Zyxwvu Erasable Kundin GmbH"
		ref     = "REF-Qwertzuiop-4711"
		msg1    = "Msg-Plughxyzzy-One for Frau Erasable"
		msg2    = "Msg-Plughxyzzy-Two with an Idempotency-Key"
		reason  = "Reason-Frobozz-too-expensive"
		revised = "Msg-Plughxyzzy-Revised carried by offer.superseded"
		keep    = "Unerased Nachbar AG"
		keepMsg = "Msg-Keepme-Untouched"
	)
	secrets := []string{name, ref, msg1, msg2, reason, revised}

	res, tid := op.newReseller("Lernwerk")

	c, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": name, "external_ref": ref})
	cid := c["id"].(string)
	other, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": keep})
	ct, _ := op.must(201, "POST", "/v1/tokens", map[string]string{"role": "customer", "tenant": cid})
	cus := apiClient{t, s.url, ct["token"].(string)}

	o1, _ := res.must(202, "POST", "/v1/customers/"+cid+"/offers", map[string]string{"template_id": tid, "message": msg1})
	o2, _ := res.must(202, "POST", "/v1/customers/"+cid+"/offers", map[string]string{"template_id": tid, "message": msg2},
		"Idempotency-Key", "erasure-test-offer-2")
	res.must(202, "POST", "/v1/customers/"+other["id"].(string)+"/offers", map[string]string{"template_id": tid, "message": keepMsg})
	offer1 := o1["id"].(string)
	res.waitStatus(offer1, "waiting_for_confirmation")
	// A revision: offer.superseded carries its successor's message too.
	o3, _ := res.must(202, "POST", "/v1/customers/"+cid+"/offers", map[string]string{"template_id": tid, "message": "first draft"})
	res.must(202, "POST", "/v1/offers/"+o3["id"].(string)+"/revise", map[string]string{"message": revised})
	_, pos := cus.must(200, "POST", "/v1/inbox/"+offer1+"/reject", map[string]string{"reason": reason})
	res.must(200, "GET", "/v1/offers?min_position="+pos, nil)

	// The texts are in the read models now (so that the scan below can
	// fail), but never in the log: it holds them sealed.
	if found := scanDir(t, dir, secrets); !strings.Contains(strings.Join(found, " "), "readmodels.db") {
		t.Fatalf("before the erasure the texts should be in the read models; found: %v", found)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "events.db")); err != nil || bytes.Contains(b, []byte(msg1)) || bytes.Contains(b, []byte(name)) {
		t.Fatalf("events.db holds a text in the clear (%v)", err)
	}

	// Foreign and unknown customers are not found; nothing is erased.
	op2, _ := op.must(201, "POST", "/v1/resellers", map[string]string{"name": "Andere"})
	ot, _ := op.must(201, "POST", "/v1/tokens", map[string]string{"role": "reseller", "tenant": op2["id"].(string)})
	foreign := apiClient{t, s.url, ot["token"].(string)}
	foreign.must(404, "POST", "/v1/customers/"+cid+"/erase", nil)
	res.must(404, "POST", "/v1/customers/no-such-customer/erase", nil)

	// A head kept outside before the erasure, as an auditor's cron line
	// keeps them: the erasure destroys a key, no event, so the log still
	// extends it.
	heads := filepath.Join(t.TempDir(), "heads.ndjson")
	if err := os.WriteFile(heads, []byte(mustHead(t, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	e, epos := res.must(200, "POST", "/v1/customers/"+cid+"/erase", nil)
	if e["id"] != cid || e["erased_at"] == nil {
		t.Fatalf("erase answered %v", e)
	}
	again, _ := op.must(200, "POST", "/v1/customers/"+cid+"/erase", nil)
	if again["erased_at"] != e["erased_at"] {
		t.Fatalf("a repeated erasure answered erased_at %v, want the first %v", again["erased_at"], e["erased_at"])
	}
	res.must(422, "POST", "/v1/customers/"+cid+"/offers", map[string]string{"template_id": tid, "message": "new"})
	// The reply kept for the offer sent with an Idempotency-Key held its
	// message: it is gone, and the retry runs again, answering the offer
	// it made then, with its texts erased.
	if o, _ := res.must(202, "POST", "/v1/customers/"+cid+"/offers", map[string]string{"template_id": tid, "message": msg2},
		"Idempotency-Key", "erasure-test-offer-2"); o["id"] != o2["id"] || o["message"] != nil || o["erased"] != true {
		t.Errorf("retry of an offer made before the erasure: %v", o)
	}

	// Every reader shows null and erased: true.
	cust, _ := res.must(200, "GET", "/v1/customers/"+cid+"?min_position="+epos, nil)
	if cust["name"] != nil || cust["external_ref"] != nil || cust["erased"] != true {
		t.Errorf("customer after the erasure: %v", cust)
	}
	for _, o := range cust["offers"].([]any) {
		if o := o.(map[string]any); o["message"] != nil || o["erased"] != true || o["customer_name"] != nil {
			t.Errorf("customer's offer after the erasure: %v", o)
		}
	}
	for _, id := range []string{offer1, o2["id"].(string)} {
		o, _ := res.must(200, "GET", "/v1/offers/"+id, nil)
		if o["message"] != nil || o["erased"] != true || o["rejection_reason"] != nil {
			t.Errorf("offer %s after the erasure: %v", id, o)
		}
	}
	inbox, _ := cus.must(200, "GET", "/v1/inbox?min_position="+epos, nil)
	for _, o := range inbox["items"].([]any) {
		if o := o.(map[string]any); o["message"] != nil || o["erased"] != true {
			t.Errorf("inbox entry after the erasure: %v", o)
		}
	}
	hist, _ := res.must(200, "GET", "/v1/offers/"+offer1+"/history", nil)
	erasedEvents := 0
	for _, ev := range hist["items"].([]any) {
		if ev.(map[string]any)["erased"] == true {
			erasedEvents++
		}
	}
	if erasedEvents != 2 { // offer.created, offer.rejected
		t.Errorf("history marks %d events erased, want 2: %v", erasedEvents, hist)
	}
	readers := map[string][]byte{}
	for _, path := range []string{"/v1/offers/" + offer1 + "/history", "/v1/audit/events", "/v1/offers", "/v1/customers",
		"/v1/customers/" + cid, "/v1/offers/" + offer1} {
		_, b, _ := res.do("GET", path, nil)
		readers["reseller "+path] = b
	}
	for _, path := range []string{"/v1/inbox", "/v1/offers/" + offer1 + "/history", "/v1/audit/events"} {
		_, b, _ := cus.do("GET", path, nil)
		readers["customer "+path] = b
	}
	for where, b := range readers {
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s shows %q after the erasure", where, sec)
			}
		}
	}
	if _, b, _ := res.do("GET", "/v1/offers", nil); !bytes.Contains(b, []byte(keepMsg)) {
		t.Errorf("the other customer's offer lost its message: %s", b)
	}
	s.stop(t)

	if found := scanDir(t, dir, secrets); len(found) > 0 {
		t.Errorf("after the erasure, the data directory still holds: %v", found)
	}
	out, errOut, code := runCLI("verify", "--data", dir, "--head", heads)
	if code != 0 || !strings.Contains(out, "log ok") || !strings.Contains(out, "read models ok") || !strings.Contains(out, "tree heads ok") {
		t.Fatalf("verify --head after the erasure: exit %d\n%s\n%s", code, out, errOut)
	}
	export, errOut, code := runCLI("export", "--data", dir)
	if code != 0 || !strings.Contains(export, `"erased":true`) || !strings.Contains(export, keepMsg) {
		t.Fatalf("export: exit %d (%s), erased marked: %v", code, errOut, strings.Contains(export, `"erased":true`))
	}
	history, _, code := runCLI("history", "--data", dir, offer1, "--json")
	if code != 0 {
		t.Fatalf("history: exit %d", code)
	}
	if _, _, code := runCLI("rebuild", "--data", dir); code != 0 {
		t.Fatalf("rebuild: exit %d", code)
	}
	for where, text := range map[string]string{"export": export, "history": history} {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s holds %q after the erasure", where, sec)
			}
		}
	}
	if found := scanDir(t, dir, secrets); len(found) > 0 {
		t.Errorf("after a rebuild, the data directory holds: %v", found)
	}
}

// scanDir returns "file: text" for every text of secrets found in any
// byte of any file under dir.
func scanDir(t *testing.T, dir string, secrets []string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				found = append(found, filepath.Base(path)+": "+sec)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
