// Package command is the write side of offerflow: it loads an aggregate's
// stream from the event store, folds it to state, lets the domain decide, and
// appends the resulting events with the expected version. On a version
// conflict it reloads and decides again a bounded number of times.
package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// Meta is who runs a command and how it relates to other work.
type Meta struct {
	Actor         domain.Actor
	CorrelationID string
	CausationID   string
	// IdempotencySeed, when set, makes the ids of the events the command
	// writes deterministic, so a retried command (an HTTP Idempotency-Key, a
	// redelivered message) appends nothing twice.
	IdempotencySeed string
	// IfMatch, when set, is the version the caller last saw; the command is
	// refused with a version_conflict error when the stream is elsewhere
	// (joined after the decision's own failure, if any; see Execute).
	IfMatch *uint64
}

// Result tells what a command wrote.
type Result struct {
	// Version is the stream version after the command.
	Version uint64
	// Position is the global position of the last event written, or of the
	// stream's last event when the command wrote nothing.
	Position uint64
	// Events are the domain events written.
	Events []domain.Event
}

// Config configures a Handler.
type Config struct {
	// MaxAttempts bounds how often a command is decided when appends race.
	MaxAttempts int
	Now         func() time.Time
	NewID       func() string
	Logger      *slog.Logger
	// OnConflict, when set, is called every time an append loses a race
	// with a concurrent command (for metrics).
	OnConflict func()
}

func (c *Config) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
	if c.NewID == nil {
		c.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Handler runs commands against the event store.
type Handler struct {
	store eventstore.Store
	cfg   Config
	cache *streamCache
	// offers caches offer streams (see cacheFor).
	offers *streamCache
	// conds is set when the store checks the conditions of an append's
	// context (eventstore.ChecksConditions).
	conds bool
}

// NewHandler returns a handler over store.
func NewHandler(store eventstore.Store, cfg Config) *Handler {
	cfg.setDefaults()
	return &Handler{store: store, cfg: cfg, cache: newStreamCache(maxCachedStreams), offers: newStreamCache(maxCachedOffers), conds: eventstore.ChecksConditions(store)}
}

// Now returns the handler's current time.
func (h *Handler) Now() time.Time { return h.cfg.Now() }

// NewID returns a new unique id.
func (h *Handler) NewID() string { return h.cfg.NewID() }

// Store returns the event store the handler writes to.
func (h *Handler) Store() eventstore.Store { return h.store }

// ErrConflict is returned (wrapped in a domain conflict error) when appends
// kept racing past the handler's attempts.
var ErrConflict = domain.Errorf(domain.ECONFLICT, "the resource was changed concurrently; try again")

// Execute loads stream into agg, calls decide, and appends what it returns.
// decide may be called more than once (after a concurrent append), each time
// with agg freshly loaded; it must not have effects outside agg. After a
// successful call agg holds the state including the new events. When
// meta.IfMatch names another version than the stream's, the error joins the
// decision's failure, if any, with a version_conflict: the caller's
// contract says which of them answers.
func Execute[A domain.Aggregate](ctx context.Context, h *Handler, stream string, newAgg func() A, meta Meta, decide func(A, time.Time) ([]domain.Event, error)) (A, Result, error) {
	var zero A
	// The first round may decide on the cache without reading the log
	// (see streamCache); an If-Match compares with the stream as it is. A
	// command with a seed may find its earlier run appended since the
	// cache was filled, which the store's answer does not tell from a
	// write (a retry is answered with its result): it decides on the cache
	// only over a store that checks conditions, under one that names the
	// stream itself at the version decided on, checked before the store
	// looks for an earlier run.
	current := meta.IfMatch != nil || (meta.IdempotencySeed != "" && !h.conds)
	for attempt := 1; ; attempt++ {
		agg := newAgg()
		version, position, evs, read, err := h.loadEvents(ctx, stream, agg, current)
		if err != nil {
			return zero, Result{}, err
		}
		// again goes to a current round when this one decided on the
		// cache alone: anything but a write may come from outdated state.
		// That round is not one of the attempts, which count races.
		again := func() bool {
			if read {
				return false
			}
			current = true
			attempt--
			return true
		}
		if done, ok := earlierRun(evs, stream, meta.IdempotencySeed); ok {
			if again() {
				continue
			}
			// The command ran before and its events are stored, though its
			// caller may have seen an error (a crash or a lost connection
			// after the commit): the retry writes nothing and answers as the
			// first run would have.
			return agg, done, nil
		}
		now := h.cfg.Now()
		events, err := decide(agg, now)
		if meta.IfMatch != nil && *meta.IfMatch != version {
			// Both failures go back, the decision's first: which one answers
			// is the caller's contract to rank (the HTTP API's puts not_found
			// and validation_failed before version_conflict, and that before
			// invalid_transition).
			stale := &domain.Error{Code: domain.EVERSION, Message: fmt.Sprintf("the resource is at version %d, which If-Match does not name", version)}
			return zero, Result{}, errors.Join(err, stale)
		}
		if (err != nil || len(events) == 0) && again() {
			continue
		}
		if err != nil {
			return zero, Result{}, err
		}
		if len(events) == 0 {
			return agg, Result{Version: version, Position: position}, nil
		}
		batch, err := h.encode(stream, version, events, meta, now)
		if err != nil {
			return zero, Result{}, err
		}
		actx := ctx
		if !read && meta.IdempotencySeed != "" {
			actx = eventstore.WithConditions(ctx, append(slices.Clone(eventstore.Conditions(ctx)), eventstore.StreamVersion{Stream: stream, Version: version})...)
		}
		epoch := h.cacheEpoch(stream)
		res, err := h.store.Append(actx, stream, version, batch...)
		if otherStream(err, stream) {
			// A condition of ctx failed: the caller read that stream.
			return zero, Result{}, err
		}
		if errors.Is(err, eventstore.ErrWrongVersion) {
			if h.cfg.OnConflict != nil {
				h.cfg.OnConflict()
			}
			if again() {
				continue
			}
			if attempt < h.cfg.MaxAttempts && meta.IfMatch == nil {
				h.cfg.Logger.DebugContext(ctx, "append conflict, deciding again", "stream", stream, "attempt", attempt)
				continue
			}
			if meta.IfMatch != nil {
				return zero, Result{}, &domain.Error{Code: domain.EVERSION, Message: "the resource was changed concurrently"}
			}
			return zero, Result{}, fmt.Errorf("%w: %w", ErrConflict, err)
		}
		if err != nil {
			return zero, Result{}, fmt.Errorf("append %s: %w", stream, err)
		}
		if res.Version != version+uint64(len(events)) {
			// The store took the append for a retry of an earlier one with
			// the same event ids and wrote nothing: answer with what the
			// stream holds, never with the state just decided, which was
			// not stored (a reused seed may carry another decision).
			stored := newAgg()
			v, p, err := h.load(ctx, stream, stored)
			if err != nil {
				return zero, Result{}, err
			}
			return stored, Result{Version: v, Position: p}, nil
		}
		h.remember(stream, epoch, version, batch, res)
		for _, e := range events {
			agg.Apply(e)
		}
		return agg, Result{Version: res.Version, Position: res.Position, Events: events}, nil
	}
}

// Load folds stream into agg and returns its version and the position of its
// last event.
func Load[A domain.Aggregate](ctx context.Context, h *Handler, stream string, agg A) (version, position uint64, err error) {
	return h.load(ctx, stream, agg)
}

// LoadUntil folds stream into agg up to and including version until, or up
// to the last event that occurred at or before asOf when asOf is not zero.
func LoadUntil[A domain.Aggregate](ctx context.Context, h *Handler, stream string, agg A, until uint64, asOf time.Time) (version uint64, err error) {
	evs, err := eventstore.ReadStreamAll(ctx, h.store, stream, 0)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", stream, err)
	}
	n := 0
	for _, e := range evs {
		if (until > 0 && e.Version > until) || (!asOf.IsZero() && e.Metadata.OccurredAt.After(asOf)) {
			break
		}
		n++
	}
	if err := domain.Fold(agg, evs[:n]); err != nil {
		return 0, fmt.Errorf("load %s: %w", stream, err)
	}
	if n > 0 {
		version = evs[n-1].Version
	}
	return version, nil
}

