package esdbemulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// defaultCheckpointWindow is the events a filtered subscription passes over
// between checkpoints when the client names no window (the client's default
// search window of 32, times a multiplier of 1).
const defaultCheckpointWindow = 32

// Read serves reads of a stream or $all, forwards or backwards, and
// catch-up subscriptions.
func (s *streamsServer) Read(req *streams.ReadReq, rs streams.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	f, err := filterOf(opts)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if opts.GetSubscription() != nil {
		return s.subscribe(opts, f, rs)
	}
	var recs []record
	if so := opts.GetStream(); so != nil {
		name := string(so.GetStreamIdentifier().GetStreamName())
		var found bool
		recs, found = s.store.readStream(name, so, opts.GetReadDirection(), opts.GetCount())
		if !found {
			return rs.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
			}}})
		}
	} else {
		recs, err = s.store.readAll(opts.GetAll(), opts.GetReadDirection(), opts.GetCount(), f)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
	}
	s.store.read.Add(uint64(len(recs)))
	for i := range recs {
		if err := rs.Send(eventResp(&recs[i])); err != nil {
			return err
		}
	}
	return nil
}

// readStream returns up to count records of stream from the revision so
// names, and false when the stream does not exist. Both directions include
// the start revision; a backward read from past the end starts at the end.
func (s *store) readStream(name string, so *streams.ReadReq_Options_StreamOptions, dir streams.ReadReq_Options_ReadDirection, count uint64) ([]record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	revs, ok := s.streams[name]
	if !ok {
		return nil, false
	}
	// The events the stream's metadata hides are not read; the revisions
	// of the others stay what they were.
	lo := s.firstVisible(name, revs)
	backwards := dir == streams.ReadReq_Options_Backwards
	var from uint64
	switch {
	case so.GetEnd() != nil:
		from = math.MaxUint64
	case so.GetStart() == nil:
		from = so.GetRevision()
	case backwards:
		// Start, read backwards: only revision 0.
		from = 0
	}
	var out []record
	if backwards {
		if from < lo || lo >= uint64(len(revs)) {
			return nil, true
		}
		i := min(from, uint64(len(revs)-1))
		for ; uint64(len(out)) < count; i-- {
			out = append(out, s.all[revs[i]])
			if i == lo {
				break
			}
		}
		return out, true
	}
	if so.GetEnd() != nil {
		return nil, true
	}
	for i := max(from, lo); i < uint64(len(revs)) && uint64(len(out)) < count; i++ {
		out = append(out, s.all[revs[i]])
	}
	return out, true
}

// metadata is what the emulator applies of a stream's metadata (the last
// event of stream $$name, JSON, as the client's SetStreamMetadata writes
// it): how many events, and how old, its reads show, and the revision
// before which its events are truncated.
type metadata struct {
	MaxCount       *uint64 `json:"$maxCount"`
	MaxAge         *uint64 `json:"$maxAge"` // seconds
	TruncateBefore *uint64 `json:"$tb"`
}

// firstVisible returns the first revision of stream name (whose records
// are revs) that its metadata lets a read show: len(revs) when none. As
// in EventStoreDB, $maxAge is judged by the server's clock against the
// events' created time, and the last event is hidden too when it is too
// old. The caller holds the lock.
func (s *store) firstVisible(name string, revs []int) uint64 {
	mrevs := s.streams["$$"+name]
	if strings.HasPrefix(name, "$$") || len(mrevs) == 0 {
		return 0
	}
	var md metadata
	if err := json.Unmarshal(s.all[mrevs[len(mrevs)-1]].data, &md); err != nil {
		return 0 // metadata the server cannot read is ignored
	}
	n := uint64(len(revs))
	lo := uint64(0)
	if md.TruncateBefore != nil {
		lo = max(lo, *md.TruncateBefore)
	}
	if md.MaxCount != nil && *md.MaxCount < n {
		lo = max(lo, n-*md.MaxCount)
	}
	if md.MaxAge != nil {
		oldest := s.now() - int64(*md.MaxAge)*int64(time.Second/100)
		for lo < n && s.all[revs[lo]].created < oldest {
			lo++
		}
	}
	return min(lo, n)
}

