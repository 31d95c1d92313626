// Package eventlog lets the HTTP layer read the event log without knowing
// the event store: it adapts an eventstore.Store to the interfaces package
// http declares for live updates (http.Log) and for offer histories served
// from the log itself, the truth with its hash chain (http.History).
package eventlog

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// Log reads one event store in the shapes of package domain.
type Log struct {
	store eventstore.Store
}

// New returns a Log over store.
func New(store eventstore.Store) *Log { return &Log{store: store} }

// ReadAll returns up to limit events with position > after, in global order.
func (l *Log) ReadAll(ctx context.Context, after uint64, limit int) ([]domain.Envelope, error) {
	evs, err := l.store.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return evs, nil
}

// Wait blocks until the log holds an event with position > after, or ctx is
// done (returning ctx's error).
func (l *Log) Wait(ctx context.Context, after uint64) error {
	return l.store.Wait(ctx, after)
}

// Head returns the position of the last event in the log, 0 when empty.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	return l.store.Head(ctx)
}

// defaultLimit is the page size when the request names none.
const defaultLimit = 50

// OfferHistory returns one page of the events of offer id and of the
// streams it caused (ReadOfferHistory), in log order. An offer that actor
// may not see (as domain.Offer.VisibleTo decides, on the offer as it stands
// now) is ErrOfferNotFound; a cursor this method did not issue is
// malformed.
func (l *Log) OfferHistory(ctx context.Context, actor domain.Actor, id domain.OfferID, page domain.PageRequest) (domain.Page[domain.Envelope], error) {
	after, err := decodeCursor(page.Cursor)
	if err != nil {
		return domain.Page[domain.Envelope]{}, err
	}
	evs, err := ReadOfferHistory(ctx, l.store, id)
	if err != nil {
		return domain.Page[domain.Envelope]{}, err
	}
	o := &domain.Offer{}
	own := domain.OfferStream(id)
	if err := domain.Fold(o, slices.DeleteFunc(slices.Clone(evs), func(e eventstore.Event) bool { return e.Stream != own })); err != nil {
		return domain.Page[domain.Envelope]{}, fmt.Errorf("read offer %s: %w", id, err)
	}
	if !o.VisibleTo(actor) {
		return domain.Page[domain.Envelope]{}, domain.ErrOfferNotFound
	}
	limit := page.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var out domain.Page[domain.Envelope]
	out.Items = []domain.Envelope{}
	for _, e := range evs {
		if e.Position <= after {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor(out.Items[len(out.Items)-1].Position)
			break
		}
		out.Items = append(out.Items, e)
	}
	return out, nil
}

// ReadOfferHistory reads every event of offer id's stream and of the
// streams the offer caused (domain.CausedStreams: the licenses.granted of
// its grant), merged in log order; each event keeps its stream, version and
// place in its own stream's hash chain, so every stream can be verified on
// its own. An unknown offer reads as no events.
func ReadOfferHistory(ctx context.Context, store eventstore.Store, id domain.OfferID) ([]eventstore.Event, error) {
	own := domain.OfferStream(id)
	evs, err := eventstore.ReadStreamAll(ctx, store, own, 0)
	if err != nil {
		return nil, fmt.Errorf("read offer %s: %w", id, err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	for _, stream := range domain.CausedStreams(id) {
		more, err := eventstore.ReadStreamAll(ctx, store, stream, 0)
		if err != nil {
			return nil, fmt.Errorf("read %s of offer %s: %w", stream, id, err)
		}
		evs = append(evs, more...)
	}
	// Each stream is in version order, which is log order; merge them.
	slices.SortStableFunc(evs, func(a, b eventstore.Event) int { return cmp.Compare(a.Position, b.Position) })
	return evs, nil
}

// cursorPrefix marks the cursors of offer histories (a log position), so
// that a cursor of another list, or one that named an offer stream version
// before histories took in the streams an offer caused, is refused rather
// than misread.
const cursorPrefix = "history-position:"

func encodeCursor(position uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(position, 10)))
}

func decodeCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(b), cursorPrefix) {
		if v, err := strconv.ParseUint(strings.TrimPrefix(string(b), cursorPrefix), 10, 64); err == nil {
			return v, nil
		}
	}
	return 0, domain.Errorf(domain.EMALFORMED, "cursor is not one this list issued")
}

// ReadStream returns every event of one stream, in order.
func (l *Log) ReadStream(ctx context.Context, stream string) ([]domain.Envelope, error) {
	evs, err := eventstore.ReadStreamAll(ctx, l.store, stream, 0)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return evs, nil
}
