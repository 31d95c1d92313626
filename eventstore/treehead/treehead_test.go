package treehead_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

func mustStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendEvents(t *testing.T, s eventstore.Store, stream string, n int) {
	t.Helper()
	ctx := context.Background()
	evs, err := eventstore.ReadStreamAll(ctx, s, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := uint64(len(evs))
	for i := range n {
		_, err := s.Append(ctx, stream, v, eventstore.NewEvent{ID: fmt.Sprintf("%s-%d", stream, v+1), Type: "test.happened", SchemaVersion: 1,
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Metadata: eventstore.Metadata{OccurredAt: time.Unix(1700000000, 0)}})
		if err != nil {
			t.Fatal(err)
		}
		v++
	}
}

func TestKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "treehead.key")
	if _, err := treehead.LoadKey(path); !errors.Is(err, treehead.ErrNoKey) {
		t.Fatalf("LoadKey of a missing file: %v", err)
	}
	k, err := treehead.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	again, err := treehead.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.Public() != k.Public() {
		t.Fatal("a second start made another key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want the key alone", len(entries))
	}

	h := k.Sign(7, make([]byte, 32), time.Date(2026, 12, 2, 10, 0, 0, 123, time.UTC))
	if err := treehead.Verify(h, k.Public()); err != nil {
		t.Fatal(err)
	}
	want := "offerflow tree head v1\nsize 7\nroot_hash " + strings.Repeat("00", 32) + "\ntimestamp 2026-12-02T10:00:00Z\nkey_id " + k.ID() + "\n"
	if got := string(treehead.Canonical(h)); got != want {
		t.Fatalf("canonical form\n%q, want\n%q", got, want)
	}
	for name, change := range map[string]func(*domain.TreeHead){
		"size":      func(h *domain.TreeHead) { h.Size++ },
		"root":      func(h *domain.TreeHead) { h.RootHash = strings.Repeat("11", 32) },
		"timestamp": func(h *domain.TreeHead) { h.Timestamp = h.Timestamp.Add(time.Second) },
		"key":       func(h *domain.TreeHead) { h.KeyID = "0000000000000000" },
	} {
		bad := h
		change(&bad)
		if err := treehead.Verify(bad, k.Public()); !errors.Is(err, treehead.ErrBadSignature) {
			t.Errorf("a head with a changed %s verifies: %v", name, err)
		}
	}
}

func TestService_Head(t *testing.T) {
	ctx := context.Background()
	store := mustStore(t)
	dir := t.TempDir()
	key, err := treehead.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: filepath.Join(dir, "witness")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	// The head of an empty log is signed but not recorded: the log stays
	// empty.
	h0, err := svc.Head(ctx)
	if err != nil || h0.Size != 0 || treehead.Verify(h0, svc.Key()) != nil {
		t.Fatalf("head of the empty log %+v: %v", h0, err)
	}
	if n, err := store.Head(ctx); err != nil || n != 0 {
		t.Fatalf("the empty log is at %d after its head: %v", n, err)
	}
	appendEvents(t, store, "a", 3)

	h1, err := svc.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h1.Size != 3 || treehead.Verify(h1, svc.Key()) != nil {
		t.Fatalf("first head %+v", h1)
	}
	// Recording the head appended one event; asking again gives the same
	// head rather than a head of the head.
	h2, err := svc.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h2 != h1 {
		t.Fatalf("second head %+v, want the first %+v", h2, h1)
	}
	recorded, err := eventstore.ReadStreamAll(ctx, store, treehead.Stream, 0)
	if err != nil || len(recorded) != 1 || recorded[0].Type != treehead.TypeSigned {
		t.Fatalf("recorded heads %v, %v", recorded, err)
	}

	appendEvents(t, store, "b", 2)
	h3, err := svc.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h3.Size != 6 {
		t.Fatalf("head after growth has size %d, want 6 (3 + the first head + 2)", h3.Size)
	}
	proof, err := svc.Consistency(ctx, h1.Size, h3.Size)
	if err != nil || len(proof) == 0 {
		t.Fatalf("consistency proof %v, %v", proof, err)
	}
	for _, c := range [][2]uint64{{0, 3}, {4, 3}, {1, 100}} {
		if _, err := svc.Consistency(ctx, c[0], c[1]); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("consistency %d to %d: %v, want invalid", c[0], c[1], err)
		}
	}
	if problems := svc.Problems(); len(problems) != 0 {
		t.Fatalf("problems on an untouched log: %v", problems)
	}

	// A restart computes the same tree and knows its last head.
	again, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: filepath.Join(dir, "witness")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	h4, err := again.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h4 != h3 || len(again.Problems()) != 0 {
		t.Fatalf("after a restart: head %+v (want %+v), problems %v", h4, h3, again.Problems())
	}
}

