package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// Queries is the read side as the API uses it: read models built from the
// log. Every method answers only from the tenant it is given; a resource of
// another tenant is not_found. List methods return malformed for a cursor
// they did not issue.
type Queries interface {
	// Products lists a reseller's products by name; q, when not empty,
	// keeps those whose name contains it, case-insensitively.
	Products(ctx context.Context, reseller domain.ResellerID, q string, page domain.PageRequest) (domain.Page[domain.ProductRecord], error)
	// Product returns one product of reseller, or not_found.
	Product(ctx context.Context, reseller domain.ResellerID, id domain.ProductID) (domain.ProductRecord, error)
	// Templates lists a reseller's templates by name, the archived ones only
	// when includeArchived.
	Templates(ctx context.Context, reseller domain.ResellerID, includeArchived bool, page domain.PageRequest) (domain.Page[domain.TemplateRecord], error)
	// Template returns one template of reseller, archived or not, or
	// not_found.
	Template(ctx context.Context, reseller domain.ResellerID, id domain.TemplateID) (domain.TemplateRecord, error)
	// Customers lists a reseller's customers by name, with offer counts.
	Customers(ctx context.Context, reseller domain.ResellerID, page domain.PageRequest) (domain.Page[domain.CustomerRecord], error)
	// Customer returns one customer of reseller, or not_found.
	Customer(ctx context.Context, reseller domain.ResellerID, id domain.CustomerID) (domain.CustomerRecord, error)
	// Offers lists offers newest first as filter selects them; an empty
	// Reseller selects every reseller's.
	Offers(ctx context.Context, filter domain.OfferFilter) (domain.Page[domain.OfferRecord], error)
	// Inbox lists a customer's delivered offers, newest first.
	Inbox(ctx context.Context, customer domain.CustomerID, page domain.PageRequest) (domain.Page[domain.InboxEntry], error)
	// Badge returns a customer's unread counts.
	Badge(ctx context.Context, customer domain.CustomerID) (domain.Badge, error)
	// Licenses lists the licenses granted to a customer.
	Licenses(ctx context.Context, customer domain.CustomerID, page domain.PageRequest) (domain.Page[domain.LicenseRecord], error)
	// AuditEvents returns up to limit events after position after, in global
	// order, keeping only those actor may see.
	AuditEvents(ctx context.Context, actor domain.Actor, after uint64, limit int) ([]domain.AuditEvent, error)
	// ResellerName returns a reseller's name, or not_found.
	ResellerName(ctx context.Context, id domain.ResellerID) (string, error)
	CampaignQueries
	// WaitFor blocks until every read model has applied the log up to
	// position, or ctx is done (returning ctx's error).
	WaitFor(ctx context.Context, position uint64) error
}

// List limits of the contract.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// pageRequest reads ?limit= and ?cursor=. A limit outside 1..500 is
// validation_failed; the cursor is passed on as is (the read side knows
// whether it issued it).
func pageRequest(r *http.Request) (domain.PageRequest, error) {
	q := r.URL.Query()
	p := domain.PageRequest{Limit: defaultLimit, Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, domain.Invalid("limit", "limit must be an integer from 1 to %d", maxLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// minPosition reads ?min_position= or X-Min-Position; 0 when neither is given.
func minPosition(r *http.Request) (uint64, error) {
	s := r.URL.Query().Get("min_position")
	if s == "" {
		s = r.Header.Get("X-Min-Position")
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, domain.Invalid("min_position", "min_position must be a non-negative integer")
	}
	return n, nil
}

// catchUp waits until the read models have applied the request's
// min_position, at most WaitTimeout; then it is not_caught_up (503).
func (s *Server) catchUp(r *http.Request) error {
	pos, err := minPosition(r)
	if err != nil || pos == 0 {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WaitTimeout)
	defer cancel()
	err = s.cfg.Queries.WaitFor(ctx, pos)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		return errorf(ENOTCAUGHTUP, "the read models have not reached position %d yet; try again", pos)
	default:
		return err
	}
}

// list is the body of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList maps a page to its response body; items is never null.
func newList[S, T any](p domain.Page[S], f func(S) T) list[T] {
	out := list[T]{Items: make([]T, 0, len(p.Items))}
	for _, it := range p.Items {
		out.Items = append(out.Items, f(it))
	}
	if p.NextCursor != "" {
		c := p.NextCursor
		out.NextCursor = &c
	}
	return out
}

// queryPage waits for the request's min_position and reads its page
// parameters: the start of every list handler.
func (s *Server) queryPage(r *http.Request) (domain.PageRequest, error) {
	if err := s.catchUp(r); err != nil {
		return domain.PageRequest{Limit: defaultLimit, Cursor: r.URL.Query().Get("cursor")}, err
	}
	return pageRequest(r)
}

// deferInvalid splits err for a query on a resource named in its path. The
// contract answers a resource missing from the path (404) before a query
// parameter out of range (422), so a validation error is handed back as
// invalid, to be answered only once the resource has been found; any other
// error (503 not_caught_up, 400) answers at once.
func deferInvalid(err error) (invalid, other error) {
	if isCode(err, domain.EINVALID) {
		return err, nil
	}
	return nil, err
}

// pagedPath reads the {id} of a path whose resource carries a list, and the
// request's page, in the contract's order of checks: a bad cursor (400)
// answers at once, an id the server cannot have issued is notFound (404), and
// a bad limit (422) comes back as invalid, to be answered only once the
// resource is found; meanwhile page is the probe page to find it with. ok is
// false when an answer was written.
func (s *Server) pagedPath(w http.ResponseWriter, r *http.Request, notFound error) (id string, page domain.PageRequest, invalid error, ok bool) {
	page, err := s.queryPage(r)
	return s.pathPage(w, r, notFound, page, err)
}

// pathPage is pagedPath for a handler that read the request's page itself:
// err is what reading it (and waiting for min_position) returned.
func (s *Server) pathPage(w http.ResponseWriter, r *http.Request, notFound error, page domain.PageRequest, err error) (id string, _ domain.PageRequest, invalid error, ok bool) {
	invalid, err = deferInvalid(err)
	if err != nil {
		s.Error(w, r, err)
		return "", page, nil, false
	}
	id = chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, notFound)
		return "", page, nil, false
	}
	if invalid != nil {
		page = probePage(page)
	}
	return id, page, invalid, true
}

// probePage is the page a handler reads to find the resource of its path
// while the request's own page parameters are invalid: the request's cursor
// (a bad one is answered 400, before 404) and the default limit.
func probePage(p domain.PageRequest) domain.PageRequest {
	return domain.PageRequest{Limit: defaultLimit, Cursor: p.Cursor}
}

// validID reports whether s could be an id the server issued. Ids are
// UUIDs; anything longer than 128 bytes or with characters other than
// letters, digits, '-' and '_' names nothing, so it is not_found without a
// look-up.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// serveOne serves GET of one resource of the caller's tenant named by the
// path's {id}, in the contract's order of checks: a bad min_position is held
// back until the resource is found (404 before 422), and the resource is
// served with its version as ETag.
func serveOne[R, J any](s *Server, w http.ResponseWriter, r *http.Request, notFound error,
	get func(ctx context.Context, tenant, id string) (R, error), version func(R) uint64, encode func(R) J) {
	invalid, err := deferInvalid(s.catchUp(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, notFound)
		return
	}
	res, err := get(r.Context(), identity(r).Tenant, id)
	if err == nil {
		err = invalid
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setETag(w, version(res))
	writeJSON(w, http.StatusOK, encode(res))
}