func (h *Handler) load(ctx context.Context, stream string, agg domain.Aggregate) (version, position uint64, err error) {
	version, position, _, _, err = h.loadEvents(ctx, stream, agg, true)
	return version, position, err
}

// loadEvents is load that also returns where the stream's events stand
// (ids, versions, positions). Unless current is set, a cached stream is
// served from the cache alone and read is false (see streamCache).
func (h *Handler) loadEvents(ctx context.Context, stream string, agg domain.Aggregate, current bool) (version, position uint64, evs []stored, read bool, err error) {
	if h.cacheFor(stream) != nil {
		return h.loadCached(ctx, stream, agg, current)
	}
	all, err := eventstore.ReadStreamAll(ctx, h.store, stream, 0)
	if err != nil {
		return 0, 0, nil, true, fmt.Errorf("load %s: %w", stream, err)
	}
	if err := domain.Fold(agg, all); err != nil {
		return 0, 0, nil, true, fmt.Errorf("load %s: %w", stream, err)
	}
	evs = make([]stored, len(all))
	for i, e := range all {
		evs[i] = stored{ID: e.ID, Version: e.Version, Position: e.Position}
	}
	if n := len(all); n > 0 {
		version, position = all[n-1].Version, all[n-1].Position
	}
	return version, position, evs, true, nil
}

func (h *Handler) encode(stream string, version uint64, events []domain.Event, meta Meta, now time.Time) ([]eventstore.NewEvent, error) {
	out := make([]eventstore.NewEvent, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		id := h.cfg.NewID()
		if meta.IdempotencySeed != "" {
			id = DeterministicID(meta.IdempotencySeed, stream, i)
		}
		out[i] = eventstore.NewEvent{
			ID: id, Type: e.EventType(), SchemaVersion: domain.SchemaVersion(e.EventType()), Data: data,
			Metadata: eventstore.Metadata{
				Actor:         meta.Actor,
				CorrelationID: meta.CorrelationID,
				CausationID:   meta.CausationID,
				OccurredAt:    now,
			},
		}
	}
	return out, nil
}

// otherStream reports whether err rejects an append to stream because
// another stream, named in its conditions (eventstore.WithConditions), is
// not at the version the command read.
func otherStream(err error, stream string) bool {
	var ve *eventstore.VersionError
	return errors.As(err, &ve) && ve.Stream != stream
}

// DeterministicID derives the id of the i-th event a command with seed writes
// to stream, so that a retry of the same command yields the same ids.
func DeterministicID(seed, stream string, i int) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "urn:offerflow:event:%s\x00%s\x00%d", seed, stream, i)).String()
}