// readAll returns up to count records of $all that f keeps. A forward read
// includes the record at its start position; a backward read starts with
// the record before it.
func (s *store) readAll(ao *streams.ReadReq_Options_AllOptions, dir streams.ReadReq_Options_ReadDirection, count uint64, f *filter) ([]record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var start int
	switch {
	case ao.GetStart() != nil:
		start = 0
	case ao.GetEnd() != nil:
		start = len(s.all)
	default:
		var err error
		if start, err = s.indexOf(positionOf(ao.GetPosition())); err != nil {
			return nil, err
		}
	}
	var out []record
	if dir == streams.ReadReq_Options_Backwards {
		for i := start - 1; i >= 0 && uint64(len(out)) < count; i-- {
			if f.keeps(&s.all[i]) {
				out = append(out, s.all[i])
			}
		}
		return out, nil
	}
	for i := start; i < len(s.all) && uint64(len(out)) < count; i++ {
		if f.keeps(&s.all[i]) {
			out = append(out, s.all[i])
		}
	}
	return out, nil
}

// positionOf is the commit position of p. The emulator's records have equal
// commit and prepare positions, so the commit position names the record.
func positionOf(p *streams.ReadReq_Options_Position) uint64 {
	return p.GetCommitPosition()
}

func filterOf(opts *streams.ReadReq_Options) (*filter, error) {
	fo := opts.GetFilter()
	if fo == nil {
		return nil, nil
	}
	f := &filter{}
	expr := fo.GetStreamIdentifier()
	if e := fo.GetEventType(); e != nil {
		f.byType, expr = true, e
	}
	if expr == nil {
		return nil, errors.New("filter names neither stream nor event type")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, fmt.Errorf("filter regex: %w", err)
		}
		f.match = re.MatchString
	} else {
		f.prefixes = expr.GetPrefix()
	}
	return f, nil
}

// eventResp is the read response carrying r.
func eventResp(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidProto(r.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.position,
			CommitPosition:   r.position,
			Metadata: map[string]string{
				"type":         r.typ,
				"content-type": r.contentType,
				"created":      strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}}}
}

// subscribe serves a catch-up subscription: the confirmation, the stored
// events after the start, a caught-up message, then events as they are
// appended, until the client goes away or the emulator stops.
func (s *streamsServer) subscribe(opts *streams.ReadReq_Options, f *filter, rs streams.Streams_ReadServer) error {
	next, match, err := s.store.subscriptionStart(opts)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := rs.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{Confirmation: &streams.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	window := defaultCheckpointWindow
	if fo := opts.GetFilter(); fo != nil && fo.GetMax() > 0 {
		window = int(fo.GetMax()) * int(max(fo.GetCheckpointIntervalMultiplier(), 1))
	}
	scanned, caughtUp := 0, false
	for {
		batch, appended := s.store.since(next)
		next += len(batch)
		for i := range batch {
			r := &batch[i]
			if match(r) && f.keeps(r) {
				if err := rs.Send(eventResp(r)); err != nil {
					return err
				}
			}
			// A filtered subscription reports how far it has searched, so a
			// client can save its place while nothing matches.
			if scanned++; f != nil && scanned%window == 0 {
				if err := rs.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
					CommitPosition: r.position, PreparePosition: r.position,
				}}}); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := rs.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-rs.Context().Done():
			return rs.Context().Err()
		case <-appended:
		}
	}
}

// subscriptionStart returns the index in $all after which a subscription
// delivers, and which records belong to it (a stream's, or all of $all).
// Subscriptions start after their position or revision, never at it.
func (s *store) subscriptionStart(opts *streams.ReadReq_Options) (int, func(*record) bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if so := opts.GetStream(); so != nil {
		name := string(so.GetStreamIdentifier().GetStreamName())
		revs := s.streams[name]
		// after is the last revision not delivered, -1 for none.
		after := int64(-1)
		switch {
		case so.GetEnd() != nil:
			after = int64(len(revs)) - 1
		case so.GetStart() == nil:
			after = int64(min(so.GetRevision(), math.MaxInt64))
		}
		match := func(r *record) bool { return r.stream == name && int64(r.revision) > after }
		switch {
		case after < 0:
			return 0, match, nil
		case after >= int64(len(revs)):
			return len(s.all), match, nil
		default:
			return revs[after] + 1, match, nil
		}
	}
	all := func(*record) bool { return true }
	ao := opts.GetAll()
	switch {
	case ao.GetStart() != nil:
		return 0, all, nil
	case ao.GetEnd() != nil:
		return len(s.all), all, nil
	}
	i, err := s.indexOf(positionOf(ao.GetPosition()))
	if err != nil {
		return 0, nil, err
	}
	return min(i+1, len(s.all)), all, nil
}

// since returns the records from index next on, and the channel that is
// closed at the next append.
func (s *store) since(next int) ([]record, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record(nil), s.all[next:]...), s.appended
}
