package eventstore

import "context"

// StreamVersion names a stream at a version (NoStream: a stream that must
// not exist).
type StreamVersion struct {
	Stream  string
	Version uint64
}

type conditionsKey struct{}

// WithConditions returns ctx carrying streams that an Append made under it
// requires at the given versions, besides the expected version of the
// stream it appends to: a decision that read other streams (an offer is
// made from a customer and a template) is written only if what it read is
// still what the log holds, in the same transaction as the write. A store
// whose ChecksConditions reports true rejects such an append, when a named
// stream is elsewhere, with an error matching ErrWrongVersion (a
// *VersionError naming that stream) and writes nothing, checking them
// before it looks for an earlier run of the append (so that a condition on
// the appended stream itself at the expected version tells a retry found
// from a write made, which an AppendResult does not); other stores
// ignore the conditions, so a caller relies on them only after asking
// ChecksConditions.
//
// They travel in the context, not in Append's arguments, so that wrappers
// of a store (sealing, fault injection) pass them on without knowing them.
func WithConditions(ctx context.Context, conds ...StreamVersion) context.Context {
	if len(conds) == 0 {
		return ctx
	}
	return context.WithValue(ctx, conditionsKey{}, conds)
}

// Conditions returns the conditions ctx carries (see WithConditions).
func Conditions(ctx context.Context) []StreamVersion {
	conds, _ := ctx.Value(conditionsKey{}).([]StreamVersion)
	return conds
}

// ConditionChecker is a store whose Append checks the conditions of its
// context (see WithConditions).
type ConditionChecker interface {
	ChecksConditions() bool
}

// ChecksConditions reports whether s, or the store it wraps (a wrapper
// that shows its wrapped store through Raw, as seal.Store does, and passes
// its context on to it), checks the conditions of Append's context.
func ChecksConditions(s Store) bool {
	for s != nil {
		if c, ok := s.(ConditionChecker); ok {
			return c.ChecksConditions()
		}
		w, ok := s.(interface{ Raw() Store })
		if !ok {
			return false
		}
		s = w.Raw()
	}
	return false
}
