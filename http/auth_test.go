package http_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	ofhttp "github.com/offerflow/offerflow/http"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token, hash := ofhttp.NewToken()
		if !strings.HasPrefix(token, ofhttp.TokenPrefix) {
			t.Fatalf("token %q lacks the prefix %q", token, ofhttp.TokenPrefix)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, ofhttp.TokenPrefix))
		if err != nil || len(raw) < 32 {
			t.Fatalf("token %q carries %d random bytes (err %v), want at least 32", token, len(raw), err)
		}
		sum := sha256.Sum256([]byte(token))
		if hash != hex.EncodeToString(sum[:]) || hash != ofhttp.HashToken(token) {
			t.Fatalf("hash %q is not the SHA-256 of the token", hash)
		}
		if strings.Contains(hash, token) {
			t.Fatal("hash holds the token")
		}
		if seen[token] {
			t.Fatalf("token %q issued twice", token)
		}
		seen[token] = true
	}
}

// TestForbidden_Detail checks the sentence of a 403: it names the role, in
// words that read right for every role ("a operator token" did not).
func TestForbidden_Detail(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	for role, c := range map[string]Client{"operator": ts.Operator(), "auditor": ts.NewToken(t, "auditor", "*")} {
		var p struct{ Detail string }
		c.Must(t, 403, "POST", "/v1/products", nil).Decode(t, &p)
		if want := "the " + role + " role may not call this endpoint"; p.Detail != want {
			t.Errorf("detail %q, want %q", p.Detail, want)
		}
	}
}
