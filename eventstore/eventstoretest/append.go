package eventstoretest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

func testAppendAndReadBack(t *testing.T, f *fixture) {
	stream := f.stream("roundtrip")
	in := []eventstore.NewEvent{
		{
			ID: uuid.NewString(), Type: "test.created", SchemaVersion: 2,
			// A number beyond float64's precision and text that JSON
			// encoders like to escape must both come back unchanged.
			Data: json.RawMessage(`{"name":"Ölfarbe <&> \"q\"","big":12345678901234567890,"frac":2.50,"nested":{"b":[1,"x",true],"a":null}}`),
			Metadata: eventstore.Metadata{
				Actor:         domain.Actor{Role: "reseller", Tenant: "r-1", Subject: "alice@example.com"},
				CorrelationID: "corr-1", CausationID: "cause-1", OccurredAt: occurredAt(),
			},
		},
		{
			ID: uuid.NewString(), Type: "test.renamed", SchemaVersion: 1,
			Data: json.RawMessage(`[]`),
			Metadata: eventstore.Metadata{
				Actor:      domain.Actor{Role: "system"},
				OccurredAt: occurredAt().Add(time.Nanosecond),
			},
		},
	}
	headBefore := f.head()
	res := f.append(stream, eventstore.NoStream, in...)
	if res.Version != 2 {
		t.Errorf("AppendResult.Version = %d, want 2", res.Version)
	}
	if res.Position <= headBefore {
		t.Errorf("AppendResult.Position = %d, want > head before %d", res.Position, headBefore)
	}
	if h := f.head(); h != res.Position {
		t.Errorf("Head = %d after the append, want its position %d", h, res.Position)
	}

	got, err := f.store.ReadStream(f.ctx, stream, 0, 10)
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	if len(got) != len(in) {
		t.Fatalf("ReadStream returned %d events, want %d", len(got), len(in))
	}
	for i, e := range got {
		want := in[i]
		if e.ID != want.ID || e.Stream != stream || e.Type != want.Type || e.SchemaVersion != want.SchemaVersion {
			t.Errorf("event %d: id %q stream %q type %q schema %d; want %q %q %q %d",
				i, e.ID, e.Stream, e.Type, e.SchemaVersion, want.ID, stream, want.Type, want.SchemaVersion)
		}
		if e.Version != uint64(i+1) {
			t.Errorf("event %d: version %d, want %d", i, e.Version, i+1)
		}
		if e.Position <= headBefore || (i > 0 && e.Position <= got[i-1].Position) {
			t.Errorf("event %d: position %d not after head %d and the event before it", i, e.Position, headBefore)
		}
		if eq, err := jsonEqual(e.Data, want.Data); err != nil || !eq {
			t.Errorf("event %d: data %s, want the JSON value %s (%v)", i, e.Data, want.Data, err)
		}
		wm, gm := want.Metadata, e.Metadata
		if gm.Actor != wm.Actor || gm.CorrelationID != wm.CorrelationID || gm.CausationID != wm.CausationID {
			t.Errorf("event %d: metadata %+v, want %+v", i, gm, wm)
		}
		if !gm.OccurredAt.Equal(wm.OccurredAt) || gm.OccurredAt.Nanosecond() != wm.OccurredAt.Nanosecond() {
			t.Errorf("event %d: occurred_at %s, want %s to the nanosecond", i, gm.OccurredAt.Format(time.RFC3339Nano), wm.OccurredAt.Format(time.RFC3339Nano))
		}
		if gm.OccurredAt.Location() != time.UTC {
			t.Errorf("event %d: occurred_at in %s, want UTC", i, gm.OccurredAt.Location())
		}
		if h, err := eventstore.Hash(e); err != nil || h != e.Hash {
			t.Errorf("event %d: hash %q, recomputed %q (%v)", i, e.Hash, h, err)
		}
	}
	if got[1].Position != res.Position {
		t.Errorf("last event at position %d, AppendResult says %d", got[1].Position, res.Position)
	}
	// The global log must serve the very same envelopes.
	all := ofStreams(f.readAllAfter(headBefore), stream)
	if diff := cmp.Diff(got, all); diff != "" {
		t.Errorf("ReadAll differs from ReadStream (-stream +all):\n%s", diff)
	}
}

