package http

import (
	"net/http"

	"github.com/offerflow/offerflow/domain"
)

// ErrorStatus returns the HTTP status that answers err: the status of its
// domain code, 500 for anything the domain did not name. Only tests ask;
// the server writes the whole problem through the same table.
func ErrorStatus(err error) int {
	if k, ok := problems[domain.ErrorCode(err)]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}
