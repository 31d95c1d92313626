package main

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// TestDemo_HistoryAndTokens starts serve --demo twice on one directory:
// the first start seeds months of history, with decisions and rejection
// reasons, that the reports count; the second seeds nothing again, and the
// tokens the first printed no longer work, while the new ones do.
func TestDemo_HistoryAndTokens(t *testing.T) {
	dir := t.TempDir()
	token := regexp.MustCompile(`(?m)^export RESELLER_TOKEN=(\S+)$`)
	auditor := regexp.MustCompile(`(?m)^export AUDITOR_TOKEN=(\S+)$`)
	get := func(url, tok string, v any) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil && resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	type report struct {
		Items []struct {
			Key              string
			Counts           map[string]int
			AcceptanceRate   *float64 `json:"acceptance_rate"`
			RejectionReasons []struct {
				Reason string
				Count  int
			} `json:"rejection_reasons"`
		}
	}
	totals := func(r report) map[string]int {
		out := map[string]int{}
		for _, g := range r.Items {
			for st, n := range g.Counts {
				out[st] += n
			}
		}
		return out
	}

	s := MustServe(t, dir, "--demo")
	m := token.FindStringSubmatch(s.stdout)
	if m == nil || auditor.FindStringSubmatch(s.stdout) == nil {
		t.Fatalf("no RESELLER_TOKEN or AUDITOR_TOKEN line:\n%s", s.stdout)
	}
	first := m[1]
	// The contract: serve logs its address once the read models hold all
	// the demo wrote, of which its printed tokens come last.
	caughtUp := func(s *server) {
		t.Helper()
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var last uint64
		if err := db.QueryRow(`SELECT MAX(position) FROM events WHERE type = ?`, domain.TypeTokenIssued).Scan(&last); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		pos := regexp.MustCompile(`(?m)^offerflow_projector_position\{projector="([^"]+)"\} (\d+)$`).FindAllStringSubmatch(string(body), -1)
		if len(pos) == 0 {
			t.Fatalf("/metrics has no offerflow_projector_position:\n%s", body)
		}
		for _, p := range pos {
			if n, _ := strconv.ParseUint(p[2], 10, 64); n < last {
				t.Errorf("listening while projector %s is at %d, before the demo's last token at %d", p[1], n, last)
			}
		}
	}
	caughtUp(s)
	// No waiting: serve logs its address only once the read models hold
	// the history the demo seeded, and scripts query right after it.
	var byMonth report
	if code := get(s.url+"/v1/reports/offers?group_by=month", first, &byMonth); code != 200 {
		t.Fatalf("report: %d", code)
	}
	tot := totals(byMonth)
	if len(byMonth.Items) < 6 || tot["accepted"] == 0 || tot["rejected"] == 0 || tot["expired"] == 0 {
		t.Fatalf("history by month: %d months, totals %v; want 6 months with accepted, rejected and expired offers", len(byMonth.Items), tot)
	}
	var byTemplate report
	get(s.url+"/v1/reports/offers", first, &byTemplate)
	reasons := 0
	for _, g := range byTemplate.Items {
		reasons += len(g.RejectionReasons)
		if g.AcceptanceRate == nil {
			t.Errorf("template %s: no acceptance rate", g.Key)
		}
	}
	if len(byTemplate.Items) != 2 || reasons == 0 {
		t.Errorf("by template: %+v; want two templates with rejection reasons", byTemplate.Items)
	}
	s.stop(t)

	s = MustServe(t, dir, "--demo")
	m = token.FindStringSubmatch(s.stdout)
	if m == nil || m[1] == first {
		t.Fatalf("second start printed no new RESELLER_TOKEN:\n%s", s.stdout)
	}
	caughtUp(s)
	if code := get(s.url+"/v1/reports/offers", first, nil); code != 401 {
		t.Errorf("the first start's token after a restart: %d, want 401", code)
	}
	var again report
	if code := get(s.url+"/v1/reports/offers?group_by=month", m[1], &again); code != 200 {
		t.Fatalf("report with the new token: %d", code)
	}
	if got := totals(again); got["accepted"] != tot["accepted"] || got["rejected"] != tot["rejected"] {
		t.Errorf("after a restart: %v, before %v; the history was seeded twice", got, tot)
	}
}
