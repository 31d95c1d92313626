package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"

	"github.com/offerflow/offerflow/domain"
)

// resellerView projects what a reseller's pages show: resellers' names, the
// product catalog, templates with their items, customers with their offer
// counts by status, and every offer with the time of each step. Its handlers
// are in this file and in product.go, template.go, customer.go and offer.go,
// next to the queries that read their tables.
type resellerView struct{}

func newResellerView() (*projector, error) {
	v := resellerView{}
	return newProjector(ProjectorResellerView,
		cqrs.NewGroupEventHandler(v.OnResellerRegistered),
		cqrs.NewGroupEventHandler(v.OnProductAdded),
		cqrs.NewGroupEventHandler(v.OnTemplateCreated),
		cqrs.NewGroupEventHandler(v.OnTemplateItemAdded),
		cqrs.NewGroupEventHandler(v.OnTemplateItemModeChanged),
		cqrs.NewGroupEventHandler(v.OnTemplateItemRemoved),
		cqrs.NewGroupEventHandler(v.OnTemplateArchived),
		cqrs.NewGroupEventHandler(v.OnCustomerRegistered),
		cqrs.NewGroupEventHandler(v.OnCustomerWebhookSet),
		cqrs.NewGroupEventHandler(v.OnCustomerWebhookRemoved),
		cqrs.NewGroupEventHandler(v.OnCustomerErased),
		cqrs.NewGroupEventHandler(v.OnOfferCreated),
		cqrs.NewGroupEventHandler(v.OnOfferDispatched),
		cqrs.NewGroupEventHandler(v.OnOfferDelivered),
		cqrs.NewGroupEventHandler(v.OnOfferDeliveryFailed),
		cqrs.NewGroupEventHandler(v.OnOfferRead),
		cqrs.NewGroupEventHandler(v.OnOfferAccepted),
		cqrs.NewGroupEventHandler(v.OnOfferRejected),
		cqrs.NewGroupEventHandler(v.OnOfferWithdrawn),
		cqrs.NewGroupEventHandler(v.OnOfferExpired),
		cqrs.NewGroupEventHandler(v.OnOfferSuperseded),
		cqrs.NewGroupEventHandler(v.OnOfferReminded),
	)
}

// OnResellerRegistered records the reseller's name.
func (resellerView) OnResellerRegistered(ctx context.Context, e *domain.ResellerRegistered) error {
	c, err := changeFrom(ctx)
	if err != nil {
		return err
	}
	_, err = c.tx.ExecContext(ctx, `INSERT INTO resellers (id, name, version) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version`,
		e.ResellerID, e.Name, int64(c.env.Version))
	if err != nil {
		return fmt.Errorf("insert reseller %s: %w", e.ResellerID, err)
	}
	return nil
}

// ResellerName returns the name of reseller id, or an error matching
// domain.ErrResellerNotFound.
func (db *DB) ResellerName(ctx context.Context, id domain.ResellerID) (string, error) {
	var name string
	err := db.read.QueryRowContext(ctx, `SELECT name FROM resellers WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", domain.ErrResellerNotFound
	}
	if err != nil {
		return "", fmt.Errorf("query reseller %s: %w", id, err)
	}
	return name, nil
}
