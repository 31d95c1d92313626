package http

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// shedRetryAfter is the Retry-After, in seconds, of a command shed for the
// bound: a command in flight takes milliseconds when the server keeps up,
// so a slot is likely free again a second later.
const shedRetryAfter = 1

// shedDrain is how much of a shed command's body is read and thrown away
// so that its connection can carry the client's next request: a command's
// body is a few hundred bytes. A longer one is left unread, and
// bodyDeadline closes the connection after the answer.
const shedDrain = 64 << 10

// commandGate bounds the commands in progress at once (Config.MaxCommandsInFlight).
type commandGate struct {
	max      int64 // 0: no bound
	inFlight atomic.Int64
}

// shed answers a command 503 unavailable, with Retry-After, when
// Config.MaxCommandsInFlight commands are already in progress, before it
// reads its body, looks at its Idempotency-Key or writes anything: a shed
// command wrote nothing, and the client may send it again as it was.
// Without the bound, a server that falls behind a burst holds every
// request that arrives (each with its goroutine, buffers and decoded
// events) until it is answered, typically long after its client gave up;
// its memory then grows with the backlog. Only command routes pass through
// it: queries (the inbox, the badge), /healthz, /readyz and /metrics are
// never shed.
func (s *Server) shed(next http.Handler) http.Handler {
	g := s.gate
	if g.max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.inFlight.Add(1) > g.max {
			g.inFlight.Add(-1)
			s.metrics.CommandsShed.Inc()
			if r.Body != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, shedDrain))
			}
			w.Header().Set("Retry-After", strconv.Itoa(shedRetryAfter))
			s.Error(w, r, errorf(EUNAVAILABLE, "the server has %d commands in progress, its bound; nothing was written: send the command again later", g.max))
			return
		}
		defer g.inFlight.Add(-1)
		next.ServeHTTP(w, r)
	})
}
