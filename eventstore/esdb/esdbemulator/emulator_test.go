package esdbemulator_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/eventstore/esdb/esdbemulator"
)

// These tests speak to the emulator through the official client, as the
// adapter does, to check the answers' shapes the client decodes.

func client(t *testing.T) *esdbclient.Client {
	t.Helper()
	em, err := esdbemulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	c, err := em.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		if err := em.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func event(typ string) esdbclient.EventData {
	return esdbclient.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)}
}

func TestAppend_WrongExpectedVersionReachesTheClient(t *testing.T) {
	c := client(t)
	if _, err := c.AppendToStream(t.Context(), "s", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, event("a")); err != nil {
		t.Fatal(err)
	}
	for _, exp := range []esdbclient.ExpectedRevision{esdbclient.NoStream{}, esdbclient.Revision(5)} {
		_, err := c.AppendToStream(t.Context(), "s", esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, event("b"))
		var e *esdbclient.Error
		if !errors.As(err, &e) || e.Code() != esdbclient.ErrorCodeWrongExpectedVersion {
			t.Errorf("append at %v to a stream at 0: %v, want a wrong expected version", exp, err)
		}
	}
	_, err := c.AppendToStream(t.Context(), "new", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.StreamExists{}}, event("b"))
	if !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
		t.Errorf("StreamExists on a new stream: %v", err)
	}
}

func isCode(err error, code esdbclient.ErrorCode) bool {
	var e *esdbclient.Error
	return errors.As(err, &e) && e.Code() == code
}

