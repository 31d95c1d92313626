package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// A log holding an event no projector can decode: serve starts anyway, and
// again after a restart, /readyz answers degraded with the count, and the
// metric counts the parked event.
func TestServe_PoisonedEventParked(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), "customer-poison", eventstore.NoStream, eventstore.NewEvent{
		ID: "poison-1", Type: domain.TypeCustomerRegistered, SchemaVersion: 1,
		Data: json.RawMessage(`{"customer_id": 12}`),
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	get := func(s *server, path string) (int, string) {
		t.Helper()
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, round := range []string{"first start", "restart"} {
		s := MustServe(t, dir, "--processes=false")
		if code, body := get(s, "/readyz"); code != 200 || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"parked_events":1`) {
			t.Errorf("%s: /readyz = %d %s", round, code, body)
		}
		metric := `offerflow_poisoned_messages_total{handler="projection.read_models"} 1`
		_, body := get(s, "/metrics")
		if round == "first start" && !strings.Contains(body, metric) {
			t.Errorf("%s: /metrics lacks %s", round, metric)
		}
		if round == "restart" && strings.Contains(body, metric) {
			t.Errorf("%s: the event was parked again", round)
		}
		s.stop(t)
	}

	out, stderr, code := runCLI("poison", "list", "--data", dir)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"position":1,"type":"customer.registered","stream":"customer-poison","event_id":"poison-1"`) {
		t.Errorf("poison list = %d %q %q", code, out, stderr)
	}
	if _, _, code := runCLI("poison", "list", "--data", filepath.Join(dir, "nothing")); code != 1 {
		t.Errorf("poison list on a directory without read models: exit %d", code)
	}
	if _, _, code := runCLI("poison"); code != 2 {
		t.Errorf("poison without list: exit %d", code)
	}

	// Retried unmended, it fails again and stays parked.
	out, stderr, code = runCLI("poison", "retry", "--data", dir)
	if code != 1 || !strings.Contains(out, `"outcome":"failed"`) || !strings.Contains(out, `"tries":2`) {
		t.Errorf("poison retry of a still broken event = %d %q %q", code, out, stderr)
	}
	if _, stderr, code := runCLI("poison", "retry", "--data", dir, "no-such-event"); code != 1 || !strings.Contains(stderr, "no-such-event") {
		t.Errorf("poison retry of an event not parked = %d %q", code, stderr)
	}

	// The fix: the event now applies (the test mends the stored event, the
	// only way it has to make the same event good). Retried by id while
	// serve runs, it is applied, and the node is ready again.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `UPDATE events SET data = ? WHERE position = 1`, `{"customer_id":"mended","reseller_id":"r","name":"Mended"}`)
	_ = db.Close()
	s := MustServe(t, dir, "--processes=false")
	if _, body := get(s, "/metrics"); !strings.Contains(body, "offerflow_parked_events 1") {
		t.Errorf("/metrics lacks offerflow_parked_events 1")
	}
	out, stderr, code = runCLI("poison", "retry", "poison-1", "--data", dir)
	if code != 0 || !strings.Contains(out, `"outcome":"applied"`) {
		t.Errorf("poison retry of the mended event = %d %q %q", code, out, stderr)
	}
	if code, body := get(s, "/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz after the retry = %d %s", code, body)
	}
	if _, body := get(s, "/metrics"); !strings.Contains(body, "offerflow_parked_events 0") {
		t.Errorf("/metrics lacks offerflow_parked_events 0 after the retry")
	}
	s.stop(t)
	if out, _, code := runCLI("poison", "list", "--data", dir); code != 0 || out != "" {
		t.Errorf("poison list after the retry = %d %q", code, out)
	}
	if _, stderr, code := runCLI("poison", "retry", "--data", dir); code != 0 || !strings.Contains(stderr, "no parked events") {
		t.Errorf("poison retry with nothing parked = %d %q", code, stderr)
	}
}
