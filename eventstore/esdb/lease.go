package esdb

import (
	"context"
	"encoding/json"
	"fmt"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// The lease primitives (lease.Backend) on EventStoreDB: a lease is a stream
// of its own, each write one event naming the holder, and compare-and-swap
// is an append at the expected revision, which the leader of the cluster
// serialises. The stream's name starts with $ (a system stream), so that
// ReadAll, Head and Wait never show it as part of the log; writing it needs
// a user that may write system streams ($admins, as reading $all does by
// default). Its metadata keeps only the last few events ($max-count), so a
// renewal every few seconds does not grow the database.

// leaseEventType is the type of a lease stream's events.
const leaseEventType = "offerflow.lease"

// leaseKeep is the $max-count of a lease stream.
const leaseKeep = 16

type leaseData struct {
	Holder string `json:"holder"`
}

// leaseStream is the EventStoreDB stream of the lease called name.
func (s *Store) leaseStream(name string) string { return "$" + s.prefix + "offerflow-lease-" + name }

// ReadLease returns the holder and revision of the lease called name;
// revision 0 means it was never taken.
func (s *Store) ReadLease(ctx context.Context, name string) (string, uint64, error) {
	op := "read lease " + name
	rs, err := s.client.ReadStream(ctx, s.leaseStream(name),
		esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err != nil {
		return "", 0, wrap(ctx, op, err)
	}
	defer rs.Close()
	re, err := rs.Recv()
	switch {
	case isEOF(err), isCode(err, esdbclient.ErrorCodeResourceNotFound):
		return "", 0, nil
	case err != nil:
		return "", 0, wrap(ctx, op, err)
	}
	rec := re.OriginalEvent()
	if rec == nil {
		return "", 0, fmt.Errorf("%s: the server sent no event", op)
	}
	var d leaseData
	if err := json.Unmarshal(rec.Data, &d); err != nil {
		return "", 0, fmt.Errorf("%s: event %d: %w", op, rec.EventNumber, err)
	}
	return d.Holder, rec.EventNumber + 1, nil
}

// SwapLease appends holder to the lease's stream at revision (0: the stream
// must not exist) and returns the new revision; ok is false when the stream
// has moved on (another node wrote first).
func (s *Store) SwapLease(ctx context.Context, name string, revision uint64, holder string) (uint64, bool, error) {
	op := "write lease " + name
	stream := s.leaseStream(name)
	data, err := json.Marshal(leaseData{Holder: holder})
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", op, err)
	}
	ev := esdbclient.EventData{EventID: uuid.New(), EventType: leaseEventType, ContentType: esdbclient.ContentTypeJson, Data: data}
	_, err = s.client.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: expectedRevision(revision)}, ev)
	switch {
	case isCode(err, esdbclient.ErrorCodeWrongExpectedVersion):
		return 0, false, nil
	case err != nil:
		return 0, false, wrap(ctx, op, err)
	}
	if revision == 0 {
		// The creator bounds the stream. Should this fail, the lease
		// still works; its stream only keeps growing.
		var md esdbclient.StreamMetadata
		md.SetMaxCount(leaseKeep)
		if _, err := s.client.SetStreamMetadata(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}}, md); err != nil {
			s.log.Warn("esdb: could not bound the lease stream", "stream", stream, "err", err)
		}
	}
	return revision + 1, true, nil
}