func TestRead_StreamsAndAll(t *testing.T) {
	c := client(t)
	var ids []uuid.UUID
	for _, stream := range []string{"a", "b", "a"} {
		ev := event("t")
		ids = append(ids, ev.EventID)
		if _, err := c.AppendToStream(t.Context(), stream, esdbclient.AppendToStreamOptions{}, ev); err != nil {
			t.Fatal(err)
		}
	}
	all := readAll(t, c, esdbclient.ReadAllOptions{From: esdbclient.Start{}})
	if len(all) != 3 || all[0].EventID != ids[0] || all[2].EventID != ids[2] || all[2].EventNumber != 1 {
		t.Fatalf("$all read %+v", all)
	}
	if all[0].Position.Commit == 0 || all[0].Position.Commit != all[0].Position.Prepare || all[1].Position.Commit <= all[0].Position.Commit+1 {
		t.Errorf("positions %v, %v: want non-zero, commit = prepare, increasing with gaps", all[0].Position, all[1].Position)
	}
	// Forwards includes the start position; backwards starts before it.
	if got := readAll(t, c, esdbclient.ReadAllOptions{From: all[1].Position}); len(got) != 2 || got[0].EventID != ids[1] {
		t.Errorf("forwards from the second event: %d events", len(got))
	}
	if got := readAll(t, c, esdbclient.ReadAllOptions{From: all[1].Position, Direction: esdbclient.Backwards}); len(got) != 1 || got[0].EventID != ids[0] {
		t.Errorf("backwards from the second event: %d events", len(got))
	}
	bad := all[1].Position
	bad.Commit++
	bad.Prepare++
	rs, err := c.ReadAll(t.Context(), esdbclient.ReadAllOptions{From: bad}, 10)
	if err == nil {
		_, err = rs.Recv()
		rs.Close()
	}
	if err == nil || errors.Is(err, io.EOF) {
		t.Errorf("read from inside a record: %v, want an error", err)
	}
	rs, err = c.ReadStream(t.Context(), "missing", esdbclient.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if _, err := rs.Recv(); !isCode(err, esdbclient.ErrorCodeResourceNotFound) {
		t.Errorf("read of a missing stream: %v, want not found", err)
	}
}

func readAll(t *testing.T, c *esdbclient.Client, opts esdbclient.ReadAllOptions) []esdbclient.RecordedEvent {
	t.Helper()
	rs, err := c.ReadAll(t.Context(), opts, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []esdbclient.RecordedEvent
	for {
		re, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *re.OriginalEvent())
	}
}

// TestSubscribeToAll_Filter subscribes from the first event with a stream
// prefix filter and checks that it skips the start, other streams, and
// delivers a live event after catching up.
func TestSubscribeToAll_Filter(t *testing.T) {
	c := client(t)
	appendTo := func(stream string) esdbclient.Position {
		t.Helper()
		if _, err := c.AppendToStream(t.Context(), stream, esdbclient.AppendToStreamOptions{}, event("t")); err != nil {
			t.Fatal(err)
		}
		all := readAll(t, c, esdbclient.ReadAllOptions{From: esdbclient.End{}, Direction: esdbclient.Backwards})
		return all[0].Position
	}
	start := appendTo("app-1")
	appendTo("other-1")
	stored := appendTo("app-2")
	sub, err := c.SubscribeToAll(t.Context(), esdbclient.SubscribeToAllOptions{
		From:   start,
		Filter: &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{"app-"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next := func() esdbclient.Position {
		t.Helper()
		for {
			ev := sub.Recv()
			switch {
			case ev.SubscriptionDropped != nil:
				t.Fatalf("dropped: %v", ev.SubscriptionDropped.Error)
			case ev.EventAppeared != nil:
				return ev.EventAppeared.OriginalEvent().Position
			}
		}
	}
	if got := next(); got != stored {
		t.Fatalf("first event %v, want app-2's %v (after the start, skipping other-1)", got, stored)
	}
	live := appendTo("app-3")
	if got := next(); got != live {
		t.Errorf("live event %v, want %v", got, live)
	}
}

// TestSubscribeToStream_AfterRevision subscribes to a stream after a
// revision it has not reached yet: only later revisions are delivered.
func TestSubscribeToStream_AfterRevision(t *testing.T) {
	c := client(t)
	appendOne := func() uuid.UUID {
		t.Helper()
		ev := event("t")
		if _, err := c.AppendToStream(t.Context(), "s", esdbclient.AppendToStreamOptions{}, ev); err != nil {
			t.Fatal(err)
		}
		return ev.EventID
	}
	appendOne() // revision 0
	sub, err := c.SubscribeToStream(t.Context(), "s", esdbclient.SubscribeToStreamOptions{From: esdbclient.Revision(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	appendOne() // revision 1: not after 1
	want := appendOne()
	for {
		ev := sub.Recv()
		if ev.SubscriptionDropped != nil {
			t.Fatalf("dropped: %v", ev.SubscriptionDropped.Error)
		}
		if ev.EventAppeared != nil {
			if got := ev.EventAppeared.OriginalEvent(); got.EventID != want || got.EventNumber != 2 {
				t.Errorf("first event delivered: revision %d, want revision 2", got.EventNumber)
			}
			return
		}
	}
}

// TestRead_StreamMetadata checks what the emulator applies of a stream's
// metadata, as EventStoreDB documents it: $maxCount, $maxAge (by the
// server's clock) and $tb hide events from stream reads, never from $all,
// and never change the stream's revision.
func TestRead_StreamMetadata(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	em, err := esdbemulator.StartConfig(esdbemulator.Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := em.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = em.Close() })
	ctx := t.Context()
	for range 4 {
		if _, err := c.AppendToStream(ctx, "s", esdbclient.AppendToStreamOptions{}, event("t")); err != nil {
			t.Fatal(err)
		}
	}
	revisions := func(opts esdbclient.ReadStreamOptions) []uint64 {
		t.Helper()
		rs, err := c.ReadStream(ctx, "s", opts, 100)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		out := []uint64{}
		for {
			re, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			out = append(out, re.OriginalEvent().EventNumber)
		}
	}
	forwards := esdbclient.ReadStreamOptions{From: esdbclient.Start{}}
	backwards := esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}
	setMeta := func(md esdbclient.StreamMetadata) {
		t.Helper()
		if _, err := c.SetStreamMetadata(ctx, "s", esdbclient.AppendToStreamOptions{}, md); err != nil {
			t.Fatal(err)
		}
	}

	var md esdbclient.StreamMetadata
	md.SetMaxCount(2)
	setMeta(md)
	if got := revisions(forwards); !reflect.DeepEqual(got, []uint64{2, 3}) {
		t.Errorf("$maxCount 2, forwards: %v", got)
	}
	if got := revisions(backwards); !reflect.DeepEqual(got, []uint64{3, 2}) {
		t.Errorf("$maxCount 2, backwards: %v", got)
	}

	md = esdbclient.StreamMetadata{}
	md.SetTruncateBefore(1)
	setMeta(md)
	if got := revisions(forwards); !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Errorf("$tb 1: %v", got)
	}

	md = esdbclient.StreamMetadata{}
	md.SetMaxAge(time.Hour)
	setMeta(md)
	mu.Lock()
	now = now.Add(30 * time.Minute)
	mu.Unlock()
	if _, err := c.AppendToStream(ctx, "s", esdbclient.AppendToStreamOptions{}, event("t")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(45 * time.Minute)
	mu.Unlock()
	if got := revisions(forwards); !reflect.DeepEqual(got, []uint64{4}) {
		t.Errorf("$maxAge 1h, 75 and 45 minutes later: %v, want only the young event", got)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	// Every event too old: the stream reads empty, not as missing, and
	// keeps its revision.
	if got := revisions(backwards); len(got) != 0 {
		t.Errorf("every event past $maxAge, backwards: %v, want none", got)
	}
	_, err = c.AppendToStream(ctx, "s", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, event("t"))
	if !isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) || !strings.Contains(err.Error(), "but got '4'") {
		t.Errorf("append at no stream to a hidden stream: %v, want a wrong expected version naming revision 4", err)
	}
	if _, err := c.AppendToStream(ctx, "s", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Revision(4)}, event("t")); err != nil {
		t.Errorf("append at the hidden last revision: %v", err)
	}
	if got := len(readAll(t, c, esdbclient.ReadAllOptions{From: esdbclient.Start{}})); got != 6+3 {
		t.Errorf("$all holds %d events, want all 6 and the 3 metadata events", got)
	}
}