// TestService_FindsTampering starts a service over a log that was changed
// behind its back: it reports that the log no longer extends the head it
// recorded and no longer matches its witness, and leaves the witness as it
// was.
// seenThenTampered appends n events to stream "a" of a new log, has a
// service with a witness see them and record a head, then runs the SQL
// tamper on the log behind its back, and returns the log reopened, the key
// and the witness's path.
func seenThenTampered(t *testing.T, n int, tamper string) (*sqlite.Store, *treehead.Key, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	store, err := sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := treehead.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	witness := filepath.Join(dir, "witness")
	appendEvents(t, store, "a", n)
	svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: witness}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Head(ctx); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(svc.Close(), store.Close()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(tamper); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if store, err = sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store, key, witness
}

func TestService_FindsTampering(t *testing.T) {
	ctx := context.Background()
	store, key, witness := seenThenTampered(t, 4, `DELETE FROM events WHERE stream = 'a' AND version = 2`)
	before, err := os.ReadFile(witness)
	if err != nil || len(before) != 4*40 {
		t.Fatalf("witness of %d bytes, want the 4 leaves seen before the head was recorded, 40 bytes each: %v", len(before), err)
	}
	// More events than the witness holds: a witness that went on being
	// written would grow.
	appendEvents(t, store, "b", 3)
	counted := 0
	again, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: witness, OnProblem: func() { counted++ }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if counted != len(again.Problems()) || counted < 2 {
		t.Fatalf("OnProblem called %d times for %d problems, want one each of at least 2", counted, len(again.Problems()))
	}
	problems := errors.Join(again.Problems()...)
	if problems == nil || !strings.Contains(problems.Error(), "witness") || !errors.Is(problems, treehead.ErrNotExtended) {
		t.Fatalf("problems: %v", problems)
	}
	if _, err := again.Head(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(witness)
	if err != nil || string(after) != string(before) {
		t.Fatal("the witness was rewritten after a mismatch")
	}
}

// TestService_CloseWhileSigning closes the service while its periodic signer
// still runs, as serve's shutdown does: under -race this fails if Close
// touches the witness without the signer's lock, and a sync after Close is
// refused instead of writing to the closed witness file.
func TestService_CloseWhileSigning(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, svc, _ := newWitnessed(ctx, t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx, time.Millisecond)
	}()
	for i := range 20 {
		appendEvents(t, store, fmt.Sprintf("s%d", i), 2)
	}
	if err := svc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := svc.Head(ctx); err == nil {
		t.Fatal("a head after Close was signed")
	}
	cancel()
	<-done
}

// TestNew_FailingLog has New fail on a log it cannot read (its context is
// done) instead of hanging or returning a half-made service.
func TestNew_FailingLog(t *testing.T) {
	store := mustStore(t)
	appendEvents(t, store, "a", 2)
	key, err := treehead.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: filepath.Join(t.TempDir(), "witness")}, nil)
		if svc != nil {
			err = errors.Join(err, errors.New("a service came back"))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("New on a done context: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("New hangs when the log cannot be read")
	}
}

// TestService_FindsTruncation: a log that lost its last events, none of
// which a recorded head covers, still differs from the witness: it is
// shorter. The next start reports it once.
func TestService_FindsTruncation(t *testing.T) {
	ctx := context.Background()
	// The head recorded is the log's last event: it goes too, with the
	// two before it.
	store, key, witness := seenThenTampered(t, 5, `DELETE FROM events WHERE stream <> 'a' OR version > 3`)
	again, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: witness}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	problems := again.Problems()
	if len(problems) != 1 || !errors.Is(problems[0], treehead.ErrNotExtended) ||
		!strings.Contains(problems[0].Error(), "the log holds 3 events, this node's witness recorded 5") {
		t.Fatalf("problems: %v", problems)
	}
}

// TestService_Follow: while the service follows the log, the witness
// records events as they are appended, without a head being asked for; it
// stops with its context, and once the service is closed.
func TestService_Follow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, svc, witness := newWitnessed(ctx, t)
	done := make(chan error, 1)
	go func() { done <- svc.Follow(ctx, time.Millisecond) }()
	for round := 1; round <= 3; round++ {
		appendEvents(t, store, fmt.Sprintf("s%d", round), 2)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st, err := os.Stat(witness)
			if err == nil && st.Size() == int64(round*2*40) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the witness holds %v bytes (%v), want %d", round, st.Size(), err, round*2*40)
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow ended with %v, want context.Canceled", err)
	}
	// Closed while following: Follow ends instead of failing for ever.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- svc.Follow(ctx2, time.Millisecond) }()
	appendEvents(t, store, "late", 1)
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Follow after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow goes on after Close")
	}
}

// newWitnessed returns a new log and a service over it with a key and a
// witness file of its own, and the witness's path.
func newWitnessed(ctx context.Context, t *testing.T) (eventstore.Store, *treehead.Service, string) {
	t.Helper()
	store := mustStore(t)
	dir := t.TempDir()
	key, err := treehead.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	witness := filepath.Join(dir, "witness")
	svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, Witness: witness}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return store, svc, witness
}
