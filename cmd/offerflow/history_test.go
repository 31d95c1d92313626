package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistory_CausedStreams runs `history` on an accepted offer of the
// bench's log: it shows the licenses.granted of the offer's grant stream
// beside the offer's own events, in log order, verifies each stream's chain
// on its own, and fails when the grant's event was changed.
func TestHistory_CausedStreams(t *testing.T) {
	dir := t.TempDir()
	mustBenchLog(t, dir, 300)
	db, err := sql.Open("sqlite3", filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var grant row
	for _, r := range readRows(t, db) {
		if strings.HasPrefix(r.stream, "grant-") {
			grant = r
			break
		}
	}
	if grant.stream == "" {
		t.Fatal("the bench's log holds no grant")
	}
	offer := strings.TrimPrefix(grant.stream, "grant-")

	out, stderr, code := runCLI("history", "--data", dir, offer)
	if code != 0 {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, stderr)
	}
	var streams []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[1] == "offer-"+offer || f[1] == grant.stream) {
			streams = append(streams, f[1]+" "+f[4])
		}
	}
	if n := len(streams); n < 4 || streams[n-1] != grant.stream+" licenses.granted" || streams[0] != "offer-"+offer+" offer.created" {
		t.Fatalf("history rows (stream, type): %q\n%s", streams, out)
	}
	for _, want := range []string{"hash chain intact: offer-" + offer + ",", "hash chain intact: " + grant.stream + ", 1 events"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := runCLI("history", "--data", dir, offer, "--json"); code != 0 || !strings.Contains(out, `"stream":"`+grant.stream+`"`) {
		t.Fatalf("history --json: exit %d\n%s", code, out)
	}

	mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, `{"tampered":true}`, grant.position)
	if out, stderr, code := runCLI("history", "--data", dir, offer); code != 1 || !strings.Contains(stderr, grant.stream) {
		t.Fatalf("history of a changed grant: exit %d, want 1 naming %s\n%s\n%s", code, grant.stream, out, stderr)
	}
}
