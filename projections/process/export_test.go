package process

import (
	"context"
	"fmt"

	"github.com/offerflow/offerflow/eventstore"
)

// What only the tests ask of the process managers: the managers
// themselves, and counts and lists that serve does not show.

// Delivery returns the delivery manager.
func (p *Processes) Delivery() *DeliveryManager { return p.delivery }

// Expiry returns the expiry manager.
func (p *Processes) Expiry() *ExpiryManager { return p.expiry }

// Grant returns the license-grant manager.
func (p *Processes) Grant() interface {
	Handle(context.Context, eventstore.Event) error
} {
	return p.grant
}

// Reminder returns the reminder manager.
func (p *Processes) Reminder() *ReminderManager { return p.reminder }

// Poisoned lists the messages set aside in the poison queue, newest first.
func (p *Processes) Poisoned(ctx context.Context, limit int) ([]PoisonedMessage, error) {
	return p.poison.list(ctx, limit)
}

// ExpireDue records due pending offers as expired, up to one batch, and
// returns how many it recorded.
func (m *ExpiryManager) ExpireDue(ctx context.Context) (int, error) {
	p, err := m.pass(ctx)
	return p.done, err
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

// RemindDue records the due reminders and sends the due notices, up to one
// batch of each, and returns how many reminders it recorded.
func (m *ReminderManager) RemindDue(ctx context.Context) (int, error) {
	m.passing.Lock()
	defer m.passing.Unlock()
	p, err := m.remindDue(ctx)
	if err != nil {
		return p.done, err
	}
	_, _, err = m.noticesDue(ctx)
	return p.done, err
}

// Notices returns the reminder notices in each state and outcome
// ("pending", "done/notified", ...).
func (m *ReminderManager) Notices(ctx context.Context) (map[string]int, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT state, outcome, COUNT(*) FROM reminder_notices GROUP BY state, outcome`)
	if err != nil {
		return nil, fmt.Errorf("count reminder notices: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			state, outcome string
			n              int
		)
		if err := rows.Scan(&state, &outcome, &n); err != nil {
			return nil, fmt.Errorf("count reminder notices: %w", err)
		}
		if outcome != "" {
			state += "/" + outcome
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count reminder notices: %w", err)
	}
	return out, nil
}

// QueueReads returns how many passes the delivery scheduler made, and in
// how many of them it read the queue.
func (m *DeliveryManager) QueueReads() (passes, reads int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sched.passes, m.sched.reads
}
