package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestTemplate_Create(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := (&domain.Template{}).Create("t1", reseller1, "  Grundpaket ")
		wantErr(t, err, nil)
		want := []domain.Event{&domain.TemplateCreated{TemplateID: "t1", ResellerID: reseller1, Name: "Grundpaket"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		tpl := fold(&domain.Template{}, got...)
		if tpl.ID() != "t1" || tpl.Reseller() != reseller1 || tpl.Name() != "Grundpaket" || tpl.Archived() || len(tpl.Items()) != 0 {
			t.Fatalf("template after create: %+v", tpl)
		}
	})
	for name, n := range map[string]string{"Empty": "", "Blank": " \t", "TooLong": strings.Repeat("ß", domain.MaxNameLen+1)} {
		t.Run("Name"+name, func(t *testing.T) {
			_, err := (&domain.Template{}).Create("t1", reseller1, n)
			wantInvalid(t, err, "name")
		})
	}
	t.Run("NameOfMaxLength", func(t *testing.T) {
		_, err := (&domain.Template{}).Create("t1", reseller1, strings.Repeat("ß", domain.MaxNameLen))
		wantErr(t, err, nil)
	})
	t.Run("ErrTemplateExists", func(t *testing.T) {
		_, err := MustTemplate(t, "t1", reseller1, nil).Create("t2", reseller1, "x")
		if !errors.Is(err, domain.ErrTemplateExists) {
			t.Fatalf("error %v, want %v", err, domain.ErrTemplateExists)
		}
	})
}

