package http

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// The decoders are tested from inside the package: they are the unexported
// core of every handler, and the fuzz target needs them directly.

func decodeBody(body string, v any) error {
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	return decode(httptest.NewRecorder(), r, v)
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body  string
		code, field string
	}{
		{"OK", `{"product_id":"p","term_months":12,"license_mode":"relative","seats":5}`, "", ""},
		{"OKEmpty", ``, "", ""},
		{"OKWhiteSpace", " \n\t ", "", ""},
		{"OKEmptyObject", `{}`, "", ""},
		{"OKNullSeats", `{"seats":null}`, "", ""},
		{"ErrNotJSON", `{"product_id":`, domain.EMALFORMED, ""},
		{"ErrGarbage", `hello`, domain.EMALFORMED, ""},
		{"ErrTrailingData", `{"product_id":"p"} {}`, domain.EMALFORMED, ""},
		{"ErrTrailingGarbage", `{"product_id":"p"}x`, domain.EMALFORMED, ""},
		{"ErrArray", `[]`, domain.EMALFORMED, ""},
		{"ErrNull", `null`, domain.EMALFORMED, ""},
		{"ErrString", `"x"`, domain.EMALFORMED, ""},
		{"ErrUnknownField", `{"product_id":"p","colour":"red"}`, domain.EMALFORMED, "colour"},
		{"ErrFieldCase", `{"Product_ID":"p"}`, domain.EMALFORMED, "Product_ID"},
		// An unknown field is malformed (400) even after a wrong type (422):
		// 400 comes first in the contract's order.
		{"ErrUnknownAfterWrongType", `{"term_months":"12","colour":"red"}`, domain.EMALFORMED, "colour"},
		{"ErrWrongTypeString", `{"term_months":"12"}`, domain.EINVALID, "term_months"},
		{"ErrWrongTypeFloat", `{"term_months":12.5}`, domain.EINVALID, "term_months"},
		{"ErrWrongTypeHuge", `{"seats":1e400}`, domain.EINVALID, "seats"},
		{"ErrWrongTypeObject", `{"product_id":{}}`, domain.EINVALID, "product_id"},
		{"ErrWrongTypeBool", `{"license_mode":true}`, domain.EINVALID, "license_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req addItemRequest
			err := decodeBody(tt.body, &req)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if tt.field != "" && domain.ErrorField(err) != tt.field {
				t.Fatalf("field = %q, want %q", domain.ErrorField(err), tt.field)
			}
		})
	}
	t.Run("OKValues", func(t *testing.T) {
		var req addItemRequest
		if err := decodeBody(`{"product_id":"p","term_months":12,"license_mode":"relative","seats":5}`, &req); err != nil {
			t.Fatal(err)
		}
		if req.ProductID != "p" || req.TermMonths != 12 || req.LicenseMode != "relative" || req.Seats == nil || *req.Seats != 5 {
			t.Fatalf("decoded %+v", req)
		}
	})
	t.Run("ErrArrayElementType", func(t *testing.T) {
		var req createProductRequest
		err := decodeBody(`{"name":"n","kind":"module","license_terms_months":[12,"x"]}`, &req)
		if codeOf(err) != domain.EINVALID || !strings.HasPrefix(domain.ErrorField(err), "license_terms_months") {
			t.Fatalf("err = %v (field %q)", err, domain.ErrorField(err))
		}
	})
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return domain.ErrorCode(err)
}

