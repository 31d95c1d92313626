package http

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// IdempotencyOutcome is what IdempotencyStore.Begin found for a key.
type IdempotencyOutcome int

// Outcomes of IdempotencyStore.Begin.
const (
	// IdempotencyStarted: the key was free (or its earlier claim lapsed) and
	// is now claimed; the caller runs the request and then calls Complete or
	// Release.
	IdempotencyStarted IdempotencyOutcome = iota + 1
	// IdempotencyReplay: a request with the same key and fingerprint
	// completed; Begin returned its stored response.
	IdempotencyReplay
	// IdempotencyMismatch: the key was used with another fingerprint.
	IdempotencyMismatch
	// IdempotencyInProgress: a request with the key is still running.
	IdempotencyInProgress
)

// IdempotencyStore keeps the responses of requests that carried an
// Idempotency-Key, for at least 24 hours. Keys arrive already hashed with
// their scope (tenant, method, path), and responses already sealed with a
// key the store never sees, so the store holds neither the keys nor the
// responses (which can carry new tokens) in the clear.
type IdempotencyStore interface {
	// Begin claims key for a request whose body has fingerprint, or reports
	// why it cannot (see IdempotencyOutcome); response is set only for
	// IdempotencyReplay.
	Begin(ctx context.Context, key, fingerprint string) (outcome IdempotencyOutcome, response []byte, err error)
	// Complete stores the response of the request that claimed key.
	Complete(ctx context.Context, key string, response []byte) error
	// Release gives up the claim on key without storing anything, so that
	// the key can be used again (error responses are not stored).
	Release(ctx context.Context, key string) error
}

// maxIdempotencyKeyLen bounds the Idempotency-Key header.
const maxIdempotencyKeyLen = 255

// storedResponse is a response as it is kept for replay.
type storedResponse struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header"`
	Body   []byte            `json:"body"`
}

// replayedHeaders are the headers a replay gives back.
var replayedHeaders = []string{"Content-Type", "ETag", "X-Log-Position", "Location", "Cache-Control"}

// idempotent makes a command honour Idempotency-Key: every command, not only
// those that create, since a retried command whose deterministic event ids
// are already stored writes nothing, and answering it anew would show a
// state that was never stored. body is the command's request type: its fields decide which bodies are malformed, so
// that 413 and 400 are answered before the key is looked at.
func (s *Server) idempotent(body any) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			if key == "" {
				next.ServeHTTP(w, r)
				return
			}
			b, err := readBody(w, r)
			if err != nil {
				s.Error(w, r, err)
				return
			}
			raw, err := checkObject(b, body)
			if err != nil {
				s.Error(w, r, err)
				return
			}
			if !validIdempotencyKey(key) {
				s.Error(w, r, domain.Invalid("Idempotency-Key", "Idempotency-Key must be 1 to %d printable ASCII characters", maxIdempotencyKeyLen))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			s.runIdempotent(w, r, next, key, raw)
		})
	}
}

