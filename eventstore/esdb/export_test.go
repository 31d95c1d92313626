package esdb

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
