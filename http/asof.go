package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// PastQueries answers the read side's queries as the read models stood at
// an earlier point of the log (?as_of=), computed by replaying the log up
// to that point.
type PastQueries interface {
	// At returns the read models as of log position (0: before the first
	// event) and the function to call once the queries on them are done.
	// A position beyond the log's head, or one that costs more to replay
	// than the server allows, is invalid (field as_of).
	At(ctx context.Context, position uint64) (Queries, func(), error)
	// PositionAt returns the position the log had reached at time t: the
	// end of the longest prefix of the log whose events all occurred at or
	// before t (0 when none did). Invalid (as_of) when finding it costs
	// more than the server allows.
	PositionAt(ctx context.Context, t time.Time) (uint64, error)
}

// asOfParam reads ?as_of=: a log position (a non-negative integer) or a
// time (RFC 3339). given is false when the request has none; an empty
// value is invalid rather than taken for the present.
func asOfParam(r *http.Request) (position uint64, at time.Time, isTime, given bool, err error) {
	q := r.URL.Query()
	if !q.Has("as_of") {
		return 0, time.Time{}, false, false, nil
	}
	v := q.Get("as_of")
	if n, perr := strconv.ParseUint(v, 10, 64); perr == nil {
		return n, time.Time{}, false, true, nil
	}
	t, perr := time.Parse(time.RFC3339Nano, v)
	if perr != nil {
		return 0, time.Time{}, false, true, domain.Invalid("as_of", "as_of must be a log position (a non-negative integer) or an RFC 3339 time")
	}
	return 0, t.UTC(), true, true, nil
}

// readModels returns the read models a query answers from and the function
// to call once it is done with them. Without ?as_of= they are the live
// ones, once they have applied the request's min_position. With it they
// are the read models replayed from the log up to that point (the log is
// the truth, so there is nothing to wait for: a min_position is only
// checked), and X-As-Of-Position names the position they stand at.
func (s *Server) readModels(w http.ResponseWriter, r *http.Request) (Queries, func(), error) {
	position, at, isTime, given, err := asOfParam(r)
	if err != nil {
		return nil, nil, err
	}
	if !given {
		if err := s.catchUp(r); err != nil {
			return nil, nil, err
		}
		return s.cfg.Queries, func() {}, nil
	}
	if _, err := minPosition(r); err != nil {
		return nil, nil, err
	}
	if s.cfg.Past == nil {
		return nil, nil, domain.Invalid("as_of", "this server does not answer as_of")
	}
	if isTime {
		if position, err = s.cfg.Past.PositionAt(r.Context(), at); err != nil {
			return nil, nil, err
		}
	}
	q, release, err := s.cfg.Past.At(r.Context(), position)
	if err != nil {
		return nil, nil, err
	}
	w.Header().Set("X-As-Of-Position", strconv.FormatUint(position, 10))
	return q, release, nil
}

// listReads is the start of a list handler that answers ?as_of=: the read
// models to query (see readModels), the request's page, and the function
// to call once done with them.
func (s *Server) listReads(w http.ResponseWriter, r *http.Request) (Queries, domain.PageRequest, func(), error) {
	reads, release, err := s.readModels(w, r)
	if err != nil {
		return nil, domain.PageRequest{}, nil, err
	}
	page, err := pageRequest(r)
	if err != nil {
		release()
		return nil, domain.PageRequest{}, nil, err
	}
	return reads, page, release, nil
}

// Replayer is what PastFrom adapts: At returns the read models as a type of
// its own (projections.Past returns *projections.DB).
type Replayer[Q Queries] interface {
	At(ctx context.Context, position uint64) (Q, func(), error)
	PositionAt(ctx context.Context, t time.Time) (uint64, error)
}

// PastFrom returns p as PastQueries.
func PastFrom[Q Queries](p Replayer[Q]) PastQueries { return pastOf[Q]{p} }

type pastOf[Q Queries] struct{ p Replayer[Q] }

func (a pastOf[Q]) At(ctx context.Context, position uint64) (Queries, func(), error) {
	q, release, err := a.p.At(ctx, position)
	if err != nil {
		return nil, nil, err
	}
	return q, release, nil
}

func (a pastOf[Q]) PositionAt(ctx context.Context, t time.Time) (uint64, error) {
	return a.p.PositionAt(ctx, t)
}
