package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/esdb/esdbemulator"
	"github.com/offerflow/offerflow/eventstore/merkle/merkletest"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// TestTreeHeads_OnEventStoreDB runs the tamper evidence on the other store:
// serve on an EventStoreDB log (the in-process emulator) signs heads whose
// roots are the RFC 9162 roots of the export's lines in order (the tree
// follows the store's ReadAll order), its inclusion and consistency proofs
// verify with the verifier written from the RFC, and `head` and `verify
// --head` work on that log as on SQLite.
func TestTreeHeads_OnEventStoreDB(t *testing.T) {
	em, err := esdbemulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Close() })
	dir := t.TempDir()
	logFlags := []string{"--data", dir, "--eventstore", em.URL(), "--secret-file", filepath.Join(t.TempDir(), "server.secret")}
	const opToken = "ofr_esdb-tree-test-operator-token-0123456789abcdef"
	s := MustServe(t, dir, "--eventstore", em.URL(), "--secret-file", logFlags[5], "--operator-token", opToken)
	op := apiClient{t, s.url, opToken}
	res, tid := op.newReseller("Lernwerk")
	c, _ := res.must(201, "POST", "/v1/customers", map[string]string{"name": "Kundin"})
	o, _ := res.must(202, "POST", "/v1/customers/"+c["id"].(string)+"/offers", map[string]string{"template_id": tid, "message": "hallo"})
	offer := o["id"].(string)
	res.waitStatus(offer, "waiting_for_confirmation")
	at, _ := op.must(201, "POST", "/v1/tokens", map[string]string{"role": "auditor", "tenant": "*"})
	aud := apiClient{t, s.url, at["token"].(string)}

	head := func() domain.TreeHead {
		t.Helper()
		_, b, _ := aud.do("GET", "/v1/audit/head", nil)
		var h domain.TreeHead
		if err := json.Unmarshal(b, &h); err != nil || h.Size == 0 {
			t.Fatalf("GET /v1/audit/head: %s (%v)", b, err)
		}
		return h
	}
	unhex := func(s string) []byte {
		t.Helper()
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h1 := head()
	_, kb, _ := aud.do("GET", "/v1/audit/key", nil)
	var key domain.TreeKey
	if err := json.Unmarshal(kb, &key); err != nil {
		t.Fatal(err)
	}
	if err := treehead.Verify(h1, key); err != nil {
		t.Fatalf("head %+v with key %s: %v", h1, kb, err)
	}
	_, pb, _ := res.do("GET", fmt.Sprintf("/v1/offers/%s/proof?size=%d", offer, h1.Size), nil)
	var proof struct {
		RootHash string             `json:"root_hash"`
		Items    []domain.LeafProof `json:"items"`
	}
	if err := json.Unmarshal(pb, &proof); err != nil || len(proof.Items) < 3 || proof.RootHash != h1.RootHash {
		t.Fatalf("proof against %+v: %s (%v)", h1, pb, err)
	}
	for _, it := range proof.Items {
		if !merkletest.VerifyInclusion(it.LeafIndex, h1.Size, merkletest.Leaf(it.Hash), merkletest.Hex(it.Proof), unhex(h1.RootHash)) {
			t.Fatalf("inclusion proof of %+v does not verify against %+v", it, h1)
		}
	}
	res.must(200, "POST", "/v1/offers/"+offer+"/withdraw", nil)
	h2 := head()
	_, cb, _ := aud.do("GET", fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", h1.Size, h2.Size), nil)
	var cons struct{ Proof []string }
	if err := json.Unmarshal(cb, &cons); err != nil ||
		!merkletest.VerifyConsistency(h1.Size, h2.Size, merkletest.Hex(cons.Proof), unhex(h1.RootHash), unhex(h2.RootHash)) {
		t.Fatalf("consistency proof %s between %+v and %+v does not verify (%v)", cb, h1, h2, err)
	}
	s.stop(t)

	// The export's lines, in order, are the leaves.
	export, stderr, code := runCLI(append([]string{"export"}, logFlags...)...)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	var leaves [][]byte
	sc := bufio.NewScanner(strings.NewReader(export))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e domain.Envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, merkletest.Leaf(e.Hash))
	}
	for _, h := range []domain.TreeHead{h1, h2} {
		if uint64(len(leaves)) < h.Size || hex.EncodeToString(merkletest.MTH(leaves[:h.Size])) != h.RootHash {
			t.Fatalf("the first %d of the export's %d lines do not hash to the root of %+v", h.Size, len(leaves), h)
		}
	}
	out, stderr, code := runCLI(append([]string{"head"}, logFlags...)...)
	var now domain.TreeHead
	if code != 0 || json.Unmarshal([]byte(out), &now) != nil {
		t.Fatalf("head: exit %d: %s %s", code, out, stderr)
	}
	if now.Size != uint64(len(leaves)) || now.RootHash != hex.EncodeToString(merkletest.MTH(leaves)) {
		t.Fatalf("offerflow head %+v over an export of %d lines", now, len(leaves))
	}
	heads := filepath.Join(t.TempDir(), "heads.ndjson")
	b, _ := json.Marshal(h1)
	b2, _ := json.Marshal(h2)
	if err := os.WriteFile(heads, []byte(string(b)+"\n"+string(b2)+"\n"+out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runCLI(append([]string{"verify", "--head", heads}, logFlags...)...); code != 0 || !strings.Contains(out, "tree heads ok: the log extends all 3 heads") {
		t.Fatalf("verify --head: exit %d\n%s\n%s", code, out, stderr)
	}
}
