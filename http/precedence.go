package http

import (
	"context"
	"net/http"
	"reflect"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// The contract's order of checks (401, 403, 413, 400, 404, 422, 412, 409)
// is data: each code's rank in problems. Three things apply it, so that no
// handler writes it out:
//   - authenticate, allow and the body's reading answer in their turn, as
//     middleware (401, 403, then 413 and 400 in serveRoute);
//   - serveRoute checks the ids of the path (404) once the body is read, and
//     decodes the body a command route declares before its handler runs;
//   - Error answers a failure ranked after not_found (a body or a query
//     parameter that fails validation) only once the resource the route's
//     path names is found: precede looks it up, once a request, and only
//     then. A command looks its resource up itself, before any failure it
//     answers (command.Execute), so its own failures need no look-up; when
//     it reports two (a refusal and a stale If-Match), Error answers the
//     first-ranked (failures).

// rankOf is err's rank in the contract's order of checks; a code the table
// does not know is internal, answered at once.
func rankOf(err error) int {
	if k, ok := problems[domain.ErrorCode(err)]; ok {
		return k.rank
	}
	return problems[domain.EINTERNAL].rank
}

// first returns the failure of errs that the contract answers first: the
// lowest rank, the earliest given of equal ranks; nil when every one is nil.
func first(errs ...error) error {
	var out error
	for _, err := range errs {
		if err != nil && (out == nil || rankOf(err) < rankOf(out)) {
			out = err
		}
	}
	return out
}

// failures returns the domain failures err carries, depth first, or err
// alone when it carries none. A command reports both its decision's failure
// and a stale If-Match (command.Execute); Error answers the first-ranked.
func failures(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		switch u := e.(type) {
		case *domain.Error:
			out = append(out, u)
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	walk(err)
	if len(out) == 0 {
		return []error{err}
	}
	return out
}

// pathID is an id in a route's path and the error that answers an id
// naming nothing (the resource's not_found).
type pathID struct {
	name     string
	notFound error
}

// pathResource declares the resource a route's path names.
type pathResource struct {
	// params are the path's ids, outermost first. An id the server cannot
	// have issued (see validID) is answered not_found without a look-up.
	params []pathID
	// find looks the resource up as the caller may see it: not_found when
	// it does not exist or belongs to someone the caller is not. Its value
	// is what resource returns to the handler. nil when only the command
	// can tell (the ids are still checked).
	find func(s *Server, r *http.Request) (any, error)
}

// ids checks that every id of the path could name something.
func (p *pathResource) ids(r *http.Request) error {
	for _, prm := range p.params {
		if !validID(chi.URLParam(r, prm.name)) {
			return prm.notFound
		}
	}
	return nil
}

// pathState is what a request has learnt of its path's resource.
type pathState struct {
	spec *pathResource
	// found is set once the resource was looked up (value, err), or once
	// the route left that to its command.
	found bool
	value any
	err   error
}

type pathStateKey struct{}

func pathStateOf(r *http.Request) *pathState {
	ps, _ := r.Context().Value(pathStateKey{}).(*pathState)
	return ps
}

// lookUp looks the path's resource up, once a request.
func (s *Server) lookUp(r *http.Request, ps *pathState) (any, error) {
	if !ps.found {
		ps.found = true
		ps.err = ps.spec.ids(r)
		if ps.err == nil && ps.spec.find != nil {
			ps.value, ps.err = ps.spec.find(s, r)
		}
	}
	return ps.value, ps.err
}

// resource returns the resource the route's path names, looked up once a
// request. Only routes that declare a pathResource with a find call it.
func resource[T any](s *Server, r *http.Request) (T, error) {
	var zero T
	ps := pathStateOf(r)
	if ps == nil {
		return zero, domain.Errorf(domain.EINTERNAL, "the route %s declares no path resource", r.URL.Path)
	}
	v, err := s.lookUp(r, ps)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, domain.Errorf(domain.EINTERNAL, "the path resource of %s is a %T", r.URL.Path, v)
	}
	return t, nil
}

// precede returns err, or the failure of the resource the route's path
// names when the contract answers that first: err ranks after not_found and
// the resource was not found.
func (s *Server) precede(r *http.Request, err error) error {
	ps := pathStateOf(r)
	if ps == nil || rankOf(err) <= rankPath {
		return err
	}
	_, perr := s.lookUp(r, ps)
	return first(perr, err)
}

// checker is a request body with checks beyond its JSON types (a time to
// parse, a field that must not be empty); serveRoute runs them after
// decoding, so that they rank like the types' (422).
type checker interface {
	check() error
}

type bodyKey struct{}

// body returns the request body serveRoute decoded for the route: a
// pointer to a value of the type the route declares.
func body[T any](r *http.Request) *T {
	v, _ := r.Context().Value(bodyKey{}).(*T)
	if v == nil {
		// A route whose handler asks for another type than it declares is
		// a programming error that every test of the route meets.
		panic("http: the route declares no body of type " + reflect.TypeFor[T]().String())
	}
	return v
}

// serveRoute runs rt's handler behind the checks the route declares, in
// the contract's order: the body of a command (413 and 400 at once; 422
// once the path's resource is found, see precede), then the path's ids
// (404). The handler then runs the command or query, whose own failures
// rank after the path's resource, which it finds itself.
func (s *Server) serveRoute(rt route) http.Handler {
	var bodyType reflect.Type
	if rt.command != "" {
		bodyType = reflect.TypeOf(struct{}{})
		if rt.body != nil {
			bodyType = reflect.TypeOf(rt.body)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps := pathStateOf(r)
		if bodyType != nil {
			v := reflect.New(bodyType).Interface()
			err := decode(w, r, v)
			if c, ok := v.(checker); ok && err == nil {
				err = c.check()
			}
			if err != nil {
				s.Error(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, v))
		}
		if ps != nil {
			if err := rt.path.ids(r); err != nil {
				s.Error(w, r, err)
				return
			}
			if bodyType != nil {
				// The command looks its resource up itself, before any
				// failure it answers: nothing is left to look up here.
				ps.found = true
			}
		}
		rt.handler(w, r)
	})
}

// declarePath makes the resource rt's path names known to every failure
// answered for the request, including those of middleware that runs before
// serveRoute (a malformed or reused Idempotency-Key is a 422, and the
// contract answers 404 first).
func declarePath(rt route) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if rt.path == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ps := &pathState{spec: rt.path}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pathStateKey{}, ps)))
		})
	}
}

// serveResource serves GET of the resource the route's path names, once the
// read models have applied the request's min_position, with its version as
// ETag.
func serveResource[R, J any](s *Server, w http.ResponseWriter, r *http.Request, version func(R) uint64, encode func(R) J) {
	err := s.catchUp(r)
	var res R
	if err == nil {
		res, err = resource[R](s, r)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setETag(w, version(res))
	writeJSON(w, http.StatusOK, encode(res))
}
