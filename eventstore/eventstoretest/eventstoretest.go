// Package eventstoretest is the conformance suite of eventstore.Store: every
// implementation runs Run in its tests and must pass it unchanged, so the
// command side, projections and the verify command can rely on one set of
// promises whatever store sits underneath.
//
// What the suite fixes beyond the interface's comments:
//   - occurred_at round-trips to the nanosecond and comes back in UTC;
//   - data round-trips as the same JSON value (byte equality is not
//     required, so a store may re-encode it), with numbers kept exactly as
//     written, however large;
//   - data that is not one valid JSON value is refused, writing nothing;
//   - an idempotent retry is recognised whatever expected version it
//     carries, including the version its own earlier append produced.
//
// The suite calls newStore once per subtest. The store may be shared between
// subtests and hold other events (every subtest writes its own randomly named
// streams), but nothing else may write to it while a subtest runs: subtests
// compare the head and pages of the global log before and after their own
// appends.
package eventstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// patience bounds every wait for something that should happen promptly. It
// is generous so that a loaded CI machine running -race does not fail the
// suite; the suite never sleeps this long when the store is correct.
const patience = 10 * time.Second

// Run runs the conformance suite against the stores newStore returns.
// newStore should register the store's Close with t.Cleanup when it opens a
// new one.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	t.Helper()
	subtests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ReadStreamFromVersion", testReadStreamFromVersion},
		{"ReadMissingStream", testReadMissingStream},
		{"WrongVersion", testWrongVersion},
		{"InvalidDataWritesNothing", testInvalidData},
		{"RacingAppends", testRacingAppends},
		{"IdempotentRetry", testIdempotentRetry},
		{"ConcurrentIdempotentRetries", testConcurrentIdempotentRetries},
		{"GlobalOrder", testGlobalOrder},
		{"ReadAllFromPosition", testReadAllFromPosition},
		{"BatchesNotInterleaved", testBatchesNotInterleaved},
		{"ManyWritersDistinctStreams", testManyWritersDistinctStreams},
		{"ManyWritersOneStream", testManyWritersOneStream},
		{"MixedConcurrentAppends", testMixedConcurrentAppends},
		{"HashChain", testHashChain},
		{"ContextCancelled", testContextCancelled},
		{"WaitReturnsAtOnce", testWaitReturnsAtOnce},
		{"WaitWakesOnAppend", testWaitWakesOnAppend},
		{"WaitCancelled", testWaitCancelled},
	}
	for _, st := range subtests {
		t.Run(st.name, func(t *testing.T) {
			f := &fixture{t: t, ctx: t.Context(), store: newStore(t), prefix: "conformance-" + randomHex(6)}
			st.fn(t, f)
		})
	}
}

// fixture is what every subtest works with.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  eventstore.Store
	prefix string
}

// stream returns a stream name no other subtest or run uses.
func (f *fixture) stream(name string) string {
	return f.prefix + "-" + name + "-" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// occurredAt is a time with nanoseconds, in a zone other than UTC, so that
// the round trip checks both the precision and the normalisation.
func occurredAt() time.Time {
	return time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+1", 3600))
}

// events returns n new events with fresh ids and small distinct data.
func events(n int, typ string) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = eventstore.NewEvent{
			ID:            uuid.NewString(),
			Type:          typ,
			SchemaVersion: 1,
			Data:          json.RawMessage(fmt.Sprintf(`{"i":%d,"note":"event %d of %d"}`, i, i+1, n)),
			Metadata: eventstore.Metadata{
				Actor:         domain.Actor{Role: "system", Tenant: "t-1", Subject: "conformance"},
				CorrelationID: "corr-" + randomHex(4),
				OccurredAt:    occurredAt(),
			},
		}
	}
	return out
}

func (f *fixture) append(stream string, expected uint64, evs ...eventstore.NewEvent) eventstore.AppendResult {
	f.t.Helper()
	res, err := f.store.Append(f.ctx, stream, expected, evs...)
	if err != nil {
		f.t.Fatalf("Append(%s, expected %d, %d events): %v", stream, expected, len(evs), err)
	}
	return res
}

func (f *fixture) readStream(stream string) []eventstore.Event {
	f.t.Helper()
	evs, err := eventstore.ReadStreamAll(f.ctx, f.store, stream, 0)
	if err != nil {
		f.t.Fatalf("read stream %s: %v", stream, err)
	}
	return evs
}

func (f *fixture) head() uint64 {
	f.t.Helper()
	h, err := f.store.Head(f.ctx)
	if err != nil {
		f.t.Fatalf("Head: %v", err)
	}
	return h
}

// readAllAfter returns every event after position after, checking that the
// log is in strictly increasing position order.
func (f *fixture) readAllAfter(after uint64) []eventstore.Event {
	f.t.Helper()
	var out []eventstore.Event
	for {
		evs, err := f.store.ReadAll(f.ctx, after, 100)
		if err != nil {
			f.t.Fatalf("ReadAll(after %d): %v", after, err)
		}
		for _, e := range evs {
			if e.Position <= after {
				f.t.Fatalf("ReadAll: position %d after position %d", e.Position, after)
			}
			after = e.Position
		}
		out = append(out, evs...)
		if len(evs) < 100 {
			return out
		}
	}
}

// ofStreams keeps the events that belong to one of streams.
func ofStreams(evs []eventstore.Event, streams ...string) []eventstore.Event {
	keep := make(map[string]bool, len(streams))
	for _, s := range streams {
		keep[s] = true
	}
	var out []eventstore.Event
	for _, e := range evs {
		if keep[e.Stream] {
			out = append(out, e)
		}
	}
	return out
}

func ids(evs []eventstore.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func newIDs(evs []eventstore.NewEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// jsonEqual reports whether a and b hold the same JSON value, numbers
// compared as written.
func jsonEqual(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, err
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(va, vb), nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode %q: %w", b, err)
	}
	return v, nil
}

// assertNoTrace checks that the log and stream look exactly as before a
// rejected append: same head, nothing new in the log, same stream.
func (f *fixture) assertNoTrace(headBefore uint64, stream string, streamBefore []eventstore.Event) {
	f.t.Helper()
	if h := f.head(); h != headBefore {
		f.t.Errorf("head moved from %d to %d after a rejected append", headBefore, h)
	}
	if evs := f.readAllAfter(headBefore); len(evs) != 0 {
		f.t.Errorf("rejected append left %d events in the log: %v", len(evs), ids(evs))
	}
	if got := f.readStream(stream); !reflect.DeepEqual(ids(got), ids(streamBefore)) {
		f.t.Errorf("stream %s changed after a rejected append: %v, was %v", stream, ids(got), ids(streamBefore))
	}
}