func TestReadBody(t *testing.T) {
	t.Run("ErrDeclaredTooLarge", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		r.ContentLength = MaxBodyBytes + 1
		if _, err := readBody(httptest.NewRecorder(), r); codeOf(err) != EBODYTOOLARGE {
			t.Fatalf("err = %v, want %s", err, EBODYTOOLARGE)
		}
	})
	t.Run("ErrChunkedTooLarge", func(t *testing.T) {
		// Unknown length, as with a chunked body: the cap applies while reading.
		r := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, MaxBodyBytes+1)))
		r.ContentLength = -1
		if _, err := readBody(httptest.NewRecorder(), r); codeOf(err) != EBODYTOOLARGE {
			t.Fatalf("err = %v, want %s", err, EBODYTOOLARGE)
		}
	})
	t.Run("OKAtTheCap", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, MaxBodyBytes)))
		r.ContentLength = -1
		b, err := readBody(httptest.NewRecorder(), r)
		if err != nil || len(b) != MaxBodyBytes {
			t.Fatalf("read %d bytes, err %v", len(b), err)
		}
	})
}

func TestProblem(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{errUnauthenticated, 401, "unauthenticated"},
		{domain.Errorf(domain.EFORBIDDEN, "no"), 403, "forbidden"},
		{errorf(EBODYTOOLARGE, "big"), 413, "body_too_large"},
		{errorf(domain.EMALFORMED, "bad"), 400, "malformed"},
		{domain.ErrOfferNotFound, 404, "not_found"},
		{domain.ErrOfferNotDelivered, 404, "not_found"},
		{domain.Invalid("message", "too long"), 422, "validation_failed"},
		{errorf(EIDEMPOTENCYREUSED, "x"), 422, "idempotency_key_reused"},
		{domain.Errorf(domain.EVERSION, "v"), 412, "version_conflict"},
		{domain.ErrOfferNotPending, 409, "invalid_transition"},
		{errorf(EIDEMPOTENCYINPROGRESS, "x"), 409, "idempotency_in_progress"},
		{errorf(ENOTCAUGHTUP, "x"), 503, "not_caught_up"},
		{bytes.ErrTooLarge, 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			p := problemFor(tt.err)
			if p.Status != tt.status || p.Code != tt.code || ErrorStatus(tt.err) != tt.status {
				t.Fatalf("problem = %+v, want status %d code %s", p, tt.status, tt.code)
			}
			if p.Type != problemTypeBase+tt.code || p.Title == "" || p.Detail == "" {
				t.Fatalf("problem = %+v lacks type, title or detail", p)
			}
		})
	}
	t.Run("InternalDetailHidden", func(t *testing.T) {
		p := problemFor(bytes.ErrTooLarge)
		if strings.Contains(p.Detail, "too large") {
			t.Fatalf("internal detail leaked: %q", p.Detail)
		}
	})
	t.Run("FieldNamed", func(t *testing.T) {
		w := httptest.NewRecorder()
		writeProblem(w, problemFor(domain.Invalid("message", "message must be at most 2000 characters")))
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type = %q", ct)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body["field"] != "message" || body["status"] != float64(422) || body["code"] != "validation_failed" {
			t.Fatalf("body = %v", body)
		}
	})
}

func TestIfMatchHeader(t *testing.T) {
	tests := []struct {
		header string
		want   *uint64
	}{
		{"", nil},
		{"*", nil},
		{`"7"`, ptr(7)},
		{`W/"7"`, ptr(7)},
		{`7`, ptr(7)},
		{`"7", "8"`, ptr(7)},
		{`"abc"`, ptr(^uint64(0))},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("If-Match", tt.header)
		got := ifMatch(r)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("ifMatch(%q) = %v, want %v", tt.header, deref(got), deref(tt.want))
		}
	}
}

func ptr(v uint64) *uint64 { return &v }
func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestFingerprint(t *testing.T) {
	same := [][2]string{
		{`{"a":1,"b":"x"}`, `{ "b" : "x", "a" : 1 }`},
		{`{"a":12}`, `{"a":12.0}`},
		{`{"a":12}`, `{"a":1.2e1}`},
		{`{"a":[1,{"c":null,"b":2}]}`, `{"a":[1,{"b":2,"c":null}]}`},
	}
	for _, p := range same {
		a, b := mustFingerprint(t, p[0]), mustFingerprint(t, p[1])
		if a != b {
			t.Errorf("fingerprint(%s) != fingerprint(%s)", p[0], p[1])
		}
	}
	differ := [][2]string{
		{`{"a":1}`, `{"a":2}`},
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":12345678901234567890}`, `{"a":12345678901234567891}`},
		{`{"a":[1,2]}`, `{"a":[2,1]}`},
		{`{}`, `{"a":null}`},
	}
	for _, p := range differ {
		a, b := mustFingerprint(t, p[0]), mustFingerprint(t, p[1])
		if a == b {
			t.Errorf("fingerprint(%s) == fingerprint(%s)", p[0], p[1])
		}
	}
}

