package esdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
)

// These tests run against the emulator only: they write events offerflow
// never writes, or count what the adapter reads.

func freshEvents(n int) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = eventstore.NewEvent{
			ID: uuid.NewString(), Type: "test.happened", SchemaVersion: 1,
			Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Metadata: eventstore.Metadata{OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
		}
	}
	return out
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, expected uint64, evs ...eventstore.NewEvent) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, evs...)
	if err != nil {
		t.Fatalf("append %d events to %s at %d: %v", len(evs), stream, expected, err)
	}
	return res
}

// TestAppend_ReadsABoundedWindow appends to a long stream and checks that
// the append read a bounded number of events, not the stream.
func TestAppend_ReadsABoundedWindow(t *testing.T) {
	em := startEmulator(t)
	s := open(t, em.URL(), "")
	const length = 600
	for v := uint64(0); v < length; v += 50 {
		mustAppend(t, s, "long", v, freshEvents(50)...)
	}
	before := em.EventsRead()
	mustAppend(t, s, "long", length, freshEvents(1)...)
	// The window (1 + 16 events), and the event read back.
	if read := em.EventsRead() - before; read > 1+16+1 {
		t.Errorf("one append to a stream of %d events read %d events", length, read)
	}
}

// TestAppend_Retries checks which retries the adapter recognises, on a
// stream holding the original append of two events (versions 1-2) followed
// by `later` events of other appends.
func TestAppend_Retries(t *testing.T) {
	em := startEmulator(t)
	s := open(t, em.URL(), "")
	for _, tt := range []struct {
		name     string
		later    int
		expected func(original, current uint64) uint64
	}{
		// EventStoreDB recognises these itself.
		{"OriginalVersion", 0, func(o, _ uint64) uint64 { return o }},
		{"OriginalVersionFarBehind", 100, func(o, _ uint64) uint64 { return o }},
		// The adapter's window recognises these.
		{"VersionTheOriginalProduced", 0, func(o, _ uint64) uint64 { return o + 2 }},
		{"VersionTheOriginalProducedThenMoved", 5, func(o, _ uint64) uint64 { return o + 2 }},
		{"CurrentVersionWithinWindow", 10, func(_, c uint64) uint64 { return c }},
		{"OriginalRunsPastTheWindowEnd", 3, func(o, _ uint64) uint64 { return o + 1 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stream := "retry-" + uuid.NewString()
			mustAppend(t, s, stream, 0, freshEvents(3)...)
			const original = 3
			first := freshEvents(2)
			want := mustAppend(t, s, stream, original, first...)
			current := uint64(original + 2)
			for range tt.later {
				mustAppend(t, s, stream, current, freshEvents(1)...)
				current++
			}
			headBefore, err := s.Head(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Append(t.Context(), stream, tt.expected(original, current), first...)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got != want {
				t.Errorf("retry answered %+v, the original %+v", got, want)
			}
			if head, err := s.Head(t.Context()); err != nil || head != headBefore {
				t.Errorf("head moved from %d to %d (%v): the retry wrote", headBefore, head, err)
			}
		})
	}
}

// TestAppend_WrongVersion checks the version error's actual version when
// the stream is behind or ahead of the expected version.
func TestAppend_WrongVersion(t *testing.T) {
	em := startEmulator(t)
	s := open(t, em.URL(), "")
	mustAppend(t, s, "s", 0, freshEvents(3)...)
	for _, expected := range []uint64{0, 2, 4, 40} {
		_, err := s.Append(t.Context(), "s", expected, freshEvents(1)...)
		var verr *eventstore.VersionError
		if !errors.As(err, &verr) || verr.Actual != 3 || !errors.Is(err, eventstore.ErrWrongVersion) {
			t.Errorf("append at %d to a stream at 3: %v, want a version error with actual 3", expected, err)
		}
	}
}

// TestReadAll_SkipsForeignEvents writes, under the store's prefix, events
// offerflow did not write, and checks that ReadAll, Head and Wait pass over
// them.
func TestReadAll_SkipsForeignEvents(t *testing.T) {
	em := startEmulator(t)
	s := open(t, em.URL(), "app-")
	ours := mustAppend(t, s, "offer-1", 0, freshEvents(1)...)

	raw, err := em.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, ev := range []esdbclient.EventData{
		{EventType: "other.thing", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`), Metadata: []byte(`{"by":"another program"}`)},
		{EventType: "other.binary", ContentType: esdbclient.ContentTypeBinary, Data: []byte{1, 2}},
	} {
		if _, err := raw.AppendToStream(t.Context(), "app-foreign", esdbclient.AppendToStreamOptions{}, ev); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.ReadAll(t.Context(), 0, 10)
	if err != nil {
		t.Fatalf("ReadAll over foreign events: %v", err)
	}
	if len(got) != 1 || got[0].Position != ours.Position {
		t.Errorf("ReadAll = %+v, want only the event at %d", got, ours.Position)
	}
	if head, err := s.Head(t.Context()); err != nil || head != ours.Position {
		t.Errorf("Head = %d, %v; want %d, the last event of ours", head, err, ours.Position)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, ours.Position); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past our last event = %v, want the deadline: only foreign events follow it", err)
	}
}

// TestWrap checks how client errors map to the store's errors.
func TestWrap(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	past, cancelPast := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPast()
	plain := errors.New("boom")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"ClientErrorUnknownCode", context.Background(), fmt.Errorf("x: %w", &esdbclient.Error{}), esdb.ErrServer},
		{"BareStatusUnavailable", context.Background(), status.Error(codes.Unavailable, "gone"), esdb.ErrUnavailable},
		{"BareStatusPermission", context.Background(), status.Error(codes.PermissionDenied, "no"), esdb.ErrAccessDenied},
		{"Cancelled", cancelled, status.Error(codes.Canceled, "x"), context.Canceled},
		{"DeadlinePassedBeforeCtxTimer", past, status.Error(codes.DeadlineExceeded, "x"), context.DeadlineExceeded},
		{"NotAClientError", context.Background(), plain, plain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := esdb.Wrap(tt.ctx, "op", tt.err); !errors.Is(got, tt.want) {
				t.Errorf("Wrap(%v) = %v, want it to match %v", tt.err, got, tt.want)
			}
		})
	}
	t.Run("KeepsTheClientError", func(t *testing.T) {
		var ce *esdbclient.Error
		if !errors.As(esdb.Wrap(context.Background(), "op", &esdbclient.Error{}), &ce) {
			t.Error("the client's error is not reachable with errors.As")
		}
	})
}

func TestStoreErr(t *testing.T) {
	for code, want := range map[esdbclient.ErrorCode]error{
		esdbclient.ErrorUnavailable:               esdb.ErrUnavailable,
		esdbclient.ErrorCodeDeadlineExceeded:      esdb.ErrUnavailable,
		esdbclient.ErrorCodeConnectionClosed:      esdb.ErrUnavailable,
		esdbclient.ErrorCodeNotLeader:             esdb.ErrUnavailable,
		esdbclient.ErrorAborted:                   esdb.ErrUnavailable,
		esdbclient.ErrorCodeUnauthenticated:       esdb.ErrAccessDenied,
		esdbclient.ErrorCodeAccessDenied:          esdb.ErrAccessDenied,
		esdbclient.ErrorCodeStreamDeleted:         esdb.ErrStreamDeleted,
		esdbclient.ErrorCodeWrongExpectedVersion:  eventstore.ErrWrongVersion,
		esdbclient.ErrorCodeUnknown:               esdb.ErrServer,
		esdbclient.ErrorCodeInternalServer:        esdb.ErrServer,
		esdbclient.ErrorCodeResourceNotFound:      esdb.ErrServer,
		esdbclient.ErrorCodeUnsupportedFeature:    esdb.ErrServer,
		esdbclient.ErrorCodeParsing:               esdb.ErrServer,
		esdbclient.ErrorCodeResourceAlreadyExists: esdb.ErrServer,
		esdbclient.ErrorCodeInternalClient:        esdb.ErrServer,
	} {
		if got := esdb.StoreErr(code); got != want {
			t.Errorf("code %d maps to %v, want %v", code, got, want)
		}
	}
}

// TestOpen_StoppedEmulator checks that a server that has gone away is
// reported as unavailable.
func TestOpen_StoppedEmulator(t *testing.T) {
	em := startEmulator(t)
	url := em.URL()
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := esdb.Open(ctx, url+"&maxDiscoverAttempts=1&discoveryInterval=10")
	if err == nil {
		s.Close()
		t.Fatal("opened a store on a stopped emulator")
	}
	if !errors.Is(err, esdb.ErrUnavailable) {
		t.Errorf("Open = %v, want it to match ErrUnavailable", err)
	}
}
