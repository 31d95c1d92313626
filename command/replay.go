package command

import (
	"github.com/google/uuid"
)

// earlierRun looks in a stream's events for those an earlier run of the
// command with seed wrote (their ids are DeterministicID(seed, stream, i))
// and returns that run's result: the version and position of its last event.
func earlierRun(evs []stored, stream, seed string) (Result, bool) {
	if seed == "" {
		return Result{}, false
	}
	first := DeterministicID(seed, stream, 0)
	for j, e := range evs {
		if e.ID != first {
			continue
		}
		k := j
		for k+1 < len(evs) && evs[k+1].ID == DeterministicID(seed, stream, k+1-j) {
			k++
		}
		return Result{Version: evs[k].Version, Position: evs[k].Position}, true
	}
	return Result{}, false
}

// newIDFor returns the id of the resource a creating command makes. With an
// idempotency seed it is derived from the seed, so that a retry of a command
// whose outcome the caller never learnt names the same stream, finds its
// events there and creates nothing twice; a random id would make a second
// resource.
func (h *Handler) newIDFor(m Meta) string {
	if m.IdempotencySeed == "" {
		return h.cfg.NewID()
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:offerflow:resource:"+m.IdempotencySeed)).String()
}
