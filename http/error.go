package http

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// Error codes that only the HTTP layer produces. The domain's codes are in
// package domain; these name failures of the transport itself.
const (
	EBODYTOOLARGE          = "body_too_large"
	ENOTCAUGHTUP           = "not_caught_up"
	EIDEMPOTENCYREUSED     = "idempotency_key_reused"
	EIDEMPOTENCYINPROGRESS = "idempotency_in_progress"
	EMETHODNOTALLOWED      = "method_not_allowed"
	EUNAVAILABLE           = "unavailable"
	EREQUESTTIMEOUT        = "request_timeout"
	ERATELIMITED           = "rate_limited" // over one of the Limits
	// ECLIENTCLOSED is a request whose client went away before it was
	// answered: no fault of the server's, and no answer reaches anyone.
	// It is counted and logged as 499, nginx's status for it.
	ECLIENTCLOSED = "client_closed"
)

// statusClientClosed is the status under which a request whose client went
// away is counted; it is never seen by a client.
const statusClientClosed = 499

// problemKind is how one error code is answered.
type problemKind struct {
	status int
	title  string
	// rank is the code's place in the contract's order of checks: when a
	// request fails more than one, the lowest rank answers (see first).
	rank int
}

// Ranks of the contract's order of checks (../shared/api.md, Conventions):
// the first check that fails answers. rankAtOnce is for what is no check
// of that order (the server's own failures, limits, waits, the router's
// 405): it answers as soon as it happens, before any check still pending.
const (
	rankAtOnce       = iota
	rankAuth         // 401: no token, or a bad one
	rankRole         // 403: the role may not call the endpoint
	rankBody         // 413, 408: the body cannot be read
	rankSyntax       // 400: not JSON, an unknown field, a bad cursor
	rankPath         // 404: the resource named in the path
	rankInput        // 422: the body's values, the query's parameters
	rankPrecondition // 412: If-Match
	rankState        // 409: the resource's state
)

// problems is the one table that maps error codes to HTTP statuses and to
// their rank in the contract's order of checks. Handlers never pick an
// error status themselves: they return an error with a code, and Error
// answers it from here.
var problems = map[string]problemKind{
	domain.EUNAUTHENTICATED: {http.StatusUnauthorized, "Unauthenticated", rankAuth},
	domain.EFORBIDDEN:       {http.StatusForbidden, "Forbidden", rankRole},
	EBODYTOOLARGE:           {http.StatusRequestEntityTooLarge, "Body too large", rankBody},
	EREQUESTTIMEOUT:         {http.StatusRequestTimeout, "Request timeout", rankBody},
	domain.EMALFORMED:       {http.StatusBadRequest, "Malformed request", rankSyntax},
	domain.ENOTFOUND:        {http.StatusNotFound, "Not found", rankPath},
	domain.EINVALID:         {http.StatusUnprocessableEntity, "Validation failed", rankInput},
	EIDEMPOTENCYREUSED:      {http.StatusUnprocessableEntity, "Idempotency key reused", rankInput},
	domain.EVERSION:         {http.StatusPreconditionFailed, "Version conflict", rankPrecondition},
	domain.ECONFLICT:        {http.StatusConflict, "Invalid transition", rankState},
	EIDEMPOTENCYINPROGRESS:  {http.StatusConflict, "Idempotency key in progress", rankState},
	EMETHODNOTALLOWED:       {http.StatusMethodNotAllowed, "Method not allowed", rankAtOnce},
	ERATELIMITED:            {http.StatusTooManyRequests, "Rate limited", rankAtOnce},
	ENOTCAUGHTUP:            {http.StatusServiceUnavailable, "Not caught up", rankAtOnce},
	EUNAVAILABLE:            {http.StatusServiceUnavailable, "Unavailable", rankAtOnce},
	ECLIENTCLOSED:           {statusClientClosed, "Client closed request", rankAtOnce},
	domain.EINTERNAL:        {http.StatusInternalServerError, "Internal error", rankAtOnce},
}

// Problem is an RFC 9457 problem details body. Code is the stable machine
// word; Field names the offending input of a validation error.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
}

// problemTypeBase prefixes each code to make the problem's type URI. The
// page does not have to exist for the URI to identify the kind of problem.
const problemTypeBase = "https://offerflow.dev/problems/"

// problemFor builds the problem body of err.
func problemFor(err error) Problem {
	code := domain.ErrorCode(err)
	k, ok := problems[code]
	if !ok {
		code, k = domain.EINTERNAL, problems[domain.EINTERNAL]
	}
	return Problem{
		Type:   problemTypeBase + code,
		Title:  k.title,
		Status: k.status,
		Detail: domain.ErrorMessage(err),
		Code:   code,
		Field:  domain.ErrorField(err),
	}
}

// Error writes err as problem+json with the status of its code; but when the
// route's path names a resource and err is a failure the contract answers
// only once that resource is found, a resource that is not found answers
// instead (see precede). Internal
// errors are logged with the request's context and answered without detail,
// so nothing internal leaks to the client.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(s.precede(r, first(failures(err)...)))
	if p.Code == domain.EINTERNAL && r.Context().Err() != nil {
		// The client gave up (a min_position wait, a slow query): what
		// failed was waiting for it, not the server.
		s.logger.DebugContext(r.Context(), "client closed the request", "err", err, "method", r.Method, "path", r.URL.Path)
		p = problemFor(errorf(ECLIENTCLOSED, "the client closed the request"))
	}
	if st := stateOf(r.Context()); st != nil {
		st.code = p.Code
	}
	if errors.Is(err, command.ErrConflict) {
		s.metrics.AppendConflicts.Inc()
	}
	if p.Code == domain.EINTERNAL {
		s.logger.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	// A problem never carries the headers of a success that was being built.
	h.Del("ETag")
	h.Del("X-Log-Position")
	h.Del("Location")
	switch p.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="offerflow"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	case http.StatusRequestTimeout:
		// What is left of the body may still arrive: it must not be read
		// as the next request.
		h.Set("Connection", "close")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// errorf returns an error with an HTTP-layer code (see the E* constants).
func errorf(code, format string, args ...any) error {
	return domain.Errorf(code, format, args...)
}

// isCode reports whether err carries the given code.
func isCode(err error, code string) bool {
	var e *domain.Error
	return errors.As(err, &e) && e.Code == code
}
