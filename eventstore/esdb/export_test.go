package esdb

import "context"

// Open connects to the server named by the connection string url with the
// default configuration (serve goes through OpenConfig).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenConfig(ctx, Config{URL: url})
}

// Internals exposed to the external test package, for the mapping tests that
// need no server.
var (
	ExpectedRevision = expectedRevision
	StreamFrom       = streamFrom
	AllFrom          = allFrom
	ParseID          = parseID
	Seal             = seal
	Decode           = decode
	Retried          = retried
	Later            = later
	ClientLogger     = clientLogger
	StoreErr         = storeErr
	Wrap             = wrap
)

// Logical is the stream filter of a store with prefix.
func Logical(prefix, stream, typ string) (string, bool) {
	return (&Store{prefix: prefix}).logical(stream, typ)
}

// Physical is the stream naming of a store with prefix.
func Physical(prefix, stream string) (string, error) {
	return (&Store{prefix: prefix}).physical(stream)
}