func TestTemplate_AddItem(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindCourse, 24, 12)
	other := MustProduct(t, "p2", reseller2, domain.KindModule, 12)

	t.Run("OK", func(t *testing.T) {
		tpl := MustTemplate(t, "t1", reseller1, p)
		seats := 25
		got, err := tpl.AddItem("i1", p, 24, domain.ModeRelative, &seats)
		wantErr(t, err, nil)
		seats = 1 // the event keeps its own copy
		want := []domain.Event{&domain.TemplateItemAdded{TemplateID: "t1", Item: domain.Item{ID: "i1", ProductID: "p1",
			ProductName: "Product p1", Kind: domain.KindCourse, TermMonths: 24, LicenseMode: domain.ModeRelative, Seats: ptr(25)}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("KeepsOrder", func(t *testing.T) {
		tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute, domain.ModeRelative, domain.ModeAbsolute)
		var ids []domain.ItemID
		for _, it := range tpl.Items() {
			ids = append(ids, it.ID)
		}
		if diff := cmp.Diff([]domain.ItemID{"t1-itema", "t1-itemb", "t1-itemc"}, ids); diff != "" {
			t.Fatalf("item order (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		name    string
		product *domain.Product
		term    int
		mode    domain.LicenseMode
		seats   *int
		field   string
	}{
		{"NilProduct", nil, 12, domain.ModeAbsolute, nil, "product_id"},
		{"UnknownProduct", &domain.Product{}, 12, domain.ModeAbsolute, nil, "product_id"},
		{"ProductOfAnotherReseller", other, 12, domain.ModeAbsolute, nil, "product_id"},
		{"TermNotOffered", p, 6, domain.ModeAbsolute, nil, "term_months"},
		{"TermZero", p, 0, domain.ModeAbsolute, nil, "term_months"},
		{"UnknownMode", p, 12, "green", nil, "license_mode"},
		{"SeatsZero", p, 12, domain.ModeAbsolute, ptr(0), "seats"},
		{"SeatsNegative", p, 12, domain.ModeAbsolute, ptr(-1), "seats"},
		{"SeatsAboveMax", p, 12, domain.ModeAbsolute, ptr(domain.MaxSeats + 1), "seats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := MustTemplate(t, "t1", reseller1, p).AddItem("i1", tc.product, tc.term, tc.mode, tc.seats)
			wantInvalid(t, err, tc.field)
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
		})
	}
	for name, seats := range map[string]*int{"SeatsNil": nil, "SeatsOne": ptr(1), "SeatsMax": ptr(domain.MaxSeats)} {
		t.Run(name, func(t *testing.T) {
			_, err := MustTemplate(t, "t1", reseller1, p).AddItem("i1", p, 12, domain.ModeAbsolute, seats)
			wantErr(t, err, nil)
		})
	}
	// holding returns a template of n items.
	holding := func(n int) *domain.Template {
		modes := make([]domain.LicenseMode, n)
		for i := range modes {
			modes[i] = domain.ModeAbsolute
		}
		return MustTemplate(t, "t1", reseller1, p, modes...)
	}
	t.Run("UpToMaxItems", func(t *testing.T) {
		fresh := MustProduct(t, "p-last", reseller1, domain.KindModule, 12)
		_, err := holding(domain.MaxItemsPerTemplate-1).AddItem("last", fresh, 12, domain.ModeAbsolute, nil)
		wantErr(t, err, nil)
	})
	t.Run("AboveMaxItems", func(t *testing.T) {
		fresh := MustProduct(t, "p-last", reseller1, domain.KindModule, 12)
		evs, err := holding(domain.MaxItemsPerTemplate).AddItem("one-too-many", fresh, 12, domain.ModeAbsolute, nil)
		wantInvalid(t, err, "items")
		if evs != nil {
			t.Fatalf("events %v, want none", evs)
		}
	})
	// A product may stand in a template once per term: twice in one term
	// would grant the customer two licenses for one purchase.
	p2 := MustProduct(t, "p3", reseller1, domain.KindModule, 12)
	for _, tc := range []struct {
		name    string
		product *domain.Product
		term    int
		mode    domain.LicenseMode
		wantDup bool
	}{
		{"SameProductSameTerm", p, 12, domain.ModeAbsolute, true},
		{"SameProductSameTermOtherMode", p, 12, domain.ModeRelative, true},
		{"SameProductOtherTerm", p, 24, domain.ModeAbsolute, false},
		{"OtherProductSameTerm", p2, 12, domain.ModeAbsolute, false},
	} {
		t.Run("Duplicate"+tc.name, func(t *testing.T) {
			tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute) // holds p in 12 months
			evs, err := tpl.AddItem("i2", tc.product, tc.term, tc.mode, nil)
			if !tc.wantDup {
				wantErr(t, err, nil)
				return
			}
			wantInvalid(t, err, "product_id")
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
			if msg := domain.ErrorMessage(err); !strings.Contains(msg, p.Name()) || !strings.Contains(msg, "12") {
				t.Fatalf("message %q does not name the product %q and its term", msg, p.Name())
			}
		})
	}
	t.Run("DuplicateAfterRemoval", func(t *testing.T) {
		tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute)
		evs, err := tpl.RemoveItem("t1-itema")
		mustApply(t, tpl, evs, err)
		_, err = tpl.AddItem("i2", p, 12, domain.ModeAbsolute, nil)
		wantErr(t, err, nil)
	})
	t.Run("ErrTemplateItemExists", func(t *testing.T) {
		_, err := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute).AddItem("t1-itema", p, 12, domain.ModeAbsolute, nil)
		if !errors.Is(err, domain.ErrTemplateItemExists) {
			t.Fatalf("error %v, want %v", err, domain.ErrTemplateItemExists)
		}
	})
}

func TestTemplate_SetItemMode(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute)
	item := tpl.Items()[0].ID

	// The green/red toggle, back and forth.
	for _, mode := range []domain.LicenseMode{domain.ModeRelative, domain.ModeAbsolute, domain.ModeRelative} {
		got, err := tpl.SetItemMode(item, mode)
		wantErr(t, err, nil)
		want := []domain.Event{&domain.TemplateItemModeChanged{TemplateID: "t1", ItemID: item, LicenseMode: mode}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("toggle to %s: events (-want +got):\n%s", mode, diff)
		}
		fold(tpl, got...)
		if m := tpl.Items()[0].LicenseMode; m != mode {
			t.Fatalf("mode %s, want %s", m, mode)
		}
	}
	t.Run("SameModeRecordsNothing", func(t *testing.T) {
		evs, err := tpl.SetItemMode(item, domain.ModeRelative)
		if err != nil || evs != nil {
			t.Fatalf("events %v, error %v; want nothing", evs, err)
		}
	})
	t.Run("UnknownMode", func(t *testing.T) {
		_, err := tpl.SetItemMode(item, "red")
		wantInvalid(t, err, "license_mode")
	})
	t.Run("ErrTemplateItemNotFound", func(t *testing.T) {
		_, err := tpl.SetItemMode("nope", domain.ModeAbsolute)
		if !errors.Is(err, domain.ErrTemplateItemNotFound) {
			t.Fatalf("error %v, want %v", err, domain.ErrTemplateItemNotFound)
		}
	})
}

