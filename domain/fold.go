package domain

import "fmt"

// Aggregate is what a stream folds into: every aggregate's Apply, which
// takes one event and never fails.
type Aggregate interface {
	Apply(Event)
}

// Fold applies the events of envs to agg in order, each decoded at its
// schema version and upcast to its type's current shape (DecodeEvent). It
// is the one fold of a stream into domain state: the command side loads
// aggregates with it and the event log folds offers with it. It stops at
// the first event that does not decode, having applied those before it.
func Fold(agg Aggregate, envs []Envelope) error {
	for i := range envs {
		e := &envs[i]
		de, err := DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			return fmt.Errorf("fold %s version %d: %w", e.Stream, e.Version, err)
		}
		agg.Apply(de)
	}
	return nil
}
