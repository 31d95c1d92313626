package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 15, 0, 0, time.UTC) }

func TestAddMonths(t *testing.T) {
	for _, tc := range []struct {
		from   time.Time
		months int
		want   time.Time
	}{
		{day(2023, 1, 31), 1, day(2023, 2, 28)},
		{day(2024, 1, 31), 1, day(2024, 2, 29)}, // leap year
		{day(2024, 1, 30), 1, day(2024, 2, 29)},
		{day(2024, 1, 29), 1, day(2024, 2, 29)},
		{day(2024, 1, 28), 1, day(2024, 2, 28)},
		{day(2024, 3, 31), 1, day(2024, 4, 30)},
		{day(2024, 2, 29), 12, day(2025, 2, 28)},
		{day(2024, 2, 29), 24, day(2026, 2, 28)},
		{day(2024, 2, 29), 48, day(2028, 2, 29)},
		{day(2023, 12, 31), 2, day(2024, 2, 29)},
		{day(2024, 8, 31), 6, day(2025, 2, 28)},
		{day(2025, 11, 30), 3, day(2026, 2, 28)},
		{day(2025, 1, 15), 12, day(2026, 1, 15)},
		{day(2025, 1, 15), 24, day(2027, 1, 15)},
		{day(2025, 5, 31), 120, day(2035, 5, 31)},
		{day(2100, 1, 31), 1, day(2100, 2, 28)}, // not a leap year: divisible by 100
		{day(2000, 1, 31), 1, day(2000, 2, 29)}, // a leap year: divisible by 400
		{day(2025, 6, 10), 0, day(2025, 6, 10)},
		{time.Date(2025, 1, 31, 23, 59, 59, 999, time.UTC), 1, time.Date(2025, 2, 28, 23, 59, 59, 999, time.UTC)},
	} {
		if got := domain.AddMonths(tc.from, tc.months); !got.Equal(tc.want) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", tc.from.Format(time.DateOnly), tc.months, got, tc.want)
		}
	}
}

func TestLicensesFor(t *testing.T) {
	seats := 10
	items := []domain.Item{
		{ID: "i1", ProductID: "p1", ProductName: "Erste Hilfe", Kind: domain.KindModule, TermMonths: 12, LicenseMode: domain.ModeAbsolute},
		{ID: "i2", ProductID: "p2", ProductName: "Datenschutz", Kind: domain.KindCourse, TermMonths: 24, LicenseMode: domain.ModeRelative, Seats: &seats},
		{ID: "i3", ProductID: "p3", ProductName: "Arbeitsschutz", Kind: domain.KindModule, TermMonths: 1, LicenseMode: domain.ModeAbsolute},
	}
	at := time.Date(2024, 1, 31, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	utc := at.UTC()
	got := domain.LicensesFor(offer1, items, at)
	want := []domain.License{
		{OfferID: offer1, ItemID: "i1", ProductID: "p1", ProductName: "Erste Hilfe", Kind: domain.KindModule, TermMonths: 12,
			LicenseMode: domain.ModeAbsolute, GrantedAt: utc, ValidUntil: ptr(time.Date(2025, 1, 31, 13, 0, 0, 0, time.UTC))},
		{OfferID: offer1, ItemID: "i2", ProductID: "p2", ProductName: "Datenschutz", Kind: domain.KindCourse, TermMonths: 24,
			LicenseMode: domain.ModeRelative, Seats: ptr(10), GrantedAt: utc, ValidUntil: nil},
		{OfferID: offer1, ItemID: "i3", ProductID: "p3", ProductName: "Arbeitsschutz", Kind: domain.KindModule, TermMonths: 1,
			LicenseMode: domain.ModeAbsolute, GrantedAt: utc, ValidUntil: ptr(time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("licenses (-want +got):\n%s", diff)
	}
	if got[0].GrantedAt.Location() != time.UTC || got[0].ValidUntil.Location() != time.UTC {
		t.Fatalf("times not in UTC: %v, %v", got[0].GrantedAt.Location(), got[0].ValidUntil.Location())
	}
	seats = 99
	if *got[1].Seats != 10 {
		t.Fatalf("a license shares its seats with the item")
	}
}

func TestGrant_GrantFor(t *testing.T) {
	acceptedAt := time.Date(2024, 1, 31, 8, 0, 0, 0, time.UTC)
	accept := func(*time.Time) domain.Event { return &domain.OfferAccepted{OfferID: offer1, At: acceptedAt} }

	t.Run("OK", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(delivered(1), accept)(nil)...)
		g := &domain.Grant{}
		got, err := g.GrantFor(o)
		if err != nil {
			t.Fatalf("error %v", err)
		}
		items := o.View().Items
		want := []domain.Event{&domain.LicensesGranted{OfferID: offer1, CustomerID: "c1", ResellerID: reseller1,
			Licenses: domain.LicensesFor(offer1, items, acceptedAt)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		ls := got[0].(*domain.LicensesGranted).Licenses
		if len(ls) != 2 || !ls[0].ValidUntil.Equal(time.Date(2025, 1, 31, 8, 0, 0, 0, time.UTC)) || ls[1].ValidUntil != nil {
			t.Fatalf("licenses %+v: want absolute until 2025-01-31 and relative without end", ls)
		}
		if g.Granted() {
			t.Fatalf("deciding changed the grant")
		}
		fold(g, got...)
		if !g.Granted() {
			t.Fatalf("not granted after applying the event")
		}
		if evs, err := g.GrantFor(o); !errors.Is(err, domain.ErrLicensesAlreadyGranted) || evs != nil {
			t.Fatalf("second grant: events %v, error %v; want %v", evs, err, domain.ErrLicensesAlreadyGranted)
		}
	})

	t.Run("ErrLicensesOfferNotAccepted", func(t *testing.T) {
		offers := map[string]*domain.Offer{"nil": nil, "never created": {}}
		for _, sc := range scenarios() {
			if sc.status != domain.StatusAccepted {
				offers[sc.name] = fold(&domain.Offer{}, sc.history(ptr(expiresAt))...)
			}
		}
		for name, o := range offers {
			if evs, err := (&domain.Grant{}).GrantFor(o); !errors.Is(err, domain.ErrLicensesOfferNotAccepted) || evs != nil {
				t.Errorf("%s: events %v, error %v; want %v", name, evs, err, domain.ErrLicensesOfferNotAccepted)
			}
		}
	})
}
