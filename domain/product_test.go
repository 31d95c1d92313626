package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestProduct_Add(t *testing.T) {
	for _, kind := range []domain.ProductKind{domain.KindModule, domain.KindCourse} {
		t.Run("OK/"+string(kind), func(t *testing.T) {
			terms := []int{36, 12, 24, 12, 36}
			got, err := (&domain.Product{}).Add("p1", reseller1, " Brandschutz ", kind, terms)
			wantErr(t, err, nil)
			want := []domain.Event{&domain.ProductAdded{ProductID: "p1", ResellerID: reseller1, Name: "Brandschutz",
				Kind: kind, LicenseTermsMonths: []int{12, 24, 36}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{36, 12, 24, 12, 36}, terms); diff != "" {
				t.Fatalf("the caller's terms were changed (-want +got):\n%s", diff)
			}
			p := fold(&domain.Product{}, got...)
			if p.ID() != "p1" || p.Reseller() != reseller1 || p.Name() != "Brandschutz" || p.Kind() != kind {
				t.Fatalf("product after add: %+v", p)
			}
			if !p.OffersTerm(24) || p.OffersTerm(6) {
				t.Fatalf("OffersTerm disagrees with terms %v", p.Terms())
			}
			p.Terms()[0] = 99 // Terms returns a copy
			if diff := cmp.Diff([]int{12, 24, 36}, p.Terms()); diff != "" {
				t.Fatalf("terms (-want +got):\n%s", diff)
			}
		})
	}
	many := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		pname string
		kind  domain.ProductKind
		terms []int
		field string // empty: accepted
	}{
		{"NameEmpty", "", domain.KindModule, []int{12}, "name"},
		{"NameTooLong", strings.Repeat("é", domain.MaxNameLen+1), domain.KindModule, []int{12}, "name"},
		{"NameOfMaxLength", strings.Repeat("é", domain.MaxNameLen), domain.KindModule, []int{12}, ""},
		{"KindEmpty", "x", "", []int{12}, "kind"},
		{"KindUnknown", "x", "bundle", []int{12}, "kind"},
		{"KindWrongCase", "x", "Module", []int{12}, "kind"},
		{"TermsNil", "x", domain.KindModule, nil, "license_terms_months"},
		{"TermsEmpty", "x", domain.KindModule, []int{}, "license_terms_months"},
		{"TermZero", "x", domain.KindModule, []int{12, 0}, "license_terms_months"},
		{"TermNegative", "x", domain.KindModule, []int{-12}, "license_terms_months"},
		{"TermOne", "x", domain.KindModule, []int{1}, ""},
		{"TermMax", "x", domain.KindModule, []int{domain.MaxTermMonths}, ""},
		{"TermAboveMax", "x", domain.KindModule, []int{domain.MaxTermMonths + 1}, "license_terms_months"},
		{"TermsAtMaxCount", "x", domain.KindModule, many(domain.MaxTermsPerItem), ""},
		{"TermsAboveMaxCount", "x", domain.KindModule, many(domain.MaxTermsPerItem + 1), "license_terms_months"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := (&domain.Product{}).Add("p1", reseller1, tc.pname, tc.kind, tc.terms)
			if tc.field == "" {
				wantErr(t, err, nil)
				return
			}
			wantInvalid(t, err, tc.field)
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
		})
	}
	t.Run("ErrProductExists", func(t *testing.T) {
		_, err := MustProduct(t, "p1", reseller1, domain.KindModule, 12).Add("p2", reseller1, "x", domain.KindModule, []int{12})
		if !errors.Is(err, domain.ErrProductExists) {
			t.Fatalf("error %v, want %v", err, domain.ErrProductExists)
		}
	})
}

func TestParseProductKind(t *testing.T) {
	for _, k := range []domain.ProductKind{domain.KindModule, domain.KindCourse} {
		if got, err := domain.ParseProductKind(string(k)); err != nil || got != k {
			t.Errorf("ParseProductKind(%q) = %q, %v", k, got, err)
		}
	}
	_, err := domain.ParseProductKind("lesson")
	wantInvalid(t, err, "kind")
}

func TestReseller_Register(t *testing.T) {
	got, err := (&domain.Reseller{}).Register(reseller1, " Lernwerk GmbH ")
	wantErr(t, err, nil)
	if diff := cmp.Diff([]domain.Event{&domain.ResellerRegistered{ResellerID: reseller1, Name: "Lernwerk GmbH"}}, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	r := fold(&domain.Reseller{}, got...)
	if !r.Exists() || r.ID() != reseller1 || r.Name() != "Lernwerk GmbH" {
		t.Fatalf("reseller after register: %+v", r)
	}
	if _, err := r.Register(reseller2, "again"); !errors.Is(err, domain.ErrResellerExists) {
		t.Fatalf("register twice: error %v, want %v", err, domain.ErrResellerExists)
	}
	_, err = (&domain.Reseller{}).Register(reseller1, "  ")
	wantInvalid(t, err, "name")
}
