package esdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// The Idempotency-Key records' primitives (idempotency.Backend) on
// EventStoreDB, so that every node of a cluster sees them: a stream per key,
// each claim, reply or release one event, written by an append at the
// expected revision (the leader serialises them: of two nodes claiming a key
// one wins), and read by a backward read of one event. Like the lease's,
// the streams are system streams ($...), so that the log's readers never
// see them.
//
// Each key's stream is bounded by its metadata: $maxCount 1 (only the last
// event is ever read) and $maxAge the keep the records ask for, after which
// a scavenge may remove them. $maxAge hides the events without resetting
// the stream's revision, so a key whose events are all hidden reads as
// empty but cannot be claimed at "no stream": SwapIdempotency learns the
// revision from the wrong-expected-version answer and claims at it.

// idemEventType is the type of a key stream's events; idemMarkType of the
// wipe marks'.
const (
	idemEventType = "offerflow.idempotency"
	idemMarkType  = "offerflow.idempotency-wipe"
)

// idemStream is the stream of the records of key; idemMarks that of the
// wipe marks.
func (s *Store) idemStream(key string) string { return "$" + s.prefix + "offerflow-idem-" + key }
func (s *Store) idemMarks() string            { return "$" + s.prefix + "offerflow-idempotency-wipes" }

// last reads the last readable event of stream: nil when it has none (never
// written, or every event hidden by its metadata).
func (s *Store) last(ctx context.Context, op, stream string) (*esdbclient.RecordedEvent, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	defer rs.Close()
	re, err := rs.Recv()
	switch {
	case isEOF(err), isCode(err, esdbclient.ErrorCodeResourceNotFound):
		return nil, nil
	case err != nil:
		return nil, wrap(ctx, op, err)
	}
	rec := re.OriginalEvent()
	if rec == nil {
		return nil, fmt.Errorf("%s: the server sent no event", op)
	}
	if rec.Position.Commit == 0 {
		return nil, fmt.Errorf("%s: the server reports no $all position on stream reads (EventStoreDB 22.10 or later needed)", op)
	}
	return rec, nil
}

// ReadIdempotency returns the last record of key, its revision (the event's
// number plus one) and its $all position; nil and 0 when none is readable.
func (s *Store) ReadIdempotency(ctx context.Context, key string) ([]byte, uint64, uint64, error) {
	if key == "" {
		return nil, 0, 0, errors.New("read idempotency record: empty key")
	}
	rec, err := s.last(ctx, "read idempotency record", s.idemStream(key))
	if err != nil || rec == nil {
		return nil, 0, 0, err
	}
	return rec.Data, rec.EventNumber + 1, rec.Position.Commit, nil
}

// SwapIdempotency appends data to key's stream at revision (0: the stream
// must not exist, or have no readable event) and returns the stream's new
// revision; ok is false when the stream has moved on.
func (s *Store) SwapIdempotency(ctx context.Context, key string, revision uint64, data []byte, keep time.Duration) (uint64, bool, error) {
	const op = "write idempotency record"
	if key == "" {
		return 0, false, fmt.Errorf("%s: empty key", op)
	}
	stream := s.idemStream(key)
	err := s.appendOne(ctx, stream, expectedRevision(revision), idemEventType, data)
	wrong := isCode(err, esdbclient.ErrorCodeWrongExpectedVersion)
	switch {
	case err != nil && !wrong:
		return 0, false, wrap(ctx, op, err)
	case err == nil && revision == 0:
		s.bound(ctx, stream, 1, keep)
		return 1, true, nil
	case err == nil:
		return revision + 1, true, nil
	case revision != 0:
		return 0, false, nil
	}
	// "No stream" was refused: either another node created the stream just
	// now, or every event of it is older than its $maxAge, which hides them
	// but keeps the revision. Which one, the stream tells.
	current, known := currentRevision(err)
	rec, err := s.last(ctx, op, stream)
	if err != nil || rec != nil {
		return 0, false, err
	}
	if !known {
		return 0, false, fmt.Errorf("%s: the stream's events are all hidden and the server's answer names no current revision", op)
	}
	err = s.appendOne(ctx, stream, esdbclient.Revision(current), idemEventType, data)
	switch {
	case isCode(err, esdbclient.ErrorCodeWrongExpectedVersion):
		return 0, false, nil
	case err != nil:
		return 0, false, wrap(ctx, op, err)
	}
	return current + 2, true, nil
}

// appendOne appends one JSON event of typ to stream at expected.
func (s *Store) appendOne(ctx context.Context, stream string, expected esdbclient.ExpectedRevision, typ string, data []byte) error {
	ev := esdbclient.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdbclient.ContentTypeJson, Data: data}
	_, err := s.client.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: expected}, ev)
	return err
}

// wrongCurrent finds the stream's current revision in the v4 client's
// wrong-expected-version error, the only place the client gives it: "...
// expecting 'X' but got 'N'".
var wrongCurrent = regexp.MustCompile(`but got '([0-9]+)'`)

// currentRevision returns the current revision a wrong-expected-version
// error reports, and false when it names none (or "no_stream").
func currentRevision(err error) (uint64, bool) {
	m := wrongCurrent.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, perr := strconv.ParseUint(m[1], 10, 64)
	return n, perr == nil
}

// bound sets stream's $maxCount and $maxAge, written by the stream's
// creator. Should it fail, the records still work; the stream is only kept
// longer than needed.
func (s *Store) bound(ctx context.Context, stream string, count uint64, keep time.Duration) {
	var md esdbclient.StreamMetadata
	md.SetMaxCount(count)
	// $maxAge is in whole seconds: round up, never hide a record early.
	md.SetMaxAge(keep.Round(time.Second) + time.Second)
	if _, err := s.client.SetStreamMetadata(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}}, md); err != nil {
		s.log.Warn("esdb: could not bound a stream", "stream", stream, "err", err)
	}
}

// MarkIdempotency appends a wipe mark, kept for keep.
func (s *Store) MarkIdempotency(ctx context.Context, keep time.Duration) error {
	const op = "write idempotency wipe mark"
	stream := s.idemMarks()
	if err := s.appendOne(ctx, stream, esdbclient.Any{}, idemMarkType, []byte("{}")); err != nil {
		return wrap(ctx, op, err)
	}
	// Set on every mark (marks are rare): the stream has no single creator.
	s.bound(ctx, stream, 1, keep)
	return nil
}

// IdempotencyMark returns the $all position of the last wipe mark; 0 when
// there is none (or it is older than its keep, as every record before it is).
func (s *Store) IdempotencyMark(ctx context.Context) (uint64, error) {
	rec, err := s.last(ctx, "read idempotency wipe mark", s.idemMarks())
	if err != nil || rec == nil {
		return 0, err
	}
	return rec.Position.Commit, nil
}
