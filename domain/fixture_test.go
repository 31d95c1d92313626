package domain_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Fixed instants: the domain never reads a clock, so its tests are exact.
var (
	t0        = time.Date(2025, 1, 10, 10, 0, 0, 0, time.UTC)
	expiresAt = t0.Add(48 * time.Hour)
)

const (
	reseller1 domain.ResellerID = "r1"
	reseller2 domain.ResellerID = "r2"
	offer1    domain.OfferID    = "o1"
	offer2    domain.OfferID    = "o2"
)

// applier is every aggregate: it folds events.
type applier interface{ Apply(domain.Event) }

// fold applies events to a in order and returns a.
func fold[A applier](a A, events ...domain.Event) A {
	for _, e := range events {
		a.Apply(e)
	}
	return a
}

// mustApply fails the test when err is set, else folds events into a: the
// "given" steps of a test are expected to succeed.
func mustApply[A applier](tb testing.TB, a A, events []domain.Event, err error) A {
	tb.Helper()
	if err != nil {
		tb.Fatalf("given: unexpected error %v", err)
	}
	return fold(a, events...)
}

// MustProduct returns a product of reseller sold in terms.
func MustProduct(tb testing.TB, id domain.ProductID, reseller domain.ResellerID, kind domain.ProductKind, terms ...int) *domain.Product {
	tb.Helper()
	p := &domain.Product{}
	evs, err := p.Add(id, reseller, "Product "+string(id), kind, terms)
	return mustApply(tb, p, evs, err)
}

// MustCustomer returns a registered customer of reseller.
func MustCustomer(tb testing.TB, id domain.CustomerID, reseller domain.ResellerID) *domain.Customer {
	tb.Helper()
	c := &domain.Customer{}
	evs, err := c.Register(id, reseller, "Customer "+string(id), "")
	return mustApply(tb, c, evs, err)
}

// MustTemplate returns a template of reseller holding one item per mode given
// (12 months, no seat limit): the first of p, each further one of a sibling
// of p (same reseller and kind, id p's id plus "-" and the item's index),
// since a template holds a product in a term only once.
func MustTemplate(tb testing.TB, id domain.TemplateID, reseller domain.ResellerID, p *domain.Product, modes ...domain.LicenseMode) *domain.Template {
	tb.Helper()
	t := &domain.Template{}
	evs, err := t.Create(id, reseller, "Template "+string(id))
	mustApply(tb, t, evs, err)
	for i, m := range modes {
		letter := string(rune('a' + i))
		q := p
		if i > 0 {
			q = MustProduct(tb, p.ID()+domain.ProductID("-"+strconv.Itoa(i)), p.Reseller(), p.Kind(), 12)
		}
		evs, err := t.AddItem(domain.ItemID(string(id)+"-item"+letter), q, 12, m, nil)
		mustApply(tb, t, evs, err)
	}
	return t
}

// created returns the events that create offer1 for customer c1 of
// reseller1 at t0 (dispatch 1), expiring at exp (nil: never).
func created(exp *time.Time) []domain.Event {
	seats := 5
	items := []domain.Item{
		{ID: "i1", ProductID: "p1", ProductName: "Product p1", Kind: domain.KindModule, TermMonths: 12, LicenseMode: domain.ModeAbsolute},
		{ID: "i2", ProductID: "p2", ProductName: "Product p2", Kind: domain.KindCourse, TermMonths: 24, LicenseMode: domain.ModeRelative, Seats: &seats},
	}
	return []domain.Event{
		&domain.OfferCreated{OfferID: offer1, ResellerID: reseller1, CustomerID: "c1", TemplateID: "t1",
			Items: items, Message: "Hallo", ExpiresAt: exp, At: t0},
		&domain.OfferDispatched{OfferID: offer1, Dispatch: 1, At: t0},
	}
}

// wantErr checks err against the sentinel want (nil: no error) with errors.Is,
// and that it is not mistaken for any other offer rule.
func wantErr(tb testing.TB, err, want error) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("then: unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("then: error %v, want %v", err, want)
	}
	for _, other := range offerRules() {
		if other != want && errors.Is(err, other) {
			tb.Fatalf("then: error %v also matches %v", err, other)
		}
	}
}

// wantInvalid checks that err is a validation error naming field.
func wantInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorField(err) != field {
		tb.Fatalf("then: error %v, want %s on %q", err, domain.EINVALID, field)
	}
}

// offerRules lists the sentinels of the offer lifecycle.
func offerRules() []error {
	return []error{domain.ErrOfferExists, domain.ErrOfferNotFound, domain.ErrOfferNotDelivered,
		domain.ErrOfferNotWaiting, domain.ErrOfferNotPending, domain.ErrOfferNotWithdrawable,
		domain.ErrOfferNotRedeliverable, domain.ErrOfferNotExpirable, domain.ErrOfferNotDue,
		domain.ErrOfferHasNoExpiry, domain.ErrOfferPastExpiry, domain.ErrOfferNotRevisable, domain.ErrOfferNotSuperseded,
		domain.ErrOfferNotRemindable, domain.ErrOfferNotInReminderWindow}
}

func ptr[T any](v T) *T { return &v }
