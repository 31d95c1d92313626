package command

import (
	"context"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// holderState tells what became of the holder (an id) of a name: whether it
// exists and still uses the name.
type holderState func(ctx context.Context, holder string) (domain.HolderState, error)

// reserveName holds name among reseller's things of kind for holder, which
// is about to be created (see domain.NameReserved): the reservation is
// appended to the name's own stream at the version read, so that of two
// creations of one name exactly one gets through. It fails invalid on
// "name" when the name is taken. The caller has checked the whole command
// first, so that a refused command leaves no reservation behind.
func (s *Service) reserveName(ctx context.Context, m Meta, reseller domain.ResellerID, kind domain.NameKind, name, holder string, state holderState) error {
	newRes := func() *domain.NameReservation { return &domain.NameReservation{} }
	_, _, err := Execute(ctx, s.h, domain.NameStream(reseller, kind, name), newRes, m, func(n *domain.NameReservation, now time.Time) ([]domain.Event, error) {
		st := domain.HolderMissing
		if cur := n.Holder(); cur != "" && cur != holder {
			var err error
			if st, err = state(ctx, cur); err != nil {
				return nil, err
			}
		}
		return n.Reserve(reseller, kind, name, holder, st, now)
	})
	if err != nil {
		return fmt.Errorf("reserve the %s name %q: %w", kind, name, err)
	}
	return nil
}

// productHolder is the state of a product holding a name: products never
// give theirs up.
func (s *Service) productHolder(ctx context.Context, holder string) (domain.HolderState, error) {
	p := newProduct()
	if _, _, err := Load(ctx, s.h, domain.ProductStream(domain.ProductID(holder)), p); err != nil {
		return 0, err
	}
	if p.Exists() {
		return domain.HolderLive, nil
	}
	return domain.HolderMissing, nil
}

// templateHolder is the state of a template holding a name: an archived
// template gives its name up (it is hidden from the list, and the reseller
// may want the name for its successor).
func (s *Service) templateHolder(ctx context.Context, holder string) (domain.HolderState, error) {
	t := newTemplate()
	if _, _, err := Load(ctx, s.h, domain.TemplateStream(domain.TemplateID(holder)), t); err != nil {
		return 0, err
	}
	switch {
	case !t.Exists():
		return domain.HolderMissing, nil
	case t.Archived():
		return domain.HolderGone, nil
	}
	return domain.HolderLive, nil
}
