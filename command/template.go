package command

import (
	"context"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// CreateTemplate creates an empty template of the acting reseller.
func (s *Service) CreateTemplate(ctx context.Context, m Meta, name string) (*domain.Template, Result, error) {
	id := domain.TemplateID(s.h.newIDFor(m))
	reseller := domain.ResellerID(m.Actor.Tenant)
	// Checked whole before the name is reserved: a refused template holds
	// no name.
	if _, err := newTemplate().Create(id, reseller, name); err != nil {
		return nil, Result{}, err
	}
	if err := s.reserveName(ctx, m, reseller, domain.NameOfTemplate, name, string(id), s.templateHolder); err != nil {
		return nil, Result{}, err
	}
	return Execute(ctx, s.h, domain.TemplateStream(id), newTemplate, m, func(t *domain.Template, _ time.Time) ([]domain.Event, error) {
		return t.Create(id, reseller, name)
	})
}

// Template loads a template of the acting reseller.
func (s *Service) Template(ctx context.Context, m Meta, id domain.TemplateID) (*domain.Template, uint64, error) {
	t := newTemplate()
	v, _, err := Load(ctx, s.h, domain.TemplateStream(id), t)
	if err != nil {
		return nil, 0, err
	}
	if !ownsTemplate(m, t) {
		return nil, 0, domain.ErrTemplateNotFound
	}
	return t, v, nil
}

func ownsTemplate(m Meta, t *domain.Template) bool {
	return t.Exists() && string(t.Reseller()) == m.Actor.Tenant
}

// updateTemplate runs decide on a template the acting reseller owns.
func (s *Service) updateTemplate(ctx context.Context, m Meta, id domain.TemplateID, decide func(*domain.Template) ([]domain.Event, error)) (*domain.Template, Result, error) {
	return Execute(ctx, s.h, domain.TemplateStream(id), newTemplate, m, func(t *domain.Template, _ time.Time) ([]domain.Event, error) {
		if !ownsTemplate(m, t) {
			return nil, domain.ErrTemplateNotFound
		}
		return decide(t)
	})
}

// AddTemplateItem adds a product of the acting reseller to a template.
func (s *Service) AddTemplateItem(ctx context.Context, m Meta, id domain.TemplateID, product domain.ProductID, termMonths int, mode domain.LicenseMode, seats *int) (*domain.Template, domain.ItemID, Result, error) {
	p, err := s.product(ctx, m, product)
	if err != nil {
		return nil, "", Result{}, err
	}
	itemID := domain.ItemID(s.h.NewID())
	t, res, err := s.updateTemplate(ctx, m, id, func(t *domain.Template) ([]domain.Event, error) {
		return t.AddItem(itemID, p, termMonths, mode, seats)
	})
	return t, itemID, res, err
}

// SetTemplateItemMode sets the license mode of a template item.
func (s *Service) SetTemplateItemMode(ctx context.Context, m Meta, id domain.TemplateID, item domain.ItemID, mode domain.LicenseMode) (*domain.Template, Result, error) {
	return s.updateTemplate(ctx, m, id, func(t *domain.Template) ([]domain.Event, error) {
		return t.SetItemMode(item, mode)
	})
}

// RemoveTemplateItem removes an item from a template.
func (s *Service) RemoveTemplateItem(ctx context.Context, m Meta, id domain.TemplateID, item domain.ItemID) (*domain.Template, Result, error) {
	return s.updateTemplate(ctx, m, id, func(t *domain.Template) ([]domain.Event, error) {
		return t.RemoveItem(item)
	})
}

// ArchiveTemplate archives a template.
func (s *Service) ArchiveTemplate(ctx context.Context, m Meta, id domain.TemplateID) (*domain.Template, Result, error) {
	return s.updateTemplate(ctx, m, id, func(t *domain.Template) ([]domain.Event, error) {
		return t.Archive()
	})
}
