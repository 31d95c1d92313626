package process

import (
	"context"
	"fmt"
)

// What only the tests ask of the process managers: the managers
// themselves, and counts and lists that serve does not show.

// Delivery returns the delivery manager.
func (p *Processes) Delivery() *DeliveryManager { return p.delivery }

// Expiry returns the expiry manager.
func (p *Processes) Expiry() *ExpiryManager { return p.expiry }

// Grant returns the license-grant manager.
func (p *Processes) Grant() *GrantManager { return p.grant }

// Poisoned lists the messages set aside in the poison queue, newest first.
func (p *Processes) Poisoned(ctx context.Context, limit int) ([]PoisonedMessage, error) {
	return p.poison.list(ctx, limit)
}

// ExpireDue records due pending offers as expired, up to one batch, and
// returns how many it recorded.
func (m *ExpiryManager) ExpireDue(ctx context.Context) (int, error) {
	p, err := m.pass(ctx)
	return p.expired, err
}

// Jobs returns the number of delivery jobs in each state (pending, done,
// poisoned).
func (m *DeliveryManager) Jobs(ctx context.Context) (map[string]int, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM delivery_jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count delivery jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count delivery jobs: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count delivery jobs: %w", err)
	}
	return out, nil
}
