package http_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/merkle/merkletest"
)

// offerProof is the body of GET /v1/offers/{id}/proof.
type offerProof struct {
	OfferID  string             `json:"offer_id"`
	Size     uint64             `json:"size"`
	RootHash string             `json:"root_hash"`
	Items    []domain.LeafProof `json:"items"`
}

// verifyHead checks a head's signature as an auditor would from the
// documented canonical form, without the server's code.
func verifyHead(tb testing.TB, h domain.TreeHead, k domain.TreeKey) {
	tb.Helper()
	msg := fmt.Sprintf("offerflow tree head v1\nsize %d\nroot_hash %s\ntimestamp %s\nkey_id %s\n",
		h.Size, h.RootHash, h.Timestamp.UTC().Format(time.RFC3339Nano), h.KeyID)
	pub, err := hex.DecodeString(k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := hex.DecodeString(h.Signature)
	if err != nil || h.KeyID != k.KeyID || !ed25519.Verify(pub, []byte(msg), sig) {
		tb.Fatalf("head %+v does not verify with key %+v", h, k)
	}
}

func TestAuditTree(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)

	var key domain.TreeKey
	w.CustomerC.Must(t, 200, "GET", "/v1/audit/key", nil).Decode(t, &key)
	if key.Algorithm != "Ed25519" || len(key.PublicKey) != 64 {
		t.Fatalf("key %+v", key)
	}
	var h1 domain.TreeHead
	w.Auditor.Must(t, 200, "GET", "/v1/audit/head", nil).Decode(t, &h1)
	verifyHead(t, h1, key)
	if h1.Size == 0 || h1.Size > ts.Head(t) {
		t.Fatalf("head of size %d over a log at position %d", h1.Size, ts.Head(t))
	}

	t.Run("inclusion", func(t *testing.T) {
		for _, c := range []Client{w.ResellerC, w.CustomerC, w.Auditor, w.AuditorAll} {
			var p offerProof
			c.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/proof?size="+strconv.FormatUint(h1.Size, 10), nil).Decode(t, &p)
			if p.RootHash != h1.RootHash || p.Size != h1.Size || p.OfferID != w.Offer {
				t.Fatalf("proof against %+v: %+v", h1, p)
			}
			var history struct{ Items []domain.Envelope }
			c.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/history", nil).Decode(t, &history)
			if len(p.Items) == 0 || len(p.Items) > len(history.Items) {
				t.Fatalf("%d proofs for %d events", len(p.Items), len(history.Items))
			}
			root, _ := hex.DecodeString(h1.RootHash)
			for i, it := range p.Items {
				if it.Hash != history.Items[i].Hash || it.Position != history.Items[i].Position {
					t.Fatalf("proof %d is of %+v, history has %+v", i, it, history.Items[i])
				}
				if !merkletest.VerifyInclusion(it.LeafIndex, h1.Size, merkletest.Leaf(it.Hash), merkletest.Hex(it.Proof), root) {
					t.Fatalf("inclusion proof of position %d (leaf %d) does not verify against the head", it.Position, it.LeafIndex)
				}
			}
		}
		// Without a size: against the current head.
		var p offerProof
		w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/proof", nil).Decode(t, &p)
		if p.Size < h1.Size {
			t.Fatalf("default size %d is below an earlier head's %d", p.Size, h1.Size)
		}
	})

	t.Run("consistency", func(t *testing.T) {
		// The log grows; the next head must extend the first.
		w.ResellerC.Must(t, 200, "POST", "/v1/offers/"+w.SiblingOffer+"/withdraw", nil)
		var h2 domain.TreeHead
		w.AuditorAll.Must(t, 200, "GET", "/v1/audit/head", nil).Decode(t, &h2)
		verifyHead(t, h2, key)
		if h2.Size <= h1.Size {
			t.Fatalf("second head of size %d after the first of %d", h2.Size, h1.Size)
		}
		var c struct {
			From, To uint64
			Proof    []string
		}
		w.Auditor.Must(t, 200, "GET", fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", h1.Size, h2.Size), nil).Decode(t, &c)
		r1, _ := hex.DecodeString(h1.RootHash)
		r2, _ := hex.DecodeString(h2.RootHash)
		if c.From != h1.Size || c.To != h2.Size || !merkletest.VerifyConsistency(h1.Size, h2.Size, merkletest.Hex(c.Proof), r1, r2) {
			t.Fatalf("consistency proof %+v does not verify between %+v and %+v", c, h1, h2)
		}
	})

	t.Run("events after the size are left out", func(t *testing.T) {
		w.CustomerC.Must(t, 204, "POST", "/v1/inbox/"+w.Offer+"/read", nil)
		var history struct{ Items []domain.Envelope }
		w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/history", nil).Decode(t, &history)
		var old, now offerProof
		w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/proof?size="+strconv.FormatUint(h1.Size, 10), nil).Decode(t, &old)
		w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"/proof", nil).Decode(t, &now)
		last := history.Items[len(history.Items)-1]
		if len(old.Items) != len(history.Items)-1 || old.Items[len(old.Items)-1].Position >= last.Position {
			t.Fatalf("against size %d: %d proofs for %d events, the newest at %d", h1.Size, len(old.Items), len(history.Items), last.Position)
		}
		if len(now.Items) != len(history.Items) || now.Items[len(now.Items)-1].Position != last.Position || now.Size <= h1.Size {
			t.Fatalf("against the current head (size %d): %d proofs for %d events", now.Size, len(now.Items), len(history.Items))
		}
		root, _ := hex.DecodeString(now.RootHash)
		it := now.Items[len(now.Items)-1]
		if !merkletest.VerifyInclusion(it.LeafIndex, now.Size, merkletest.Leaf(it.Hash), merkletest.Hex(it.Proof), root) {
			t.Fatalf("the newest event's proof does not verify against the current head")
		}
	})

	t.Run("errors", func(t *testing.T) {
		big := strconv.FormatUint(ts.Head(t)+1000, 10)
		for _, tc := range []struct {
			c          Client
			path       string
			status     int
			code, what string
		}{
			{w.NoToken, "/v1/audit/head", 401, "unauthenticated", ""},
			{w.ResellerC, "/v1/audit/head", 403, "forbidden", ""},
			{w.CustomerC, "/v1/audit/consistency?from=1&to=2", 403, "forbidden", ""},
			{w.NoToken, "/v1/audit/key", 401, "unauthenticated", ""},
			{w.Auditor, "/v1/audit/consistency?to=2", 422, "validation_failed", "from"},
			{w.Auditor, "/v1/audit/consistency?from=0&to=2", 422, "validation_failed", "from"},
			{w.Auditor, "/v1/audit/consistency?from=x&to=2", 422, "validation_failed", "from"},
			{w.Auditor, "/v1/audit/consistency?from=3&to=2", 422, "validation_failed", "from"},
			{w.Auditor, "/v1/audit/consistency?from=1&to=" + big, 422, "validation_failed", "to"},
			{w.ResellerC, "/v1/offers/" + w.Offer + "/proof?size=0", 422, "validation_failed", "size"},
			{w.ResellerC, "/v1/offers/" + w.Offer + "/proof?size=-1", 422, "validation_failed", "size"},
			{w.ResellerC, "/v1/offers/" + w.Offer + "/proof?size=" + big, 422, "validation_failed", "size"},
			// 404 comes before 422: a foreign offer is not found whatever the size.
			{w.OtherResellerC, "/v1/offers/" + w.Offer + "/proof?size=0", 404, "not_found", ""},
			{w.ForeignCustomerC, "/v1/offers/" + w.Offer + "/proof", 404, "not_found", ""},
			{w.OtherAuditor, "/v1/offers/" + w.Offer + "/proof", 404, "not_found", ""},
			{w.ResellerC, "/v1/offers/no-such-offer/proof", 404, "not_found", ""},
			{w.Operator, "/v1/offers/" + w.Offer + "/proof", 403, "forbidden", ""},
		} {
			r := tc.c.Do(t, "GET", tc.path, nil)
			if r.Status != tc.status || r.Code() != tc.code {
				t.Errorf("GET %s: %s, want %d %s", tc.path, r, tc.status, tc.code)
				continue
			}
			if tc.what != "" {
				if f := r.Map(t)["field"]; f != tc.what {
					t.Errorf("GET %s: field %v, want %s", tc.path, f, tc.what)
				}
			}
		}
	})
}