func (s *Server) runIdempotent(w http.ResponseWriter, r *http.Request, next http.Handler, key string, raw json.RawMessage) {
	id := identity(r)
	scope := string(id.Role) + "\x00" + id.Tenant + "\x00" + r.Method + "\x00" + r.URL.Path + "\x00" + key
	lookupKey := hex.EncodeToString(s.idempotencyKey("lookup", scope))
	sealKey := s.idempotencyKey("seal", scope)

	fp, err := fingerprint(raw)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	outcome, sealed, err := s.cfg.Idempotency.Begin(r.Context(), lookupKey, fp)
	if err != nil {
		s.Error(w, r, fmt.Errorf("idempotency begin: %w", err))
		return
	}
	switch outcome {
	case IdempotencyMismatch:
		s.Error(w, r, errorf(EIDEMPOTENCYREUSED, "this Idempotency-Key was used with a different body"))
		return
	case IdempotencyInProgress:
		s.Error(w, r, errorf(EIDEMPOTENCYINPROGRESS, "a request with this Idempotency-Key is still running"))
		return
	case IdempotencyReplay:
		resp, err := openResponse(sealKey, sealed)
		if err != nil {
			s.Error(w, r, fmt.Errorf("idempotency replay: %w", err))
			return
		}
		for k, v := range resp.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Idempotency-Replayed", "true")
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
		return
	case IdempotencyStarted:
	default:
		s.Error(w, r, fmt.Errorf("idempotency begin: unknown outcome %d", outcome))
		return
	}

	rec := &recorder{ResponseWriter: w}
	// The claim is settled whatever happens to the request, even when the
	// client goes away or the handler panics.
	ctx := context.WithoutCancel(r.Context())
	completed := false
	defer func() {
		if !completed {
			if err := s.cfg.Idempotency.Release(ctx, lookupKey); err != nil {
				s.logger.ErrorContext(ctx, "idempotency release", "err", err)
			}
		}
	}()
	next.ServeHTTP(rec, r)
	if rec.status < 200 || rec.status >= 300 {
		return
	}
	resp := storedResponse{Status: rec.status, Header: map[string]string{}, Body: rec.body.Bytes()}
	for _, h := range replayedHeaders {
		if v := rec.Header().Get(h); v != "" {
			resp.Header[h] = v
		}
	}
	sealedResp, err := sealResponse(sealKey, resp)
	if err == nil {
		err = s.cfg.Idempotency.Complete(ctx, lookupKey, sealedResp)
	}
	if err != nil {
		// The command itself succeeded and was answered; only its replay is
		// lost, so a retry with the key would run again.
		s.logger.ErrorContext(ctx, "idempotency complete", "err", err)
		return
	}
	completed = true
}

// idempotencyKey derives the key of purpose ("lookup", "seal") for scope:
// HMAC-SHA256 under the server's secret, so that the idempotency store
// alone, short keys such as "42" included, cannot be searched by guessing
// the scope nor its responses opened.
func (s *Server) idempotencyKey(purpose, scope string) []byte {
	m := hmac.New(sha256.New, s.cfg.IdempotencySecret)
	m.Write([]byte("offerflow idempotency " + purpose + "\x00" + scope))
	return m.Sum(nil)
}

// validIdempotencyKey reports whether key is 1 to 255 printable ASCII
// characters.
func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxIdempotencyKeyLen {
		return false
	}
	for _, c := range []byte(key) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint is the hex SHA-256 of the canonical form of a JSON object:
// keys sorted, no white space, integers in their shortest form. Bodies that
// are equal as JSON have the same fingerprint.
func fingerprint(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", errorf(domain.EMALFORMED, "the body is not valid JSON")
	}
	b, err := json.Marshal(canonicalNumbers(v))
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalNumbers rewrites numbers so that 12, 12.0 and 1.2e1 are one.
func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = canonicalNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = canonicalNumbers(e)
		}
	case json.Number:
		// An integer literal is kept as written, so that large integers stay
		// exact; other numbers take float64's shortest form.
		if !strings.ContainsAny(string(t), ".eE") {
			return t
		}
		if f, err := t.Float64(); err == nil {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return v
}

// sealResponse encrypts resp with AES-256-GCM under key.
func sealResponse(key []byte, resp storedResponse) ([]byte, error) {
	plain, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("seal response: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, nil), nil
}

// openResponse decrypts a response sealed by sealResponse.
func openResponse(key, sealed []byte) (storedResponse, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return storedResponse{}, err
	}
	if len(sealed) < aead.NonceSize() {
		return storedResponse{}, errors.New("open response: too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return storedResponse{}, fmt.Errorf("open response: %w", err)
	}
	var resp storedResponse
	if err := json.Unmarshal(plain, &resp); err != nil {
		return storedResponse{}, fmt.Errorf("open response: %w", err)
	}
	return resp, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("idempotency cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("idempotency cipher: %w", err)
	}
	return aead, nil
}

// recorder passes a response through while keeping its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