func TestTemplate_RemoveItem(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute, domain.ModeRelative, domain.ModeAbsolute)
	got, err := tpl.RemoveItem("t1-itemb")
	wantErr(t, err, nil)
	if diff := cmp.Diff([]domain.Event{&domain.TemplateItemRemoved{TemplateID: "t1", ItemID: "t1-itemb"}}, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	fold(tpl, got...)
	var ids []domain.ItemID
	for _, it := range tpl.Items() {
		ids = append(ids, it.ID)
	}
	if diff := cmp.Diff([]domain.ItemID{"t1-itema", "t1-itemc"}, ids); diff != "" {
		t.Fatalf("items left (-want +got):\n%s", diff)
	}
	for _, id := range []domain.ItemID{"t1-itemb", "unknown"} {
		if _, err := tpl.RemoveItem(id); !errors.Is(err, domain.ErrTemplateItemNotFound) {
			t.Fatalf("remove %s: error %v, want %v", id, err, domain.ErrTemplateItemNotFound)
		}
	}
}

func TestTemplate_Archive(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute)
	item := tpl.Items()[0].ID
	got, err := tpl.Archive()
	wantErr(t, err, nil)
	if diff := cmp.Diff([]domain.Event{&domain.TemplateArchived{TemplateID: "t1"}}, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	fold(tpl, got...)
	if !tpl.Archived() || len(tpl.Items()) != 1 {
		t.Fatalf("archived %v with %d items, want archived and kept", tpl.Archived(), len(tpl.Items()))
	}

	// Every change after archiving is refused, the no-op toggle included.
	fresh := MustProduct(t, "p9", reseller1, domain.KindModule, 12)
	for name, run := range map[string]func() ([]domain.Event, error){
		"AddItem":         func() ([]domain.Event, error) { return tpl.AddItem("i9", fresh, 12, domain.ModeAbsolute, nil) },
		"SetItemMode":     func() ([]domain.Event, error) { return tpl.SetItemMode(item, domain.ModeRelative) },
		"SetItemModeSame": func() ([]domain.Event, error) { return tpl.SetItemMode(item, domain.ModeAbsolute) },
		"RemoveItem":      func() ([]domain.Event, error) { return tpl.RemoveItem(item) },
		"ArchiveTwice":    func() ([]domain.Event, error) { return tpl.Archive() },
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := run()
			if !errors.Is(err, domain.ErrTemplateArchived) || evs != nil {
				t.Fatalf("events %v, error %v; want %v", evs, err, domain.ErrTemplateArchived)
			}
		})
	}

	// The contract's order: a path that names nothing (404), then a bad body
	// (422), then the state (409).
	t.Run("UnknownItemBeforeArchived", func(t *testing.T) {
		if _, err := tpl.RemoveItem("nope"); !errors.Is(err, domain.ErrTemplateItemNotFound) {
			t.Fatalf("remove: error %v, want %v", err, domain.ErrTemplateItemNotFound)
		}
		if _, err := tpl.SetItemMode("nope", domain.ModeRelative); !errors.Is(err, domain.ErrTemplateItemNotFound) {
			t.Fatalf("set mode: error %v, want %v", err, domain.ErrTemplateItemNotFound)
		}
	})
	t.Run("InvalidBodyBeforeArchived", func(t *testing.T) {
		_, err := tpl.AddItem("i9", p, 6, domain.ModeAbsolute, nil)
		wantInvalid(t, err, "term_months")
		_, err = tpl.SetItemMode(item, "green")
		wantInvalid(t, err, "license_mode")
	})
}

func TestTemplate_NotCreated(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	tpl := &domain.Template{}
	for name, run := range map[string]func() ([]domain.Event, error){
		"AddItem":     func() ([]domain.Event, error) { return tpl.AddItem("i1", p, 12, domain.ModeAbsolute, nil) },
		"SetItemMode": func() ([]domain.Event, error) { return tpl.SetItemMode("i1", domain.ModeRelative) },
		"RemoveItem":  func() ([]domain.Event, error) { return tpl.RemoveItem("i1") },
		"Archive":     func() ([]domain.Event, error) { return tpl.Archive() },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := run(); !errors.Is(err, domain.ErrTemplateNotFound) {
				t.Fatalf("error %v, want %v", err, domain.ErrTemplateNotFound)
			}
		})
	}
}

func TestParseLicenseMode(t *testing.T) {
	for in, want := range map[string]domain.LicenseMode{"": domain.ModeAbsolute, "absolute": domain.ModeAbsolute, "relative": domain.ModeRelative} {
		if got, err := domain.ParseLicenseMode(in); err != nil || got != want {
			t.Errorf("ParseLicenseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Absolute", "green", " relative"} {
		_, err := domain.ParseLicenseMode(in)
		wantInvalid(t, err, "license_mode")
	}
}
