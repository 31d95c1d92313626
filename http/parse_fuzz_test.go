package http

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// FuzzIfMatch feeds the If-Match (ETag) parser any header value: it must
// not panic, must match any version for an absent header or "*", must read
// back every ETag the server sends, and must turn anything that is no
// version into one no stream reaches.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"7"`, `W/"7"`, "7", `"7", "8"`, `"-1"`, `"18446744073709551615"`, `"18446744073709551616"`, `" 3 "`, `W/`, `""`, "\x00"} {
		f.Add(s, uint64(3))
	}
	f.Fuzz(func(t *testing.T, header string, version uint64) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("If-Match", header)
		got := ifMatch(r)
		h := strings.TrimSpace(header)
		if h == "" || h == "*" {
			if got != nil {
				t.Fatalf("If-Match %q = %d, want any version", header, *got)
			}
			return
		}
		if got == nil {
			t.Fatalf("If-Match %q matches any version", header)
		}
		first, _, _ := strings.Cut(h, ",")
		if _, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(strings.TrimSpace(first), "W/"), `"`), 10, 64); err != nil && *got != math.MaxUint64 {
			t.Fatalf("If-Match %q, no version, parsed as %d", header, *got)
		}

		// The ETag the server sends for version reads back as version.
		w := httptest.NewRecorder()
		setETag(w, version)
		r.Header.Set("If-Match", w.Header().Get("ETag"))
		if got := ifMatch(r); got == nil || *got != version {
			t.Fatalf("ETag %q read back as %v, want %d", w.Header().Get("ETag"), got, version)
		}
	})
}

// FuzzLastEventID feeds the stream's resume position parser any header or
// query value: it must not panic, must answer malformed for what is no log
// position, and must read back every SSE id the server sends.
func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "42", " 42 ", "-1", "18446744073709551615", "18446744073709551616", "4x", "\t", "%00"} {
		f.Add(s, true, uint64(42))
		f.Add(s, false, uint64(0))
	}
	f.Fuzz(func(t *testing.T, value string, header bool, id uint64) {
		r := httptest.NewRequest("GET", "/v1/stream", nil)
		if header {
			r.Header.Set("Last-Event-ID", value)
		} else {
			r.URL.RawQuery = url.Values{"last_event_id": {value}}.Encode()
		}
		from, resumed, err := lastEventID(r)
		if value == "" {
			if resumed || err != nil {
				t.Fatalf("no Last-Event-ID: resumed %v, err %v", resumed, err)
			}
			return
		}
		if err != nil {
			if codeOf(err) != domain.EMALFORMED || resumed {
				t.Fatalf("Last-Event-ID %q: %v (code %q), resumed %v", value, err, codeOf(err), resumed)
			}
			return
		}
		if !resumed || strconv.FormatUint(from, 10) != strings.TrimLeft(strings.TrimSpace(value), "+0") && from != 0 {
			t.Fatalf("Last-Event-ID %q read as %d (resumed %v)", value, from, resumed)
		}
		r.Header.Set("Last-Event-ID", strconv.FormatUint(id, 10))
		if got, ok, err := lastEventID(r); got != id || !ok || err != nil {
			t.Fatalf("SSE id %d read back as %d, %v, %v", id, got, ok, err)
		}
	})
}

// TestFuzzDecode_CoversEveryRequest keeps FuzzDecode honest: every request
// body type the package declares is among the ones it fuzzes.
func TestFuzzDecode_CoversEveryRequest(t *testing.T) {
	fuzzed := map[string]bool{}
	for _, newReq := range requestTypes {
		fuzzed[reflect.TypeOf(newReq()).Elem().Name()] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !strings.HasSuffix(ts.Name.Name, "Request") {
				return true
			}
			if _, isStruct := ts.Type.(*ast.StructType); isStruct && !fuzzed[ts.Name.Name] {
				t.Errorf("%s (%s) is a request body FuzzDecode does not fuzz: add it to requestTypes", ts.Name.Name, name)
			}
			return true
		})
	}
}
