package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/offerflow/offerflow/domain"
)

// lastEventID reads where a reconnecting stream resumes: the Last-Event-ID
// header, or the last_event_id query parameter for clients that cannot set
// headers. resumed is false when neither is given; a value that is no log
// position is malformed.
func lastEventID(r *http.Request) (from uint64, resumed bool, err error) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(last), 10, 64)
	if err != nil {
		return 0, false, errorf(domain.EMALFORMED, "Last-Event-ID must be a log position")
	}
	return n, true, nil
}
