package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// executeNew is Execute for a creating command on the stream of an id the
// handler has just drawn at random: that stream cannot exist yet, so the
// first try decides on a new aggregate at version 0 and appends with
// NoStream without reading the stream, one read of the log less on the hot
// path of sending an offer. Should the stream exist after all (an id drawn
// twice), the append fails on its expected version and the command runs
// through Execute, which reads it. A command with an idempotency seed or an
// If-Match goes through Execute at once: a seeded id names the stream an
// earlier run of the same command may have written.
func executeNew[A domain.Aggregate](ctx context.Context, h *Handler, stream string, newAgg func() A, meta Meta, decide func(A, time.Time) ([]domain.Event, error)) (A, Result, error) {
	if meta.IdempotencySeed != "" || meta.IfMatch != nil {
		return Execute(ctx, h, stream, newAgg, meta, decide)
	}
	var zero A
	agg := newAgg()
	now := h.cfg.Now()
	events, err := decide(agg, now)
	if err != nil {
		return zero, Result{}, err
	}
	if len(events) == 0 {
		return Execute(ctx, h, stream, newAgg, meta, decide)
	}
	batch, err := h.encode(stream, eventstore.NoStream, events, meta, now)
	if err != nil {
		return zero, Result{}, err
	}
	epoch := h.cacheEpoch(stream)
	res, err := h.store.Append(ctx, stream, eventstore.NoStream, batch...)
	if otherStream(err, stream) {
		return zero, Result{}, err
	}
	if errors.Is(err, eventstore.ErrWrongVersion) {
		return Execute(ctx, h, stream, newAgg, meta, decide)
	}
	if err != nil {
		return zero, Result{}, fmt.Errorf("append %s: %w", stream, err)
	}
	h.remember(stream, epoch, eventstore.NoStream, batch, res)
	for _, e := range events {
		agg.Apply(e)
	}
	return agg, Result{Version: res.Version, Position: res.Position, Events: events}, nil
}
