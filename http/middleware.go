package http

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
)

// requestState is what the middleware learns about a request while it runs.
type requestState struct {
	id     string
	code   string    // the error code answered, if any
	caller *Identity // who authenticated, if anyone
}

type requestStateKey struct{}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}

// requestID returns the id of the request of ctx: the correlation id of the
// events it causes.
func requestID(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.id
	}
	return ""
}

// requestID gives every request an id, the client's X-Request-ID when it is
// a plausible one, and echoes it.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if len(id) > 64 || !validID(id) {
			id = s.cfg.NewID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestStateKey{}, &requestState{id: id})))
	})
}

// observe logs one line per request and counts it by route and status. The
// line never holds a header: tokens travel in them.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		routePattern := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			routePattern = rc.RoutePattern()
		}
		s.metrics.Requests.WithLabelValues(routePattern, strconv.Itoa(status)).Inc()
		attrs := append(logAttrs(r, status),
			slog.String("route", routePattern),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestID(r.Context())))
		if st := stateOf(r.Context()); st != nil && st.code != "" {
			attrs = append(attrs, slog.String("code", st.code))
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// recoverPanic turns a panic in a handler into a 500 problem.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Error(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// timeCommand observes the latency and outcome of a command route.
func (s *Server) timeCommand(name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		outcome := "ok"
		if st := stateOf(r.Context()); st != nil && st.code != "" {
			outcome = st.code
		}
		s.metrics.observeCommand(name, outcome, time.Since(start))
	})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (the
// event stream flushes through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logAttrs are the attributes every request log line carries; tokens and the
// Authorization header are never among them.
func logAttrs(r *http.Request, status int) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
	}
	if st := stateOf(r.Context()); st != nil && st.caller != nil {
		attrs = append(attrs, slog.String("role", string(st.caller.Role)), slog.String("tenant", st.caller.Tenant))
	}
	return attrs
}
