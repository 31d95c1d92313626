package http_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestIdempotency_SealedWithTheServerSecret is defect 7 of issue 8: a
// response kept for Idempotency-Key "42" (a new token) was sealed with a key
// derived from the key and its scope alone, so idempotency.db alone gave
// the token up to a brute force over short keys. Now neither the stored
// look-up key nor the sealed response can be derived without the server's
// secret.
func TestIdempotency_SealedWithTheServerSecret(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.IdempotencySecret = secret })
	token := str(t, ts.Operator().Must(t, 201, "POST", "/v1/tokens", map[string]string{"role": "auditor", "tenant": "*"},
		"Idempotency-Key", "42").Map(t), "token")

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(filepath.Dir(ts.Reads.Path()), "idempotency.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, response FROM idempotency_keys WHERE done = 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string][]byte{}
	for rows.Next() {
		var k string
		var resp []byte
		if err := rows.Scan(&k, &resp); err != nil {
			t.Fatal(err)
		}
		stored[k] = resp
	}
	if len(stored) != 1 {
		t.Fatalf("%d stored responses, want 1", len(stored))
	}

	// What an attacker holding idempotency.db computes for the guess "42".
	scope := "operator\x00\x00POST\x00/v1/tokens\x0042"
	guessLookup := sha256.Sum256([]byte("offerflow idempotency lookup\x00" + scope))
	guessSeal := sha256.Sum256([]byte("offerflow idempotency seal\x00" + scope))
	if _, ok := stored[hex.EncodeToString(guessLookup[:])]; ok {
		t.Fatal("the stored look-up key is derived from the Idempotency-Key alone")
	}
	for _, sealed := range stored {
		if _, err := open(t, guessSeal[:], sealed); err == nil {
			t.Fatal("a stored response opens with a key derived from the Idempotency-Key alone")
		}
	}

	// With the server's secret it opens, and holds the token: the sealing is
	// what keeps it.
	mac := func(purpose string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("offerflow idempotency " + purpose + "\x00" + scope))
		return m.Sum(nil)
	}
	sealed, ok := stored[hex.EncodeToString(mac("lookup"))]
	if !ok {
		t.Fatal("no stored response under the secret's look-up key")
	}
	plain, err := open(t, mac("seal"), sealed)
	if err != nil {
		t.Fatalf("opening with the server's secret: %v", err)
	}
	var resp struct{ Body []byte }
	if err := json.Unmarshal(plain, &resp); err != nil || !bytes.Contains(resp.Body, []byte(token)) {
		t.Fatalf("the opened response %s (%v) lacks the token", plain, err)
	}
	if bytes.Contains(sealed, []byte(token)) {
		t.Fatal("the stored response holds the token in the clear")
	}
}

// open decrypts an AES-256-GCM blob laid out as nonce || ciphertext.
func open(tb testing.TB, key, sealed []byte) ([]byte, error) {
	tb.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	if len(sealed) < aead.NonceSize() {
		tb.Fatal("sealed response too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}
