package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestCampaign_Start(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute)
	customers := map[domain.CustomerID]*domain.Customer{
		"c1": MustCustomer(t, "c1", reseller1), "c2": MustCustomer(t, "c2", reseller1),
		"foreign": MustCustomer(t, "foreign", "r2"),
	}
	offerID := func(c domain.CustomerID) domain.OfferID { return domain.OfferID("o-" + string(c)) }
	many := make([]domain.CustomerID, domain.MaxCampaignCustomers+1)
	for i := range many {
		many[i] = domain.CustomerID(fmt.Sprintf("c%d", i))
	}
	past := t0.Add(-time.Hour)
	tests := []struct {
		name      string
		ids       []domain.CustomerID
		tpl       *domain.Template
		message   string
		expiresAt *time.Time
		field     string // the invalid field, "" for success
		detail    string // a part of the error's message
	}{
		{name: "OK", ids: []domain.CustomerID{"c2", "c1"}, tpl: tpl},
		{name: "Empty", ids: nil, tpl: tpl, field: "customer_ids", detail: "1 to 1000"},
		{name: "TooMany", ids: many, tpl: tpl, field: "customer_ids", detail: "1 to 1000"},
		{name: "Repeated", ids: []domain.CustomerID{"c1", "c2", "c1"}, tpl: tpl, field: "customer_ids", detail: `"c1" more than once`},
		{name: "Unknown", ids: []domain.CustomerID{"c1", "nobody"}, tpl: tpl, field: "customer_ids", detail: `"nobody"`},
		{name: "Foreign", ids: []domain.CustomerID{"foreign", "c1"}, tpl: tpl, field: "customer_ids", detail: `"foreign"`},
		{name: "ForeignTemplate", ids: []domain.CustomerID{"c1"}, tpl: MustTemplate(t, "t2", "r2", MustProduct(t, "p2", "r2", domain.KindModule, 12)), field: "template_id"},
		{name: "NoTemplate", ids: []domain.CustomerID{"c1"}, tpl: &domain.Template{}, field: "template_id"},
		{name: "LongMessage", ids: []domain.CustomerID{"c1"}, tpl: tpl, message: strings.Repeat("x", domain.MaxMessageLen+1), field: "message"},
		{name: "PastExpiry", ids: []domain.CustomerID{"c1"}, tpl: tpl, expiresAt: &past, field: "expires_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&domain.Campaign{}).Start("k1", reseller1, tc.tpl, tc.ids, customers, offerID, tc.message, tc.expiresAt, t0)
			if tc.field != "" {
				wantInvalid(t, err, tc.field)
				if !strings.Contains(err.Error(), tc.detail) {
					t.Errorf("error %q does not say %q", err, tc.detail)
				}
				if got != nil {
					t.Errorf("events %v with an error", got)
				}
				return
			}
			want := []domain.Event{&domain.CampaignStarted{CampaignID: "k1", ResellerID: reseller1, TemplateID: "t1", Items: tpl.Items(),
				Offers: []domain.CampaignOffer{{CustomerID: "c2", OfferID: "o-c2"}, {CustomerID: "c1", OfferID: "o-c1"}}, At: t0}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("ErrCampaignExists", func(t *testing.T) {
		evs, err := (&domain.Campaign{}).Start("k1", reseller1, tpl, []domain.CustomerID{"c1"}, customers, offerID, "", nil, t0)
		c := mustApply(t, &domain.Campaign{}, evs, err)
		_, err = c.Start("k2", reseller1, tpl, []domain.CustomerID{"c1"}, customers, offerID, "", nil, t0)
		wantErr(t, err, domain.ErrCampaignExists)
	})
}

func TestOffer_CreateInCampaign(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute)
	exp := t0.Add(48 * time.Hour)
	s := domain.CampaignStarted{CampaignID: "k1", ResellerID: reseller1, TemplateID: "t1", Items: tpl.Items(), Message: "Hi",
		ExpiresAt: &exp, Offers: []domain.CampaignOffer{{CustomerID: "c1", OfferID: "o1"}, {CustomerID: "c2", OfferID: "o2"}}, At: t0}
	later := t0.Add(time.Minute)

	t.Run("OK", func(t *testing.T) {
		got, err := (&domain.Offer{}).CreateInCampaign(s, 1, later)
		wantErr(t, err, nil)
		want := []domain.Event{
			&domain.OfferCreated{OfferID: "o2", ResellerID: reseller1, CustomerID: "c2", TemplateID: "t1", Items: tpl.Items(),
				Message: "Hi", ExpiresAt: &exp, CampaignID: "k1", At: later},
			&domain.OfferDispatched{OfferID: "o2", Dispatch: 1, At: later},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrOfferExists", func(t *testing.T) {
		evs, err := (&domain.Offer{}).CreateInCampaign(s, 0, later)
		o := mustApply(t, &domain.Offer{}, evs, err)
		_, err = o.CreateInCampaign(s, 0, later)
		wantErr(t, err, domain.ErrOfferExists)
	})
	t.Run("NoSuchCustomer", func(t *testing.T) {
		_, err := (&domain.Offer{}).CreateInCampaign(s, 2, later)
		wantErr(t, err, domain.ErrOfferNotFound)
	})
}
