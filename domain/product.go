package domain

import (
	"slices"
)

// ProductKind is what a product is: a single module or a course of modules.
type ProductKind string

// Product kinds.
const (
	KindModule ProductKind = "module"
	KindCourse ProductKind = "course"
)

// ParseProductKind parses a kind given at the edge.
func ParseProductKind(s string) (ProductKind, error) {
	switch k := ProductKind(s); k {
	case KindModule, KindCourse:
		return k, nil
	}
	return "", Invalid("kind", "kind must be module or course")
}

// ProductAdded records a product in a reseller's catalog.
type ProductAdded struct {
	ProductID          ProductID   `json:"product_id"`
	ResellerID         ResellerID  `json:"reseller_id"`
	Name               string      `json:"name"`
	Kind               ProductKind `json:"kind"`
	LicenseTermsMonths []int       `json:"license_terms_months"`
}

func (ProductAdded) EventType() string { return TypeProductAdded }

// Product is a module or course in a reseller's catalog, sold in license
// terms of a number of months.
type Product struct {
	id       ProductID
	reseller ResellerID
	name     string
	kind     ProductKind
	terms    []int
}

// ID returns the product's id, empty until it is added.
func (p *Product) ID() ProductID { return p.id }

// Reseller returns the reseller whose catalog holds the product.
func (p *Product) Reseller() ResellerID { return p.reseller }

// Name returns the product's name.
func (p *Product) Name() string { return p.name }

// Kind returns whether the product is a module or a course.
func (p *Product) Kind() ProductKind { return p.kind }

// Terms returns the license terms, in months, the product is sold in.
func (p *Product) Terms() []int { return slices.Clone(p.terms) }

// Exists reports whether the product has been added.
func (p *Product) Exists() bool { return p.id != "" }

// OffersTerm reports whether the product is sold in a term of the given months.
func (p *Product) OffersTerm(months int) bool { return slices.Contains(p.terms, months) }

// Add records a new product in reseller's catalog. Terms are kept sorted and
// without repeats.
func (p *Product) Add(id ProductID, reseller ResellerID, name string, kind ProductKind, terms []int) ([]Event, error) {
	if p.Exists() {
		return nil, ErrProductExists
	}
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	if _, err := ParseProductKind(string(kind)); err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		return nil, Invalid("license_terms_months", "at least one license term is required")
	}
	if len(terms) > MaxTermsPerItem {
		return nil, Invalid("license_terms_months", "at most %d license terms", MaxTermsPerItem)
	}
	for _, t := range terms {
		if t < 1 || t > MaxTermMonths {
			return nil, Invalid("license_terms_months", "license terms must be between 1 and %d months", MaxTermMonths)
		}
	}
	sorted := slices.Clone(terms)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	return []Event{&ProductAdded{ProductID: id, ResellerID: reseller, Name: name, Kind: kind, LicenseTermsMonths: sorted}}, nil
}

// Apply folds an event into the product.
func (p *Product) Apply(e Event) {
	if ev, ok := e.(*ProductAdded); ok {
		p.id, p.reseller, p.name, p.kind = ev.ProductID, ev.ResellerID, ev.Name, ev.Kind
		p.terms = slices.Clone(ev.LicenseTermsMonths)
	}
}
