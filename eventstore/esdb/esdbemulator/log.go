package esdbemulator

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// firstPosition is the $all position of the first record. A fresh
// EventStoreDB has written its own records before any client's, so no client
// event is ever at position 0, which the adapter reads as "before the first
// event".
const firstPosition = 128

// recordOverhead stands for the bytes of a record's header in the
// transaction file, so positions grow by more than the payload and are not
// contiguous, as EventStoreDB's byte offsets are not.
const recordOverhead = 64

// record is one event in $all.
type record struct {
	stream   string
	revision uint64
	id       uuid.UUID
	typ      string
	// contentType is "application/json" or "application/octet-stream".
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch
	data        []byte
	meta        []byte // the client's custom metadata
	// position is the commit position and the prepare position alike: the
	// emulator commits every event of an append by itself.
	position uint64
}

// Expected is the expected revision of an append, as the client sends it.
type Expected struct {
	Kind     ExpectedKind
	Revision uint64 // for ExpectRevision
}

// ExpectedKind says which expected revision an append carries.
type ExpectedKind int

// The expected revisions of EventStoreDB's append.
const (
	ExpectAny ExpectedKind = iota
	ExpectNoStream
	ExpectStreamExists
	ExpectRevision
)

// proposed is an event of an append request.
type proposed struct {
	id          uuid.UUID
	typ         string
	contentType string
	data, meta  []byte
}

// outcome is the answer to an append: the stream's revision after it and the
// position of its last event, or the wrong expected version.
type outcome struct {
	// current is the stream's last revision; noStream when it has none.
	current  uint64
	noStream bool
	// position is that of the last event written (or found, for an
	// idempotent append).
	position uint64
	wrong    bool
}

// errCorrupt marks a request EventStoreDB would refuse as malformed.
var errCorrupt = errors.New("invalid request")

// store is the emulator's state: $all and its index by stream.
type store struct {
	mu      sync.Mutex
	all     []record
	streams map[string][]int // stream name -> indices into all, by revision
	next    uint64           // the position of the next record
	// appended is closed and replaced on every write, waking subscriptions.
	appended chan struct{}
	now      func() int64
	// read counts the events sent by reads (not subscriptions).
	read atomic.Uint64
}

func newStore(now func() int64) *store {
	return &store{streams: make(map[string][]int), next: firstPosition, appended: make(chan struct{}), now: now}
}

// append applies one append request as EventStoreDB decides it, with the
// lock held for the decision and the write, so appends are serialised.
func (s *store) append(stream string, exp Expected, events []proposed) (outcome, error) {
	if stream == "" || stream == "$all" {
		return outcome{}, fmt.Errorf("%w: cannot append to stream %q", errCorrupt, stream)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	revs := s.streams[stream]
	cur := outcome{noStream: len(revs) == 0}
	if !cur.noStream {
		cur.current = uint64(len(revs) - 1)
		cur.position = s.all[revs[len(revs)-1]].position
	}
	// start is the revision the events would take if the expected revision
	// held; retry tells whether the events are already there from it.
	switch exp.Kind {
	case ExpectNoStream:
		if cur.noStream {
			return s.write(stream, events), nil
		}
		return s.idempotent(revs, 0, events, cur), nil
	case ExpectRevision:
		switch {
		case !cur.noStream && exp.Revision == cur.current:
			return s.write(stream, events), nil
		case !cur.noStream && exp.Revision < cur.current:
			return s.idempotent(revs, exp.Revision+1, events, cur), nil
		default:
			cur.wrong = true
			return cur, nil
		}
	case ExpectStreamExists:
		if cur.noStream {
			cur.wrong = true
			return cur, nil
		}
		fallthrough
	default: // Any
		if len(events) > 0 {
			if at, ok := s.find(revs, events[0].id); ok {
				return s.idempotent(revs, at, events, cur), nil
			}
		}
		return s.write(stream, events), nil
	}
}

// idempotent answers an append whose expected revision is behind the stream:
// when the events are the ones stored from revision start on, the append is
// a retry and succeeds without writing; otherwise the expected version is
// wrong (EventStoreDB's "corrupted idempotency" when only some match, which
// gRPC clients also receive as a wrong expected version).
func (s *store) idempotent(revs []int, start uint64, events []proposed, cur outcome) outcome {
	if len(events) == 0 || start+uint64(len(events)) > uint64(len(revs)) {
		cur.wrong = true
		return cur
	}
	for i, e := range events {
		if s.all[revs[start+uint64(i)]].id != e.id {
			cur.wrong = true
			return cur
		}
	}
	last := start + uint64(len(events)) - 1
	return outcome{current: last, position: s.all[revs[last]].position}
}

// find returns the revision of the event with id in the stream. EventStoreDB
// looks ids up in a cache of recent writes; the emulator remembers them all.
func (s *store) find(revs []int, id uuid.UUID) (uint64, bool) {
	for rev, i := range revs {
		if s.all[i].id == id {
			return uint64(rev), true
		}
	}
	return 0, false
}

// write appends events to stream. The caller holds the lock.
func (s *store) write(stream string, events []proposed) outcome {
	revs := s.streams[stream]
	if len(events) == 0 {
		if len(revs) == 0 {
			return outcome{noStream: true}
		}
		return outcome{current: uint64(len(revs) - 1), position: s.all[revs[len(revs)-1]].position}
	}
	created := s.now()
	for _, e := range events {
		r := record{
			stream: stream, revision: uint64(len(revs)), id: e.id, typ: e.typ,
			contentType: e.contentType, created: created, data: e.data, meta: e.meta, position: s.next,
		}
		s.next += recordOverhead + uint64(len(stream)+len(e.typ)+len(e.data)+len(e.meta))
		revs = append(revs, len(s.all))
		s.all = append(s.all, r)
	}
	s.streams[stream] = revs
	close(s.appended)
	s.appended = make(chan struct{})
	last := s.all[revs[len(revs)-1]]
	return outcome{current: last.revision, position: last.position}
}

// indexOf returns the index in all of the record at position pos, or, when
// pos is at or past the end of the log, len(all). Any other position is not
// the start of a record, which EventStoreDB refuses to read from.
func (s *store) indexOf(pos uint64) (int, error) {
	if pos >= s.next {
		return len(s.all), nil
	}
	lo, hi := 0, len(s.all)
	for lo < hi {
		mid := (lo + hi) / 2
		if s.all[mid].position < pos {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(s.all) || s.all[lo].position != pos {
		return 0, fmt.Errorf("%w: position %d is not the start of a record", errCorrupt, pos)
	}
	return lo, nil
}

// filter is a server-side $all filter: by stream name or by event type,
// with prefixes or a regular expression.
type filter struct {
	byType   bool
	prefixes []string
	match    func(string) bool // the regular expression, when there is one
}

func (f *filter) keeps(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.stream
	if f.byType {
		subject = r.typ
	}
	if f.match != nil {
		return f.match(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}
