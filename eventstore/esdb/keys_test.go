package esdb_test

import (
	"bytes"
	"encoding/base64"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore/esdb"
	"github.com/offerflow/offerflow/eventstore/esdb/esdbemulator"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/seal/keystest"
)

var testSecret = bytes.Repeat([]byte{0x5e}, 32)

// openKeys returns the key store of s under secret.
func openKeys(t *testing.T, s *esdb.Store, secret []byte) *esdb.Keys {
	t.Helper()
	k, err := s.Keys(t.Context(), secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeys runs the key stores' conformance suite on the cluster, through
// two clients as two serve nodes use it.
func TestKeys(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (seal.KeyStore, seal.KeyStore) {
		url := os.Getenv("EVENTSTORE_URL")
		if url == "" {
			url = startEmulator(t).URL()
		}
		prefix := "keys-" + runID() + "-"
		a, b := open(t, url, prefix), open(t, url, prefix)
		return openKeys(t, a, testSecret), openKeys(t, b, testSecret)
	})
}

// TestKeys_WhatTheClusterHolds reads the cluster as someone without the
// secret would: no customer id in a stream name, no key in the clear; once
// erased, stream reads show only the tombstone, and the wrapped key stays
// in $all only until a scavenge, as EventStoreDB keeps truncated events.
// A node given another secret is refused rather than left to make keys
// of its own.
func TestKeys_WhatTheClusterHolds(t *testing.T) {
	ctx := t.Context()
	em := startEmulator(t)
	s := open(t, em.URL(), "")
	keys := openKeys(t, s, testSecret)
	const customer = "cust-7a1f"
	key, _, err := keys.Key(ctx, customer, true)
	if err != nil {
		t.Fatal(err)
	}
	client, err := em.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	all := func() []*esdbclient.RecordedEvent {
		t.Helper()
		rs, err := client.ReadAll(ctx, esdbclient.ReadAllOptions{From: esdbclient.Start{}}, math.MaxUint64)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []*esdbclient.RecordedEvent
		for {
			re, err := rs.Recv()
			if err != nil {
				return out
			}
			out = append(out, re.OriginalEvent())
		}
	}
	var keyStream string
	for _, e := range all() {
		if strings.Contains(e.StreamID, customer) || bytes.Contains(e.Data, []byte(customer)) {
			t.Errorf("%s holds the customer id in the clear: %s", e.StreamID, e.Data)
		}
		for _, form := range [][]byte{key, []byte(base64.StdEncoding.EncodeToString(key)), []byte(base64.RawURLEncoding.EncodeToString(key))} {
			if bytes.Contains(e.Data, form) {
				t.Errorf("%s holds the key in the clear: %s", e.StreamID, e.Data)
			}
		}
		if e.EventType == "offerflow.customer-key" {
			keyStream = e.StreamID
		}
	}
	if !strings.HasPrefix(keyStream, "$offerflow-key-") {
		t.Fatalf("the key's stream is %q, want a system stream $offerflow-key-<hmac>", keyStream)
	}
	stream := func() (types []string) {
		t.Helper()
		rs, err := client.ReadStream(ctx, keyStream, esdbclient.ReadStreamOptions{From: esdbclient.Start{}}, math.MaxUint64)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for {
			re, err := rs.Recv()
			if err != nil {
				return types
			}
			types = append(types, re.OriginalEvent().EventType)
		}
	}
	if got := stream(); len(got) != 1 || got[0] != "offerflow.customer-key" {
		t.Fatalf("the key's stream reads as %v", got)
	}

	if _, err := keys.Destroy(ctx, customer, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := stream(); len(got) != 1 || got[0] != "offerflow.customer-key-destroyed" {
		t.Fatalf("after the erasure the key's stream reads as %v, want the tombstone alone", got)
	}
	inAll := 0
	for _, e := range all() {
		if e.StreamID == keyStream && e.EventType == "offerflow.customer-key" {
			inAll++
		}
	}
	if inAll != 1 {
		t.Errorf("$all holds the wrapped key %d times after the erasure; the emulator, like EventStoreDB before a scavenge, keeps it once", inAll)
	}

	// Another node, another secret: refused.
	if _, err := s.Keys(ctx, bytes.Repeat([]byte{0x17}, 32)); err == nil || !strings.Contains(err.Error(), "another secret") {
		t.Fatalf("keys under another secret: %v, want refused", err)
	}
	if _, err := s.Keys(ctx, testSecret[:16]); err == nil {
		t.Fatal("keys under a 16-byte secret: accepted")
	}
}

// TestKeys_Prefixes: two namespaces in one cluster keep keys apart.
func TestKeys_Prefixes(t *testing.T) {
	ctx := t.Context()
	em, err := esdbemulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Close() })
	a := openKeys(t, open(t, em.URL(), "a-"), testSecret)
	b := openKeys(t, open(t, em.URL(), "b-"), testSecret)
	if _, err := a.Destroy(ctx, "c1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if key, erased, err := b.Key(ctx, "c1", true); err != nil || erased || key == nil {
		t.Fatalf("the other namespace's c1: %x, erased %v, %v; want a key of its own", key, erased, err)
	}
}

var _ seal.KeyStore = (*esdb.Keys)(nil)
