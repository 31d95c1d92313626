package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// mustHead runs `offerflow head` and returns its line.
func mustHead(tb testing.TB, dir string) string {
	tb.Helper()
	out, stderr, code := runCLI("head", "--data", dir)
	if code != 0 {
		tb.Fatalf("head: exit %d: %s", code, stderr)
	}
	var h domain.TreeHead
	if err := json.Unmarshal([]byte(out), &h); err != nil || h.Size == 0 || h.Signature == "" {
		tb.Fatalf("head printed %q: %v", out, err)
	}
	return out
}

// TestVerifyHead_Tamper tampers with copies of a data directory in every
// way an event can go missing, change or move, each time covering its
// tracks by re-sealing the hash chains, and expects `verify --head` to fail naming
// the first bad position, while the untouched copy passes.
func TestVerifyHead_Tamper(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	mustBenchLog(t, base, 60)
	heads := mustHead(t, base)
	// A few events after the first head, so that the file holds two heads
	// and the last events of the log are covered only by the second; and a
	// head recorded in the log between them, as serve records them.
	store, err := sqlite.Open(context.Background(), filepath.Join(base, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	recordHead(t, store, base)
	for i := range 3 {
		if _, err := store.Append(context.Background(), "note-x", uint64(i), eventstore.NewEvent{ID: fmt.Sprint(i), Type: "test.note", SchemaVersion: 1,
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	heads += mustHead(t, base)
	headsFile := filepath.Join(root, "heads.ndjson")
	if err := os.WriteFile(headsFile, []byte(heads), 0o600); err != nil {
		t.Fatal(err)
	}

	untouched := filepath.Join(root, "untouched")
	copyDir(t, base, untouched)
	if out, stderr, code := runCLI("verify", "--data", untouched, "--head", headsFile); code != 0 || !strings.Contains(out, "tree heads ok: the log extends all 2 heads") {
		t.Fatalf("the untouched copy: exit %d\n%s\n%s", code, out, stderr)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	pick := func(rs []row) row { return rs[rng.IntN(len(rs))] }
	lastOf := func(rs []row) map[string]row {
		m := map[string]row{}
		for _, r := range rs {
			m[r.stream] = r
		}
		return m
	}
	streams := func(rs []row) []string {
		var out []string
		for s := range lastOf(rs) {
			out = append(out, s)
		}
		return out
	}

	// Each tampering changes a copy and returns the position that verify
	// must name as the first bad one.
	kinds := []struct {
		name   string
		repeat int
		tamper func(db *sql.DB, rs []row) uint64
	}{
		{"last event of the log", 1, func(db *sql.DB, rs []row) uint64 {
			last := rs[len(rs)-1]
			mustExec(t, db, `DELETE FROM events WHERE position = ?`, last.position)
			return last.position
		}},
		{"last event of a stream", 10, func(db *sql.DB, rs []row) uint64 {
			ss := streams(rs)
			last := lastOf(rs)[ss[rng.IntN(len(ss))]]
			mustExec(t, db, `DELETE FROM events WHERE position = ?`, last.position)
			return last.position
		}},
		{"whole stream", 10, func(db *sql.DB, rs []row) uint64 {
			ss := streams(rs)
			s := ss[rng.IntN(len(ss))]
			first := uint64(0)
			for _, r := range rs {
				if r.stream == s && first == 0 {
					first = r.position
				}
			}
			mustExec(t, db, `DELETE FROM events WHERE stream = ?`, s)
			return first
		}},
		{"middle event", 10, func(db *sql.DB, rs []row) uint64 {
			last := lastOf(rs)
			var middle []row
			for _, r := range rs {
				if r.version > 1 && last[r.stream].position != r.position {
					middle = append(middle, r)
				}
			}
			r := pick(middle)
			mustExec(t, db, `DELETE FROM events WHERE position = ?`, r.position)
			rechain(t, db, r.stream)
			return r.position
		}},
		{"changed payload", 10, func(db *sql.DB, rs []row) uint64 {
			r := pick(rs)
			mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, `{"tampered":true}`, r.position)
			rechain(t, db, r.stream)
			return r.position
		}},
		{"changed payload, chain left broken", 5, func(db *sql.DB, rs []row) uint64 {
			r := pick(rs)
			mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, `{"tampered":true}`, r.position)
			return r.position
		}},
		{"swapped payloads", 10, func(db *sql.DB, rs []row) uint64 {
			a, b := pick(rs), pick(rs)
			for a.data == b.data {
				b = pick(rs)
			}
			if a.position > b.position {
				a, b = b, a
			}
			mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, b.data, a.position)
			mustExec(t, db, `UPDATE events SET data = ? WHERE position = ?`, a.data, b.position)
			rechain(t, db, a.stream)
			rechain(t, db, b.stream)
			return a.position
		}},
		{"swapped events, chains intact", 10, func(db *sql.DB, rs []row) uint64 {
			// Two neighbours of different streams trade places: each
			// stream's events keep their order, so no chain can tell.
			var pairs []int
			for i := 0; i+1 < len(rs); i++ {
				if rs[i].stream != rs[i+1].stream {
					pairs = append(pairs, i)
				}
			}
			i := pairs[rng.IntN(len(pairs))]
			a, b := rs[i].position, rs[i+1].position
			mustExec(t, db, `UPDATE events SET position = -1 WHERE position = ?`, a)
			mustExec(t, db, `UPDATE events SET position = ? WHERE position = ?`, a, b)
			mustExec(t, db, `UPDATE events SET position = ? WHERE position = -1`, b)
			return a
		}},
	}
	n := 0
	for _, k := range kinds {
		for i := range k.repeat {
			n++
			dir := filepath.Join(root, fmt.Sprintf("copy-%d", n))
			copyDir(t, base, dir)
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile))
			if err != nil {
				t.Fatal(err)
			}
			want := k.tamper(db, readRows(t, db))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			// The chains were re-sealed: plain verify still passes the
			// chains, and only the heads can tell.
			out, stderr, code := runCLI("verify", "--data", dir, "--head", headsFile)
			if code == 0 {
				t.Fatalf("%s #%d (position %d): verify --head passed\n%s", k.name, i, want, out)
			}
			if msg := fmt.Sprintf("first bad position %d (leaf ", want); !strings.Contains(stderr, msg) {
				t.Fatalf("%s #%d: verify did not say %q:\n%s", k.name, i, msg, stderr)
			}
			if strings.Contains(stderr, "hash chain broken") != strings.Contains(k.name, "chain left broken") {
				t.Fatalf("%s #%d: the chain check says otherwise than the tampering should leave it:\n%s", k.name, i, stderr)
			}
			// Without the witness the heads still catch it, naming where
			// the search starts.
			if err := os.Remove(filepath.Join(dir, witnessFile)); err != nil {
				t.Fatal(err)
			}
			if _, stderr, code := runCLI("verify", "--data", dir, "--head", headsFile); code == 0 || !strings.Contains(stderr, "first bad position at or after") {
				t.Fatalf("%s #%d without a witness: exit %d\n%s", k.name, i, code, stderr)
			}
		}
	}
	t.Logf("%d tamperings of %d kinds caught, each with and without the witness", n, len(kinds))
}

// TestNoLog runs every command that reads an existing log on a directory
// that holds none (missing, empty, or with an events.db that is empty or no
// SQLite database): each fails saying so, and nothing is created or
// changed.
func TestNoLog(t *testing.T) {
	for _, args := range [][]string{
		{"verify"}, {"verify", "--head", "heads"}, {"history", "some-offer"}, {"export"}, {"rebuild"}, {"head"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			for _, log := range []*string{nil, ptr(""), ptr("not a database, just text")} {
				dir := filepath.Join(t.TempDir(), "missing")
				if log != nil {
					dir = t.TempDir()
					if err := os.WriteFile(filepath.Join(dir, eventsFile), []byte(*log), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				cmd := append([]string{args[0], "--data", dir}, args[1:]...)
				_, stderr, code := runCLI(cmd...)
				if code == 0 || !strings.Contains(stderr, "no event log in "+dir) {
					t.Fatalf("%v: exit %d: %s", cmd, code, stderr)
				}
				entries, err := os.ReadDir(dir)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if log == nil && len(entries) > 0 || log != nil && len(entries) != 1 {
					t.Fatalf("%v created %v", cmd, entries)
				}
				if log != nil {
					if b, err := os.ReadFile(filepath.Join(dir, eventsFile)); err != nil || string(b) != *log {
						t.Fatalf("%v changed %s to %q (%v)", cmd, eventsFile, b, err)
					}
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestKeyAndHead checks that `key` prints the public key that verifies the
// heads `head` prints, and that the key file is private.
func TestKeyAndHead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	mustBenchLog(t, dir, 10)
	var h domain.TreeHead
	if err := json.Unmarshal([]byte(mustHead(t, dir)), &h); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI("key", "--data", dir)
	if code != 0 {
		t.Fatalf("key: %s", stderr)
	}
	var k domain.TreeKey
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatal(err)
	}
	if err := treehead.Verify(h, k); err != nil {
		t.Fatalf("the head does not verify with the printed key: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, treeKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
}

// TestServe_TreeHeads runs serve, which signs heads periodically and on
// demand: the log records the heads it signs, the head it serves verifies
// with the key `offerflow key` prints, and once serve is stopped, `verify
// --head` proves the log still extends the served head.
func TestServe_TreeHeads(t *testing.T) {
	dir := t.TempDir()
	s := MustServe(t, dir, "--demo", "--head-interval", "20ms")
	var auditor string
	for _, line := range strings.Split(s.stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "export AUDITOR_TOKEN="); ok {
			auditor = strings.TrimSpace(v)
		}
	}
	if auditor == "" {
		t.Fatalf("no auditor token in %q", s.stdout)
	}
	// Before anyone asks, the periodic signer records a head.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		export, _, _ := runCLI("export", "--data", dir)
		if strings.Contains(export, `"stream":"`+treehead.Stream+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve recorded no tree head within 10 s")
		}
	}
	req, err := http.NewRequest("GET", s.url+"/v1/audit/head", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+auditor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var h domain.TreeHead
	if resp.StatusCode != 200 || json.Unmarshal(body, &h) != nil || h.Size == 0 {
		t.Fatalf("GET /v1/audit/head: %d %s", resp.StatusCode, body)
	}
	out, stderr, code := runCLI("key", "--data", dir)
	var k domain.TreeKey
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil {
		t.Fatalf("key: %d %s", code, stderr)
	}
	if err := treehead.Verify(h, k); err != nil {
		t.Fatal(err)
	}
	s.stop(t)

	heads := filepath.Join(t.TempDir(), "heads")
	if err := os.WriteFile(heads, append(body, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runCLI("verify", "--data", dir, "--head", heads); code != 0 {
		t.Fatalf("verify --head: exit %d\n%s\n%s", code, out, stderr)
	}

	// Removed behind serve's back, the first event is missed at the next
	// start: the metric counts what the tree found.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `DELETE FROM events WHERE position = (SELECT min(position) FROM events)`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustServe(t, dir)
	resp, err = http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^offerflow_tamper_evidence_problems_total (\d+)`).FindSubmatch(metrics)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("after tampering, the metric reads %q", m)
	}
}

// TestVerify_WitnessCatchesRemovedTail: the log loses its last event after
// the node last saw it, with no head covering it (the one-event stream of a
// token, in the issue): plain `verify`, without a head file, fails naming
// its position, before and after a rebuild, since this node's witness saw
// it; `head` warns; the untouched log passes.
func TestVerify_WitnessCatchesRemovedTail(t *testing.T) {
	dir := t.TempDir()
	mustBenchLog(t, dir, 40)
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), "token-tail", eventstore.NoStream, eventstore.NewEvent{ID: "tail", Type: "test.note", SchemaVersion: 1,
		Data: json.RawMessage(`{"n":1}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	last := res.Position
	mustHead(t, dir) // the node sees the whole log, its last event included
	out, stderr, code := runCLI("verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "leaves of this node's witness") {
		t.Fatalf("verify of the untouched log: exit %d\n%s\n%s", code, out, stderr)
	}

	deleteEvent(t, dir, last)
	want := fmt.Sprintf("this node's witness of %d events: first bad position %d (leaf ", last, last)
	for _, step := range []string{"removed", "rebuilt"} {
		if step == "rebuilt" {
			if _, stderr, code := runCLI("rebuild", "--data", dir); code != 0 {
				t.Fatalf("rebuild: exit %d: %s", code, stderr)
			}
		}
		out, stderr, code := runCLI("verify", "--data", dir)
		if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "removed, with every later event the witness recorded") {
			t.Fatalf("verify, tail %s: exit %d, want it to say %q\n%s\n%s", step, code, want, out, stderr)
		}
	}
	if _, stderr, code := runCLI("head", "--data", dir); code != 0 || !strings.Contains(stderr, fmt.Sprintf("witness recorded %d", last)) {
		t.Fatalf("head over the shortened log: exit %d, stderr %q", code, stderr)
	}
}

// TestServe_WitnessFollowsTheLog: serve, asked for no head and signing none
// (--head-interval 0), still witnesses what is appended within moments, so
// that the last event removed after it stopped fails verify.
func TestServe_WitnessFollowsTheLog(t *testing.T) {
	dir := t.TempDir()
	const opToken = "ofr_witness-test-operator-token-0123456789abcdef"
	s := MustServe(t, dir, "--operator-token", opToken, "--head-interval", "0")
	op := apiClient{t, s.url, opToken}
	_, pos := op.must(201, "POST", "/v1/resellers", map[string]string{"name": "Zeuge"})
	last, err := strconv.ParseUint(pos, 10, 64)
	if err != nil {
		t.Fatalf("X-Log-Position %q: %v", pos, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err := os.Stat(filepath.Join(dir, witnessFile)); err == nil && uint64(st.Size()) >= last*40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the witness does not reach position %d within 10 s", last)
		}
	}
	s.stop(t)
	deleteEvent(t, dir, last)
	if _, stderr, code := runCLI("verify", "--data", dir); code == 0 || !strings.Contains(stderr, fmt.Sprintf("first bad position %d (leaf ", last)) {
		t.Fatalf("verify after the last event was removed: exit %d\n%s", code, stderr)
	}
}

// deleteEvent deletes the event at position from dir's events.db behind
// offerflow's back.
func deleteEvent(t *testing.T, dir string, position uint64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `DELETE FROM events WHERE position = ?`, position)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
