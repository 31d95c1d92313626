package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// apiRoutes lists "METHOD pattern" of every authenticated route the router
// serves.
func apiRoutes(tb testing.TB, ts *TestServer) []string {
	tb.Helper()
	var out []string
	for _, r := range walk(tb, ts) {
		if strings.HasPrefix(r, "GET /v1/openapi.json") || !strings.Contains(r, " /v1/") {
			continue
		}
		out = append(out, r)
	}
	return out
}

// walk lists "METHOD pattern" of every route the router serves.
func walk(tb testing.TB, ts *TestServer) []string {
	tb.Helper()
	router, ok := ts.Handler().(chi.Routes)
	if !ok {
		tb.Fatalf("the handler is a %T, not a chi router", ts.Handler())
	}
	var out []string
	err := chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		out = append(out, method+" "+route)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestOpenAPI_Routes fails on any route the router serves that the OpenAPI
// document lacks, and on any operation of the document the router does not
// serve.
func TestOpenAPI_Routes(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	doc := mustSpec(t).doc
	served := map[string]bool{}
	for _, r := range walk(t, ts) {
		served[r] = true
		method, path, _ := strings.Cut(r, " ")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("the router serves %s, which the OpenAPI document lacks", r)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("the OpenAPI document has %s %s, which the router does not serve", method, path)
			}
		}
	}
	if len(served) < 30 {
		t.Fatalf("walked only %d routes", len(served))
	}
	// The document is served without a token.
	r := ts.As("").Must(t, 200, "GET", "/v1/openapi.json", nil)
	if !strings.Contains(string(r.Body), `"openapi": "3.0.3"`) {
		t.Fatalf("served document: %.200s", r.Body)
	}
}
