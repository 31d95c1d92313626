package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"

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
	AuditEvents(ctx context.Context, actor domain.Actor, after uint64, limit int) ([]domain.Envelope, error)
	// ResellerName returns a reseller's name, or not_found.
	ResellerName(ctx context.Context, id domain.ResellerID) (string, error)
	CampaignQueries
	// WaitFor blocks until every read model has applied the log up to
	// position, or ctx is done (returning ctx's error). With a ctx already
	// done it tells at once whether they have (nil) or not.
	WaitFor(ctx context.Context, position uint64) error
}

// List limits of the contract.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// pageRequest reads ?limit= and ?cursor=. A limit outside 1..500 is
// validation_failed, returned beside the page with the default limit; the
// cursor is passed on as is (the read side knows whether it issued it).
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
		return domain.PageRequest{}, err
	}
	return pageRequest(r)
}

// lookupPage is the page with which a path's resource that carries a list
// is looked up: the request's, with the default limit when its limit is
// invalid (that is answered once the resource is found); always the
// request's cursor, as a bad cursor (400) is answered before the resource
// (404).
func lookupPage(r *http.Request) domain.PageRequest {
	p, _ := pageRequest(r)
	return p
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
