package command

import (
	"context"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// KeyEraser destroys the keys that seal customers' texts in the log
// (eventstore/seal.Keyring, in front of the SQLite or the cluster's key store).
type KeyEraser interface {
	// Destroy destroys customer's key as of at and returns the time of
	// the first erasure (at, unless the key was destroyed before).
	Destroy(ctx context.Context, customer string, at time.Time) (time.Time, error)
	// Recorded marks the erasure of customer as stored in the log.
	Recorded(ctx context.Context, customer string) error
}

// EraseCustomer erases a customer's texts: its key is destroyed, then
// customer.erased is appended. An operator may erase any customer, a
// reseller its own; any other is not found. Erasing again appends nothing
// and reports the first erasure's time.
//
// The key goes first: once the event is stored (and so once anyone was
// told the customer is erased) no text of the customer opens any more. A
// crash between the two leaves the texts unreadable and the event missing,
// with no answer given; the caller's retry, or RecordErasure at the next
// start, appends it with the time the key was destroyed. Then the cleanup
// (WithErasureCleanup) runs, and only then is the erasure marked recorded,
// so that a crash after the append but before the cleanup is completed at
// the next start too.
func (s *Service) EraseCustomer(ctx context.Context, m Meta, id domain.CustomerID) (time.Time, Result, error) {
	if s.keys == nil {
		return time.Time{}, Result{}, fmt.Errorf("erase customer %s: no key store", id)
	}
	c, _, err := s.Customer(ctx, id)
	if err != nil {
		return time.Time{}, Result{}, err
	}
	if m.Actor.Role != domain.RoleOperator && m.Actor.Role != domain.RoleSystem && c.Reseller() != domain.ResellerID(m.Actor.Tenant) {
		return time.Time{}, Result{}, domain.ErrCustomerNotFound
	}
	at := s.h.cfg.Now()
	if first := c.ErasedAt(); first != nil {
		at = *first
	}
	// Destroying again is harmless, and needed when the event is stored
	// but the key was not destroyed (a key store restored from a backup).
	at, err = s.keys.Destroy(ctx, string(id), at)
	if err != nil {
		return time.Time{}, Result{}, err
	}
	// One erasure event per customer: its id is derived from the customer,
	// so that a retry racing the first run appends nothing twice.
	m.IdempotencySeed = "erase:" + string(id)
	c, res, err := Execute(ctx, s.h, domain.CustomerStream(id), newCustomer, m, func(c *domain.Customer, _ time.Time) ([]domain.Event, error) {
		return c.Erase(at)
	})
	if err != nil {
		return time.Time{}, Result{}, err
	}
	if s.afterErasure != nil {
		if err := s.afterErasure(ctx, id); err != nil {
			return time.Time{}, Result{}, fmt.Errorf("erase customer %s: %w", id, err)
		}
	}
	if err := s.keys.Recorded(ctx, string(id)); err != nil {
		return time.Time{}, Result{}, err
	}
	return *c.ErasedAt(), res, nil
}

// RecordErasure appends, as the system, the customer.erased of a customer
// whose key was destroyed but whose event a crash may have kept from the
// log (see EraseCustomer); it appends nothing when the event is there.
func (s *Service) RecordErasure(ctx context.Context, id domain.CustomerID) error {
	m := Meta{Actor: domain.SystemActor("erasure")}
	if _, _, err := s.EraseCustomer(ctx, m, id); err != nil {
		return fmt.Errorf("record erasure of customer %s: %w", id, err)
	}
	return nil
}

// foldErasure folds the erasure of o's customer into o, when there was
// one, so that its view shows the texts as erased.
func (s *Service) foldErasure(ctx context.Context, o *domain.Offer) error {
	if o == nil || !o.Exists() {
		return nil
	}
	c := newCustomer()
	if _, _, err := Load(ctx, s.h, domain.CustomerStream(o.Customer()), c); err != nil {
		return err
	}
	if at := c.ErasedAt(); at != nil {
		o.Apply(&domain.CustomerErased{CustomerID: c.ID(), At: *at})
	}
	return nil
}
