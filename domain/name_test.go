package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestNameKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Erste Hilfe", "erste hilfe", true},
		{"Erste  Hilfe", " ERSTE Hilfe\t", true},
		{"Übung", "ÜBUNG", true},
		{"Erste Hilfe", "Erste-Hilfe", false},
		{"Erste Hilfe", "Erste Hilfe 2", false},
	} {
		if got := domain.NameKey(tc.a) == domain.NameKey(tc.b); got != tc.same {
			t.Errorf("NameKey(%q) == NameKey(%q): %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := domain.NameStream(reseller1, domain.NameOfProduct, tc.a) == domain.NameStream(reseller1, domain.NameOfProduct, tc.b); got != tc.same {
			t.Errorf("NameStream of %q and %q the same: %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	s := domain.NameStream(reseller1, domain.NameOfProduct, "Erste Hilfe")
	for _, other := range []string{
		domain.NameStream(reseller2, domain.NameOfProduct, "Erste Hilfe"),
		domain.NameStream(reseller1, domain.NameOfTemplate, "Erste Hilfe"),
	} {
		if other == s {
			t.Errorf("another reseller's or kind's name shares the stream %s", s)
		}
	}
	if !strings.HasPrefix(s, "name-") || strings.Count(s, "-") != 1 {
		t.Errorf("stream %q: want category name and an id without dashes", s)
	}
}

func TestNameReservation_Reserve(t *testing.T) {
	reserved := func(holder string, at time.Time) *domain.NameReserved {
		return &domain.NameReserved{ResellerID: reseller1, Kind: domain.NameOfTemplate, Name: "Grundpaket", Holder: holder, At: at}
	}
	for _, tc := range []struct {
		name    string
		given   []domain.Event
		state   domain.HolderState
		at      time.Time
		want    []domain.Event
		wantErr string // "" when allowed
	}{
		{name: "never reserved", at: t0, want: []domain.Event{reserved("t2", t0)}},
		{name: "retry by the same holder", given: []domain.Event{reserved("t2", t0)}, state: domain.HolderMissing, at: t0},
		{name: "held by a live template", given: []domain.Event{reserved("t1", t0)}, state: domain.HolderLive, at: t0.Add(time.Hour),
			wantErr: `a template named "Grundpaket" exists already`},
		{name: "held by one being created", given: []domain.Event{reserved("t1", t0)}, state: domain.HolderMissing,
			at: t0.Add(domain.NameReservationTimeout - time.Nanosecond), wantErr: `a template named "Grundpaket" is being created`},
		{name: "left by a creation that failed", given: []domain.Event{reserved("t1", t0)}, state: domain.HolderMissing,
			at: t0.Add(domain.NameReservationTimeout), want: []domain.Event{reserved("t2", t0.Add(domain.NameReservationTimeout))}},
		{name: "given up by an archived template", given: []domain.Event{reserved("t1", t0)}, state: domain.HolderGone, at: t0.Add(time.Second),
			want: []domain.Event{reserved("t2", t0.Add(time.Second))}},
		{name: "taken over, then held", given: []domain.Event{reserved("t1", t0), reserved("t3", t0.Add(time.Hour))}, state: domain.HolderLive,
			at: t0.Add(2 * time.Hour), wantErr: "exists already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := fold(&domain.NameReservation{}, tc.given...)
			got, err := n.Reserve(reseller1, domain.NameOfTemplate, "Grundpaket", "t2", tc.state, tc.at)
			if tc.wantErr != "" {
				if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), tc.wantErr) || got != nil {
					t.Fatalf("Reserve = %v, %v; want invalid: %s", got, err, tc.wantErr)
				}
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != "name" {
					t.Fatalf("error %v does not name the field name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			fold(n, got...)
			if n.Holder() != "t2" {
				t.Fatalf("holder after the reservation: %q, want t2", n.Holder())
			}
		})
	}
}
