package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !ready {
			http.Error(w, `{"status":"starting"}`, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	if _, stderr, code := runCLI("probe", "--url", srv.URL+"/readyz"); code != 0 {
		t.Errorf("probe of a ready server: exit %d: %s", code, stderr)
	}
	ready = false
	if _, stderr, code := runCLI("probe", "--url", srv.URL+"/readyz"); code != 1 || !strings.Contains(stderr, "503") {
		t.Errorf("probe of a server not ready: exit %d: %s; want 1 naming the status", code, stderr)
	}
	srv.Close()
	if _, _, code := runCLI("probe", "--url", srv.URL+"/readyz"); code != 1 {
		t.Errorf("probe of no server: exit %d, want 1", code)
	}
	if _, _, code := runCLI("probe", "extra"); code != 2 {
		t.Errorf("probe with an argument: exit %d, want 2", code)
	}
}
