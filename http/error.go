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
}

// problems is the one table that maps error codes to HTTP statuses. Handlers
// never pick an error status themselves: they return an error with a code,
// and Error answers it from here.
var problems = map[string]problemKind{
	domain.EUNAUTHENTICATED: {http.StatusUnauthorized, "Unauthenticated"},
	domain.EFORBIDDEN:       {http.StatusForbidden, "Forbidden"},
	EBODYTOOLARGE:           {http.StatusRequestEntityTooLarge, "Body too large"},
	domain.EMALFORMED:       {http.StatusBadRequest, "Malformed request"},
	domain.ENOTFOUND:        {http.StatusNotFound, "Not found"},
	EMETHODNOTALLOWED:       {http.StatusMethodNotAllowed, "Method not allowed"},
	EREQUESTTIMEOUT:         {http.StatusRequestTimeout, "Request timeout"},
	domain.EINVALID:         {http.StatusUnprocessableEntity, "Validation failed"},
	EIDEMPOTENCYREUSED:      {http.StatusUnprocessableEntity, "Idempotency key reused"},
	domain.EVERSION:         {http.StatusPreconditionFailed, "Version conflict"},
	domain.ECONFLICT:        {http.StatusConflict, "Invalid transition"},
	EIDEMPOTENCYINPROGRESS:  {http.StatusConflict, "Idempotency key in progress"},
	ERATELIMITED:            {http.StatusTooManyRequests, "Rate limited"},
	ENOTCAUGHTUP:            {http.StatusServiceUnavailable, "Not caught up"},
	EUNAVAILABLE:            {http.StatusServiceUnavailable, "Unavailable"},
	ECLIENTCLOSED:           {statusClientClosed, "Client closed request"},
	domain.EINTERNAL:        {http.StatusInternalServerError, "Internal error"},
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

// Error writes err as problem+json with the status of its code. Internal
// errors are logged with the request's context and answered without detail,
// so nothing internal leaks to the client.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
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
