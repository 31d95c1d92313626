package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestOffer_Create(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12, 24)
	c := MustCustomer(t, "c1", reseller1)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute, domain.ModeRelative)
	now := t0

	t.Run("OK", func(t *testing.T) {
		berlin := time.FixedZone("CET", 3600)
		exp := now.Add(24 * time.Hour).In(berlin)
		got, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, "Hallo", &exp, now)
		wantErr(t, err, nil)
		want := []domain.Event{
			&domain.OfferCreated{OfferID: offer1, ResellerID: reseller1, CustomerID: "c1", TemplateID: "t1",
				Items: tpl.Items(), Message: "Hallo", ExpiresAt: ptr(exp.UTC()), At: now},
			&domain.OfferDispatched{OfferID: offer1, Dispatch: 1, At: now},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		if loc := got[0].(*domain.OfferCreated).ExpiresAt.Location(); loc != time.UTC {
			t.Fatalf("expires_at recorded in %v, want UTC", loc)
		}
		o := fold(&domain.Offer{}, got...)
		if v := o.View(); v.Status != domain.StatusWaiting || v.Dispatch != 1 || v.Delivered || !v.CreatedAt.Equal(now) {
			t.Fatalf("view after create: %+v", v)
		}
	})

	t.Run("ItemsAreASnapshot", func(t *testing.T) {
		tpl := MustTemplate(t, "t2", reseller1, p, domain.ModeAbsolute)
		evs, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, "", nil, now)
		o := mustApply(t, &domain.Offer{}, evs, err)
		before := o.View().Items
		item := tpl.Items()[0].ID
		evs, err = tpl.SetItemMode(item, domain.ModeRelative)
		mustApply(t, tpl, evs, err)
		evs, err = tpl.RemoveItem(item)
		mustApply(t, tpl, evs, err)
		if diff := cmp.Diff(before, o.View().Items); diff != "" || len(before) != 1 {
			t.Fatalf("offer items changed with the template (-before +after):\n%s", diff)
		}
	})

	t.Run("ErrOfferExists", func(t *testing.T) {
		o := fold(&domain.Offer{}, created(nil)...)
		_, err := o.Create("o2", reseller1, c, tpl, "", nil, now)
		wantErr(t, err, domain.ErrOfferExists)
	})

	t.Run("ErrCustomerNotFound", func(t *testing.T) {
		for name, c := range map[string]*domain.Customer{
			"nil":              nil,
			"unregistered":     {},
			"another reseller": MustCustomer(t, "c2", reseller2),
		} {
			t.Run(name, func(t *testing.T) {
				evs, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, "", nil, now)
				if !errors.Is(err, domain.ErrCustomerNotFound) || evs != nil {
					t.Fatalf("events %v, error %v; want %v", evs, err, domain.ErrCustomerNotFound)
				}
			})
		}
	})

	// A customer in the path that does not resolve is 404 before a bad body.
	t.Run("CustomerBeforeTemplate", func(t *testing.T) {
		_, err := (&domain.Offer{}).Create(offer1, reseller1, MustCustomer(t, "c2", reseller2), nil, "", nil, now)
		if !errors.Is(err, domain.ErrCustomerNotFound) {
			t.Fatalf("error %v, want %v", err, domain.ErrCustomerNotFound)
		}
	})

	archived := MustTemplate(t, "t3", reseller1, p, domain.ModeAbsolute)
	evs, err := archived.Archive()
	mustApply(t, archived, evs, err)
	pOther := MustProduct(t, "p9", reseller2, domain.KindCourse, 12)
	for _, tc := range []struct {
		name string
		tpl  *domain.Template
	}{
		{"NilTemplate", nil},
		{"UnknownTemplate", &domain.Template{}},
		{"TemplateOfAnotherReseller", MustTemplate(t, "t9", reseller2, pOther, domain.ModeAbsolute)},
		{"ArchivedTemplate", archived},
		{"EmptyTemplate", MustTemplate(t, "t4", reseller1, p)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := (&domain.Offer{}).Create(offer1, reseller1, c, tc.tpl, "", nil, now)
			wantInvalid(t, err, "template_id")
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
		})
	}

	// Text limits count code points, not bytes: each of these runes takes
	// two to four bytes in UTF-8.
	for _, r := range []string{"ü", "€", "😀"} {
		t.Run("MessageOfMaxLength/"+r, func(t *testing.T) {
			msg := strings.Repeat(r, domain.MaxMessageLen)
			evs, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, msg, nil, now)
			wantErr(t, err, nil)
			if got := evs[0].(*domain.OfferCreated).Message; got != msg {
				t.Fatalf("message changed: %d code points", len([]rune(got)))
			}
		})
		t.Run("MessageTooLong/"+r, func(t *testing.T) {
			_, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, strings.Repeat(r, domain.MaxMessageLen+1), nil, now)
			wantInvalid(t, err, "message")
		})
	}

	for _, tc := range []struct {
		name string
		exp  time.Time
		ok   bool
	}{
		{"ExpiresInThePast", now.Add(-time.Hour), false},
		{"ExpiresNow", now, false},
		{"ExpiresJustAfterNow", now.Add(time.Nanosecond), true},
		{"ExpiresIn365Days", now.Add(365 * 24 * time.Hour), true},
		{"ExpiresJustAfter365Days", now.Add(365*24*time.Hour + time.Nanosecond), false},
		{"ExpiresIn366Days", now.Add(366 * 24 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := (&domain.Offer{}).Create(offer1, reseller1, c, tpl, "", &tc.exp, now)
			if !tc.ok {
				wantInvalid(t, err, "expires_at")
				return
			}
			wantErr(t, err, nil)
			if got := evs[0].(*domain.OfferCreated).ExpiresAt; got == nil || !got.Equal(tc.exp) {
				t.Fatalf("expires_at %v, want %v", got, tc.exp)
			}
		})
	}
}

