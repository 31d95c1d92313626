package seal

import (
	"slices"
	"sort"
	"sync"

	"github.com/offerflow/offerflow/eventstore"
)

// tailSize is how many events the tail keeps at least (and twice as many at
// most): many pages of the subscribers' (256 events each) behind the
// newest, so that a follower a little behind the others still finds them.
const tailSize = 4096

// tail keeps the newest events read from the log, opened, so that the
// followers of the log (each projector group and each process manager has
// a subscription of its own, and all of them read every event) read and
// open each event once between them instead of once each: in a server's
// CPU profile, reading and opening the log for seven followers was a fifth
// of the CPU of every offer sent.
//
// It relies on the log's order: positions strictly increase in append
// order, so a ReadAll after p that returned events up to q returned every
// event there will ever be in (p, q]. The run it keeps is such a range,
// grown by reads that start where it ends. Opened texts depend on the
// keys: a key destroyed or forgotten (an erasure) moves Keys' generation
// on, and a run opened under an older generation is dropped, never served.
type tail struct {
	mu     sync.Mutex
	gen    uint64             // Keys' generation events were opened under
	after  uint64             // events holds every event after this position...
	events []eventstore.Event // ...up to its last, in log order
}

// get returns up to limit kept events after position after; old reports
// that after lies before the kept range (nothing kept is of use: the
// reader is catching up). The events are shared with other readers: nobody
// may modify them.
func (t *tail) get(after uint64, limit int, gen uint64) (evs []eventstore.Event, old bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen || len(t.events) == 0 || after > t.events[len(t.events)-1].Position {
		return nil, false
	}
	if after < t.after {
		return nil, true
	}
	i := sort.Search(len(t.events), func(i int) bool { return t.events[i].Position > after })
	n := min(limit, len(t.events)-i)
	return slices.Clone(t.events[i : i+n]), false
}

// put keeps evs, read from the log after position after and opened under
// generation gen: appended when they continue the run, or as a new run when
// they are newer than all of it. Older reads (a follower catching up)
// leave the run alone.
func (t *tail) put(after uint64, evs []eventstore.Event, gen uint64) {
	if len(evs) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case gen < t.gen:
		return // opened before a key was destroyed: never kept
	case gen > t.gen || len(t.events) == 0:
		t.gen, t.after, t.events = gen, after, slices.Clone(evs)
	case after == t.events[len(t.events)-1].Position:
		t.events = append(t.events, evs...)
	case after > t.events[len(t.events)-1].Position:
		t.after, t.events = after, slices.Clone(evs)
	default:
		return
	}
	if len(t.events) > 2*tailSize {
		// Dropped in halves, into a new array, so that the front is
		// freed and the copy is paid once per tailSize events appended.
		n := len(t.events) - tailSize
		t.after = t.events[n-1].Position
		t.events = slices.Clone(t.events[n:])
	}
}