// mustFingerprint fails the test when raw has no fingerprint: two failed
// calls would both return "" and compare equal.
func mustFingerprint(tb testing.TB, raw string) string {
	tb.Helper()
	f, err := fingerprint(json.RawMessage(raw))
	if err != nil || f == "" {
		tb.Fatalf("fingerprint(%s) = %q, %v", raw, f, err)
	}
	return f
}

func TestSealResponse(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	resp := storedResponse{Status: 201, Header: map[string]string{"ETag": `"1"`}, Body: []byte(`{"token":"ofr_secret"}`)}
	sealed, err := sealResponse(key, resp)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("ofr_secret")) {
		t.Fatal("sealed response holds the token in the clear")
	}
	got, err := openResponse(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Fatalf("opened %+v, want %+v", got, resp)
	}
	if _, err := openResponse(bytes.Repeat([]byte{8}, 32), sealed); err == nil {
		t.Fatal("opened with the wrong key")
	}
}

// requestTypes are the bodies the API decodes, for the fuzz target.
var requestTypes = []func() any{
	func() any { return &createResellerRequest{} },
	func() any { return &createTokenRequest{} },
	func() any { return &createProductRequest{} },
	func() any { return &createTemplateRequest{} },
	func() any { return &addItemRequest{} },
	func() any { return &setItemModeRequest{} },
	func() any { return &createCustomerRequest{} },
	func() any { return &createOfferRequest{} },
	func() any { return &createCampaignRequest{} },
	func() any { return &reviseOfferRequest{} },
	func() any { return &rejectRequest{} },
	func() any { return &setWebhookRequest{} },
	func() any { return &revokeTokenRequest{} },
	func() any { return &struct{}{} },
}

// FuzzDecode checks that no body makes a decoder panic or answer anything
// but success, malformed or validation_failed, and that what decodes
// survives a round trip unchanged.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		``, `{}`, `null`, `[]`, `"s"`, `1`, `{"name":"x"}`, `{"name":1}`, `{"name":"x"} {}`,
		`{"role":"reseller","tenant":"t"}`, `{"name":"p","kind":"module","license_terms_months":[12,24]}`,
		`{"license_terms_months":[1e400]}`, `{"product_id":"p","term_months":12,"seats":null}`,
		`{"license_mode":"relative"}`, `{"template_id":"t","message":"hi","expires_at":"2030-01-01T00:00:00Z"}`,
		`{"reason":"` + strings.Repeat("é", 50) + `"}`, `{"url":"https://example.com/hook"}`,
		`{"name":"\ud800"}`, `{"a":`, `{"name":"x","name":2}`, "{\"name\":\"x\"}\x00",
	}
	for _, s := range seeds {
		for i := range requestTypes {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		newReq := requestTypes[int(which)%len(requestTypes)]
		v := newReq()
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		err := decode(httptest.NewRecorder(), r, v)
		switch code := codeOf(err); code {
		case "":
		case domain.EMALFORMED, domain.EINVALID, EBODYTOOLARGE:
			if ErrorStatus(err) >= 500 {
				t.Fatalf("%s answered %d", code, ErrorStatus(err))
			}
			return
		default:
			t.Fatalf("decode(%q) = %v: code %q", body, err, code)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w := newReq()
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/", bytes.NewReader(again)), w); err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %+v into %+v", v, w)
		}
	})
}