func TestOffer_VisibleTo(t *testing.T) {
	waiting := fold(&domain.Offer{}, created(nil)...)
	inbox := fold(&domain.Offer{}, after(delivered(1))(nil)...)
	gone := fold(&domain.Offer{}, after(delivered(1), withdrawn)(nil)...)
	for _, tc := range []struct {
		actor                 domain.Actor
		waiting, inbox, after bool
	}{
		{domain.Actor{Role: domain.RoleReseller, Tenant: "r1"}, true, true, true},
		{domain.Actor{Role: domain.RoleReseller, Tenant: "r2"}, false, false, false},
		{domain.Actor{Role: domain.RoleAuditor, Tenant: "r1"}, true, true, true},
		{domain.Actor{Role: domain.RoleAuditor, Tenant: "*"}, true, true, true},
		{domain.Actor{Role: domain.RoleAuditor, Tenant: "r2"}, false, false, false},
		{domain.Actor{Role: domain.RoleCustomer, Tenant: "c1"}, false, true, true},
		{domain.Actor{Role: domain.RoleCustomer, Tenant: "c2"}, false, false, false},
		{domain.Actor{Role: domain.RoleCustomer, Tenant: "r1"}, false, false, false},
		{domain.Actor{Role: domain.RoleOperator}, false, false, false},
		{domain.Actor{Role: domain.RoleOperator, Tenant: "r1"}, false, false, false},
		{domain.SystemActor("delivery"), true, true, true},
		{domain.Actor{Role: "intruder", Tenant: "*"}, false, false, false},
	} {
		t.Run(string(tc.actor.Role)+"/"+tc.actor.Tenant, func(t *testing.T) {
			for name, c := range map[string]struct {
				o    *domain.Offer
				want bool
			}{"waiting": {waiting, tc.waiting}, "delivered": {inbox, tc.inbox}, "withdrawn after delivery": {gone, tc.after}} {
				if got := c.o.VisibleTo(tc.actor); got != c.want {
					t.Errorf("%s offer: visible %v, want %v", name, got, c.want)
				}
			}
			if (&domain.Offer{}).VisibleTo(tc.actor) {
				t.Errorf("an offer never created is visible")
			}
		})
	}
}
