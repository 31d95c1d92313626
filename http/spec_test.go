package http_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	ofhttp "github.com/offerflow/offerflow/http"
)

// spec checks real responses against the served OpenAPI document.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// mustSpec loads and validates the OpenAPI document once per test binary.
func mustSpec(tb testing.TB) *spec {
	tb.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(ofhttp.OpenAPI())
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		// Route matching ignores the host: the document's server is "/".
		doc.Servers = nil
		r, err := legacy.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		specVal = &spec{doc: doc, router: r}
	})
	if specErr != nil {
		tb.Fatalf("the OpenAPI document: %v", specErr)
	}
	return specVal
}

// check validates one response: its route and status must be in the
// document, and its headers and JSON body must fit the schema. A 404 or
// 405 for a path the API does not serve needs no route.
func (s *spec) check(tb testing.TB, req *http.Request, r Response) {
	tb.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = http.NoBody
	route, params, err := s.router.FindRoute(vreq)
	if err != nil {
		if (r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed) && r.Code() != "" {
			return
		}
		tb.Errorf("OpenAPI: no operation for %s %s (answered %s)", req.Method, req.URL.Path, r)
		return
	}
	// Bodies are checked against their schemas where they are JSON; the
	// others (streams, HTML, assets) by status and content type only.
	ct := r.Header.Get("Content-Type")
	notJSON := !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/problem+json")
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: notJSON, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		tb.Errorf("OpenAPI: %s %s answered %s, which the document does not allow: %v", req.Method, req.URL.Path, r, err)
	}
}
