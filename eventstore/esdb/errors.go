package esdb

import (
	"context"
	"errors"
	"fmt"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/offerflow/offerflow/eventstore"
)

// The store's errors for what the server or the connection reports. Every
// error of a Store method that comes from the client matches one of them
// with errors.Is (besides eventstore.ErrWrongVersion and the context's
// errors), and still wraps the client's own *esdbclient.Error.
var (
	// ErrUnavailable: no server answered, or not in time, or the node
	// cannot serve the request now (not the leader, shutting down). Trying
	// again later may succeed.
	ErrUnavailable = errors.New("esdb: server unavailable")
	// ErrAccessDenied: the credentials are missing, wrong, or lack the
	// rights the store needs (read access to $all, write to its streams).
	ErrAccessDenied = errors.New("esdb: access denied")
	// ErrStreamDeleted: the stream was deleted or tombstoned on the server,
	// which offerflow never does; someone else did.
	ErrStreamDeleted = errors.New("esdb: stream deleted on the server")
	// ErrServer: any other failure the server or the client reported.
	ErrServer = errors.New("esdb: server error")
)

// storeErr is the store's error for a client error code.
func storeErr(code esdbclient.ErrorCode) error {
	switch code {
	case esdbclient.ErrorUnavailable, esdbclient.ErrorCodeDeadlineExceeded,
		esdbclient.ErrorCodeConnectionClosed, esdbclient.ErrorCodeNotLeader, esdbclient.ErrorAborted:
		return ErrUnavailable
	case esdbclient.ErrorCodeUnauthenticated, esdbclient.ErrorCodeAccessDenied:
		return ErrAccessDenied
	case esdbclient.ErrorCodeStreamDeleted:
		return ErrStreamDeleted
	case esdbclient.ErrorCodeWrongExpectedVersion:
		return eventstore.ErrWrongVersion
	default:
		return ErrServer
	}
}

// clientCode returns the client error code in err. It uses errors.As rather
// than esdbclient.FromError, whose ok is true only for a nil error and which
// wraps any other error as ErrorCodeUnknown. A dropped subscription reports
// the bare gRPC status, which is read as the client reads statuses.
func clientCode(err error) (esdbclient.ErrorCode, bool) {
	var e *esdbclient.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	if st, ok := status.FromError(err); ok && err != nil {
		switch st.Code() {
		case codes.Unavailable:
			return esdbclient.ErrorUnavailable, true
		case codes.DeadlineExceeded:
			return esdbclient.ErrorCodeDeadlineExceeded, true
		case codes.Unauthenticated:
			return esdbclient.ErrorCodeUnauthenticated, true
		case codes.PermissionDenied:
			return esdbclient.ErrorCodeAccessDenied, true
		case codes.Aborted:
			return esdbclient.ErrorAborted, true
		default:
			return esdbclient.ErrorCodeUnknown, true
		}
	}
	return 0, false
}

func isCode(err error, code esdbclient.ErrorCode) bool {
	c, ok := clientCode(err)
	return ok && c == code
}

// wrap adds context to a client error and maps it to the store's error.
// When ctx is done, the context's error is what the caller needs to see
// (the client reports it as a gRPC status).
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctxErr(ctx); cerr != nil {
		return fmt.Errorf("%s: %w", op, cerr)
	}
	if code, ok := clientCode(err); ok {
		return fmt.Errorf("%s: %w: %w", op, storeErr(code), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
