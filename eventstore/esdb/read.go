package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/offerflow/offerflow/eventstore"
)

// ReadStream returns up to limit events of stream with version > after, in
// version order; a stream that does not exist reads as empty.
func (s *Store) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		if _, err := s.physical(stream); err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		return nil, nil
	}
	opts := esdbclient.ReadStreamOptions{Direction: esdbclient.Forwards, From: streamFrom(after)}
	return s.readStream(ctx, stream, opts, limit)
}

// readStream reads up to n events of stream as opts say, in the order read;
// a stream that does not exist reads as empty.
func (s *Store) readStream(ctx context.Context, stream string, opts esdbclient.ReadStreamOptions, n int) ([]eventstore.Event, error) {
	name, err := s.physical(stream)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	rs, err := s.client.ReadStream(ctx, name, opts, uint64(n))
	if err != nil {
		return nil, wrap(ctx, "read "+stream, err)
	}
	defer rs.Close()
	var out []eventstore.Event
	for {
		re, err := rs.Recv()
		switch {
		case isEOF(err):
			return out, nil
		case isCode(err, esdbclient.ErrorCodeResourceNotFound):
			return nil, nil
		case err != nil:
			return nil, wrap(ctx, "read "+stream, err)
		}
		rec := re.OriginalEvent()
		if rec == nil {
			continue
		}
		e, err := decode(rec, stream)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		out = append(out, e)
	}
}

// ReadAll returns up to limit events with position > after, in log order.
//
// EventStoreDB can only start a read at the position of a record, so after
// should be 0 or a position this store returned. For any other value the
// server refuses the read; ReadAll then answers empty when after is at or
// past Head (nothing can follow it), and returns the error otherwise.
//
// $all holds system events, with a StreamPrefix other namespaces' events,
// and possibly events that other programs wrote under the prefix; all are
// skipped on the client (the client's ReadAll has no
// server-side filter), so ReadAll reads pages until it has limit events or
// reaches the end of the log.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	page := uint64(min(max(limit+1, 64), 4096))
	// last is the log position read up to. Forward reads include their start
	// position, so everything at or before it is skipped.
	last := esdbclient.Position{Commit: after, Prepare: after}
	var out []eventstore.Event
	for first := true; ; first = false {
		received, err := s.readPage(ctx, &last, page, limit, &out)
		if err != nil {
			if first && after > 0 && ctx.Err() == nil {
				if head, herr := s.Head(ctx); herr == nil && head <= after {
					return nil, nil
				}
			}
			return nil, err
		}
		if len(out) >= limit || received < page {
			return out, nil
		}
	}
}

// readPage reads one page of $all forward from *last into out.
func (s *Store) readPage(ctx context.Context, last *esdbclient.Position, page uint64, limit int, out *[]eventstore.Event) (uint64, error) {
	var from esdbclient.AllPosition = *last
	if last.Commit == 0 && last.Prepare == 0 {
		from = esdbclient.Start{}
	}
	rs, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Forwards, From: from}, page)
	if err != nil {
		return 0, wrap(ctx, "read $all", err)
	}
	defer rs.Close()
	return s.collect(ctx, rs, last, limit, out)
}

// collect receives one page of a forward $all read into out, skipping what
// is at or before *last and what is not this store's, and advances *last.
// It returns how many events the page held.
func (s *Store) collect(ctx context.Context, rs *esdbclient.ReadStream, last *esdbclient.Position, limit int, out *[]eventstore.Event) (uint64, error) {
	var received uint64
	for len(*out) < limit {
		re, err := rs.Recv()
		if isEOF(err) {
			return received, nil
		}
		if err != nil {
			return received, wrap(ctx, "read $all", err)
		}
		received++
		rec := re.OriginalEvent()
		if rec == nil || !later(rec.Position, *last) {
			continue
		}
		*last = rec.Position
		e, ok, err := s.own(rec)
		if err != nil {
			return received, fmt.Errorf("read $all: %w", err)
		}
		if ok {
			*out = append(*out, e)
		}
	}
	// The page was cut short because out is full; the caller stops.
	return received, nil
}

// later reports whether log position p comes after q.
func later(p, q esdbclient.Position) bool {
	if p.Commit != q.Commit {
		return p.Commit > q.Commit
	}
	return p.Prepare > q.Prepare
}

