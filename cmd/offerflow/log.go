package main

import (
	"context"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// storeLog shows the event store to the HTTP layer's live updates in the
// auditors' shape, so that package http needs no storage package.
type storeLog struct{ s eventstore.Store }

func (l storeLog) ReadAll(ctx context.Context, after uint64, limit int) ([]domain.AuditEvent, error) {
	evs, err := l.s.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]domain.AuditEvent, len(evs))
	for i, e := range evs {
		out[i] = auditEvent(e)
	}
	return out, nil
}

func (l storeLog) Wait(ctx context.Context, after uint64) error { return l.s.Wait(ctx, after) }

func (l storeLog) Head(ctx context.Context) (uint64, error) { return l.s.Head(ctx) }

func auditEvent(e eventstore.Event) domain.AuditEvent {
	var prev *string
	if e.PrevHash != "" {
		p := e.PrevHash
		prev = &p
	}
	a := e.Metadata.Actor
	return domain.AuditEvent{
		Position: e.Position, Stream: e.Stream, Version: e.Version, Type: e.Type, SchemaVersion: e.SchemaVersion,
		OccurredAt: e.Metadata.OccurredAt, Actor: domain.Actor{Role: domain.Role(a.Role), Tenant: a.Tenant, Subject: a.Subject},
		Data: e.Data, CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID,
		Hash: e.Hash, PrevHash: prev,
	}
}
