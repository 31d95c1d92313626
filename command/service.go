package command

import (
	"context"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Service offers every command of offerflow as a method. Each checks that the
// actor's tenant owns what it names: another tenant's resource is not found.
type Service struct {
	h      *Handler
	tokens *tokenCache
	keys   KeyEraser
	// afterErasure is WithErasureCleanup's cleanup; nil for none.
	afterErasure func(ctx context.Context, id domain.CustomerID) error
}

// NewService returns a Service writing through h. Its token look-ups are
// cached while FollowTokens runs.
func NewService(h *Handler) *Service { return &Service{h: h, tokens: newTokenCache()} }

// WithKeys returns s erasing customers through keys (EraseCustomer): the
// key store of the seal.Store that h writes to.
func (s *Service) WithKeys(keys KeyEraser) *Service {
	s.keys = keys
	return s
}

// WithErasureCleanup returns s running cleanup in every erasure once
// customer.erased is in the log and before the erasure is marked recorded:
// it removes the customer's texts from what keeps them outside the log
// (the replies kept for Idempotency-Key). A crash before it is done leaves
// the erasure unrecorded, so that RecordErasure at the next start runs it
// again; it must be harmless to repeat.
func (s *Service) WithErasureCleanup(cleanup func(ctx context.Context, id domain.CustomerID) error) *Service {
	s.afterErasure = cleanup
	return s
}

// Handler returns the handler the service writes through.
func (s *Service) Handler() *Handler { return s.h }

func newReseller() *domain.Reseller { return &domain.Reseller{} }
func newProduct() *domain.Product   { return &domain.Product{} }
func newCustomer() *domain.Customer { return &domain.Customer{} }
func newTemplate() *domain.Template { return &domain.Template{} }
func newOffer() *domain.Offer       { return &domain.Offer{} }
func newGrant() *domain.Grant       { return &domain.Grant{} }

// RegisterReseller creates a reseller.
func (s *Service) RegisterReseller(ctx context.Context, m Meta, name string) (*domain.Reseller, Result, error) {
	id := domain.ResellerID(s.h.newIDFor(m))
	return Execute(ctx, s.h, domain.ResellerStream(id), newReseller, m, func(r *domain.Reseller, _ time.Time) ([]domain.Event, error) {
		return r.Register(id, name)
	})
}

// Reseller loads a reseller; ErrResellerNotFound when there is none.
func (s *Service) Reseller(ctx context.Context, id domain.ResellerID) (*domain.Reseller, error) {
	r := newReseller()
	if _, _, err := Load(ctx, s.h, domain.ResellerStream(id), r); err != nil {
		return nil, err
	}
	if !r.Exists() {
		return nil, domain.ErrResellerNotFound
	}
	return r, nil
}

// AddProduct adds a product to the acting reseller's catalog.
func (s *Service) AddProduct(ctx context.Context, m Meta, name string, kind domain.ProductKind, terms []int) (*domain.Product, Result, error) {
	id := domain.ProductID(s.h.newIDFor(m))
	reseller := domain.ResellerID(m.Actor.Tenant)
	// Checked whole before the name is reserved: a refused product holds
	// no name.
	if _, err := newProduct().Add(id, reseller, name, kind, terms); err != nil {
		return nil, Result{}, err
	}
	if err := s.reserveName(ctx, m, reseller, domain.NameOfProduct, name, string(id), s.productHolder); err != nil {
		return nil, Result{}, err
	}
	return Execute(ctx, s.h, domain.ProductStream(id), newProduct, m, func(p *domain.Product, _ time.Time) ([]domain.Event, error) {
		return p.Add(id, reseller, name, kind, terms)
	})
}

// product loads a product of the acting reseller; nil when there is none.
func (s *Service) product(ctx context.Context, m Meta, id domain.ProductID) (*domain.Product, error) {
	p := newProduct()
	if id == "" {
		return p, nil
	}
	if _, _, err := Load(ctx, s.h, domain.ProductStream(id), p); err != nil {
		return nil, err
	}
	if p.Reseller() != domain.ResellerID(m.Actor.Tenant) {
		return newProduct(), nil
	}
	return p, nil
}

// RegisterCustomer adds a customer instance of the acting reseller.
func (s *Service) RegisterCustomer(ctx context.Context, m Meta, name, externalRef string) (*domain.Customer, Result, error) {
	id := domain.CustomerID(s.h.newIDFor(m))
	reseller := domain.ResellerID(m.Actor.Tenant)
	return Execute(ctx, s.h, domain.CustomerStream(id), newCustomer, m, func(c *domain.Customer, _ time.Time) ([]domain.Event, error) {
		return c.Register(id, reseller, name, externalRef)
	})
}

// Customer loads a customer; ErrCustomerNotFound when there is none.
func (s *Service) Customer(ctx context.Context, id domain.CustomerID) (*domain.Customer, uint64, error) {
	c := newCustomer()
	v, _, err := Load(ctx, s.h, domain.CustomerStream(id), c)
	if err != nil {
		return nil, 0, err
	}
	if !c.Exists() {
		return nil, 0, domain.ErrCustomerNotFound
	}
	return c, v, nil
}

// SetWebhook sets the acting customer's webhook with a new secret.
func (s *Service) SetWebhook(ctx context.Context, m Meta, url string, allowInsecure bool) (*domain.Customer, Result, error) {
	id := domain.CustomerID(m.Actor.Tenant)
	secret := NewWebhookSecret()
	return Execute(ctx, s.h, domain.CustomerStream(id), newCustomer, m, func(c *domain.Customer, _ time.Time) ([]domain.Event, error) {
		return c.SetWebhook(url, secret, allowInsecure)
	})
}

// RemoveWebhook removes the acting customer's webhook.
func (s *Service) RemoveWebhook(ctx context.Context, m Meta) (*domain.Customer, Result, error) {
	id := domain.CustomerID(m.Actor.Tenant)
	return Execute(ctx, s.h, domain.CustomerStream(id), newCustomer, m, func(c *domain.Customer, _ time.Time) ([]domain.Event, error) {
		return c.RemoveWebhook()
	})
}