func testReadStreamFromVersion(t *testing.T, f *fixture) {
	stream := f.stream("paging")
	evs := events(5, "test.paged")
	f.append(stream, eventstore.NoStream, evs[:3]...)
	f.append(stream, 3, evs[3:]...)
	cases := []struct {
		after uint64
		limit int
		want  []string
	}{
		{0, 1, newIDs(evs[:1])},
		{0, 10, newIDs(evs)},
		{2, 2, newIDs(evs[2:4])},
		{3, 10, newIDs(evs[3:])},
		{5, 10, nil},
		{100, 10, nil},
	}
	for _, c := range cases {
		got, err := f.store.ReadStream(f.ctx, stream, c.after, c.limit)
		if err != nil {
			t.Fatalf("ReadStream(after %d, limit %d): %v", c.after, c.limit, err)
		}
		if diff := cmp.Diff(c.want, ids(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ReadStream(after %d, limit %d) ids (-want +got):\n%s", c.after, c.limit, diff)
		}
		for i, e := range got {
			if e.Version != c.after+uint64(i)+1 {
				t.Errorf("ReadStream(after %d): event %d has version %d", c.after, i, e.Version)
			}
		}
	}
}

func testReadMissingStream(t *testing.T, f *fixture) {
	got, err := f.store.ReadStream(f.ctx, f.stream("missing"), 0, 10)
	if err != nil {
		t.Fatalf("ReadStream of a missing stream: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ReadStream of a missing stream returned %d events", len(got))
	}
}

func testWrongVersion(t *testing.T, f *fixture) {
	stream := f.stream("versions")
	f.append(stream, eventstore.NoStream, events(2, "test.v")...)
	cases := []struct {
		name     string
		stream   string
		expected uint64
	}{
		{"NoStreamOnExisting", stream, eventstore.NoStream},
		{"Stale", stream, 1},
		{"Ahead", stream, 3},
		{"FarAhead", stream, 1 << 40},
		{"VersionOnMissingStream", f.stream("absent"), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			headBefore := f.head()
			before := f.readStream(c.stream)
			rejected := events(2, "test.rejected")
			_, err := f.store.Append(f.ctx, c.stream, c.expected, rejected...)
			if !errors.Is(err, eventstore.ErrWrongVersion) {
				t.Fatalf("Append at expected %d: err = %v, want ErrWrongVersion", c.expected, err)
			}
			f.assertNoTrace(headBefore, c.stream, before)
			// The ids of a rejected append must not have been recorded:
			// if they had, this append would be taken for a retry and
			// write nothing.
			res := f.append(c.stream, uint64(len(before)), rejected...)
			if want := uint64(len(before)) + 2; res.Version != want {
				t.Errorf("append after the rejection: version %d, want %d", res.Version, want)
			}
			if got := f.readStream(c.stream); len(got) != len(before)+2 {
				t.Errorf("stream holds %d events after the rejection and one append, want %d", len(got), len(before)+2)
			}
		})
	}
}

func testInvalidData(t *testing.T, f *fixture) {
	for _, bad := range []string{`{"a":`, `{"a":1} trailing`, `not json`} {
		stream := f.stream("invalid")
		headBefore := f.head()
		batch := events(3, "test.batch")
		batch[2].Data = json.RawMessage(bad)
		_, err := f.store.Append(f.ctx, stream, eventstore.NoStream, batch...)
		if err == nil {
			t.Fatalf("Append with data %q succeeded", bad)
		}
		if errors.Is(err, eventstore.ErrWrongVersion) {
			t.Errorf("Append with data %q: %v, should not be a version error", bad, err)
		}
		// The batch is all or nothing: its good events were not kept.
		f.assertNoTrace(headBefore, stream, nil)
		if res := f.append(stream, eventstore.NoStream, batch[:2]...); res.Version != 2 {
			t.Errorf("appending the valid events afterwards: version %d, want 2", res.Version)
		}
	}
}

func testHashChain(t *testing.T, f *fixture) {
	stream := f.stream("chain")
	f.append(stream, eventstore.NoStream, events(1, "test.c")...)
	other := f.stream("chain-other")
	f.append(other, eventstore.NoStream, events(1, "test.c")...)
	f.append(stream, 1, events(2, "test.c")...)
	f.append(stream, 3, events(1, "test.c")...)
	got := f.readStream(stream)
	if len(got) != 4 {
		t.Fatalf("stream holds %d events, want 4", len(got))
	}
	if err := eventstore.VerifyChain(got); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
	for i, e := range got {
		if len(e.Hash) != 64 {
			t.Errorf("version %d: hash %q is not hex SHA-256", e.Version, e.Hash)
		}
		wantPrev := ""
		if i > 0 {
			wantPrev = got[i-1].Hash
		}
		if e.PrevHash != wantPrev {
			t.Errorf("version %d: prev_hash %q, want %q", e.Version, e.PrevHash, wantPrev)
		}
	}
	// The chain runs per stream: a stream begun in between starts afresh.
	if o := f.readStream(other); len(o) != 1 || o[0].PrevHash != "" {
		t.Errorf("first event of the other stream: %+v, want one event with empty prev_hash", o)
	} else if err := eventstore.VerifyChain(o); err != nil {
		t.Errorf("VerifyChain(other): %v", err)
	}
}

func testContextCancelled(t *testing.T, f *fixture) {
	stream := f.stream("cancelled")
	f.append(stream, eventstore.NoStream, events(1, "test.x")...)
	headBefore := f.head()
	before := f.readStream(stream)

	cancelled, cancel := context.WithCancel(f.ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(f.ctx, time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		if _, err := f.store.Append(c.ctx, stream, 1, events(2, "test.x")...); !errors.Is(err, c.want) {
			t.Errorf("Append: err = %v, want %v", err, c.want)
		}
		if _, err := f.store.Append(c.ctx, f.stream("cancelled-new"), eventstore.NoStream, events(1, "test.x")...); !errors.Is(err, c.want) {
			t.Errorf("Append to a new stream: err = %v, want %v", err, c.want)
		}
		if _, err := f.store.ReadStream(c.ctx, stream, 0, 10); !errors.Is(err, c.want) {
			t.Errorf("ReadStream: err = %v, want %v", err, c.want)
		}
		if _, err := f.store.ReadAll(c.ctx, 0, 10); !errors.Is(err, c.want) {
			t.Errorf("ReadAll: err = %v, want %v", err, c.want)
		}
	}
	f.assertNoTrace(headBefore, stream, before)
}
