package http

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// bodyDeadline gives the body of every request a deadline (Config.BodyTimeout)
// that really ends the request. The server has no ReadTimeout, which would
// also cut the event stream's long responses short; without a deadline a
// client that declares a body and never sends it held its connection for
// ever, and after its handler had answered, net/http itself still waited
// for the body before sending the reply. So:
//
//   - reading the body fails once the deadline passes, and readBody answers
//     that with 408 request_timeout (the connection is then closed);
//   - the deadline is lifted as soon as the body has been read to its end,
//     so a long handler (a min_position wait) is not cut by it;
//   - a response written while the body has not been read to its end is sent
//     with "Connection: close": net/http then does not wait to discard the
//     rest, and the connection is closed after the reply instead of being
//     kept for a request that might never be complete.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil {
			// Only writers that are no connection (test recorders) refuse.
			next.ServeHTTP(w, r)
			return
		}
		body := &deadlineBody{ReadCloser: r.Body, rc: rc}
		r.Body = body
		next.ServeHTTP(&bodyGuardWriter{ResponseWriter: w, body: body}, r)
	})
}

// deadlineBody is a request body read under a deadline; it lifts the
// deadline once it reaches the end of the body.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done.Swap(true) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// isTimeout reports whether err is a read that ran out of time.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// bodyGuardWriter closes the connection after a response that was started
// before its request's body was read to the end.
type bodyGuardWriter struct {
	http.ResponseWriter
	body    *deadlineBody
	started bool
}

func (w *bodyGuardWriter) start() {
	if w.started {
		return
	}
	w.started = true
	if !w.body.done.Load() {
		w.Header().Set("Connection", "close")
	}
}

func (w *bodyGuardWriter) WriteHeader(status int) {
	w.start()
	w.ResponseWriter.WriteHeader(status)
}

func (w *bodyGuardWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *bodyGuardWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