// Head returns the position of the last event of this store in the log, 0
// when there is none. It reads $all backwards, past system events and other
// namespaces' events, in pages that grow as it finds none.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	var from esdbclient.AllPosition = esdbclient.End{}
	var bound *esdbclient.Position
	for page := uint64(16); ; page = min(page*4, 4096) {
		rs, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: from}, page)
		if err != nil {
			return 0, wrap(ctx, "head of $all", err)
		}
		pos, oldest, received, err := s.scanBack(ctx, rs, bound)
		rs.Close()
		switch {
		case err != nil:
			return 0, err
		case pos != 0:
			return pos, nil
		case oldest == nil || received < page:
			return 0, nil // reached the start of the log
		}
		from, bound = *oldest, oldest
	}
}

// scanBack receives a backward page of $all and returns the position of the
// first event of this store in it (0 if none), the oldest position seen
// (nil if none), and how many events the page held. Events not before bound
// (the oldest position of the previous page) are ignored, in case a
// backward read includes its start.
func (s *Store) scanBack(ctx context.Context, rs *esdbclient.ReadStream, bound *esdbclient.Position) (pos uint64, oldest *esdbclient.Position, received uint64, err error) {
	for {
		re, err := rs.Recv()
		if isEOF(err) {
			return 0, oldest, received, nil
		}
		if err != nil {
			return 0, oldest, received, wrap(ctx, "head of $all", err)
		}
		received++
		rec := re.OriginalEvent()
		if rec == nil || (bound != nil && !later(*bound, rec.Position)) {
			continue
		}
		p := rec.Position
		oldest = &p
		e, ok, err := s.own(rec)
		if err != nil {
			return 0, oldest, received, fmt.Errorf("head of $all: %w", err)
		}
		if ok {
			return e.Position, oldest, received, nil
		}
	}
}

// Wait blocks until the log holds an event of this store with position >
// after, or ctx is done. It checks Head first, then follows $all with a
// catch-up subscription from that head, so an event appended between the
// two is not missed; the server filters out system events (or, with a
// StreamPrefix, other streams), and nothing polls.
func (s *Store) Wait(ctx context.Context, after uint64) error {
	head, err := s.Head(ctx)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if head > after {
		return nil
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.client.SubscribeToAll(subCtx, esdbclient.SubscribeToAllOptions{From: allFrom(head), Filter: s.filter()})
	if err != nil {
		return waitErr(ctx, "wait: subscribe to $all", err)
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.EventAppeared != nil:
			rec := ev.EventAppeared.OriginalEvent()
			if rec == nil {
				continue
			}
			e, ok, err := s.own(rec)
			if err != nil {
				return fmt.Errorf("wait: %w", err)
			}
			if ok && e.Position > after {
				return nil
			}
		case ev.SubscriptionDropped != nil:
			return waitErr(ctx, "wait: subscription to $all dropped", ev.SubscriptionDropped.Error)
		}
	}
}

// filter is the server-side filter of Wait's subscription: this store's
// streams, or every non-system event type when there is no prefix.
func (s *Store) filter() *esdbclient.SubscriptionFilter {
	if s.prefix == "" {
		return esdbclient.ExcludeSystemEventsFilter()
	}
	return &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{s.prefix}}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// own decodes rec when it is one of this store's events. Besides system
// events and other namespaces' streams, events that offerflow did not write
// (no envelope in their metadata) are not the store's: another program may
// write under the prefix, and one such event must not stop every reader of
// the log. ReadAll, Head and Wait all decide through own, so Head never
// names an event ReadAll skips and Wait never wakes for one.
func (s *Store) own(rec *esdbclient.RecordedEvent) (eventstore.Event, bool, error) {
	stream, ok := s.logical(rec.StreamID, rec.EventType)
	if !ok {
		return eventstore.Event{}, false, nil
	}
	e, err := decode(rec, stream)
	if errors.Is(err, errForeignEvent) {
		s.log.Debug("esdb: skipping an event offerflow did not write", "stream", rec.StreamID, "type", rec.EventType, "err", err)
		return eventstore.Event{}, false, nil
	}
	if err != nil {
		return eventstore.Event{}, false, err
	}
	return e, true, nil
}

// waitErr is Wait's error: the context's own error when ctx is done, as the
// Store interface promises, otherwise the mapped client error.
func waitErr(ctx context.Context, op string, err error) error {
	if cerr := ctxErr(ctx); cerr != nil {
		return cerr
	}
	return wrap(ctx, op, err)
}
