package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

// TestNameLists_Paging pages through every list ordered by name, one item a
// page, and checks the pages join up to the whole list: each item once, in
// order, the last page without a cursor.
func TestNameLists_Paging(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	r := rmMust[*domain.Reseller](t)(e.svc.RegisterReseller(ctx, rmMeta(rmOperator()), "R"))
	rm := rmMeta(rmReseller(r.ID()))
	// Names out of order, two of them equal but for case, so that both
	// parts of the (name key, id) cursor matter. A reseller's products and
	// live templates have distinct names now; equal ones remain in logs
	// written before that rule (the second product is written as they
	// hold it, past the name reservation) and among archived templates.
	var first *domain.Template
	for _, name := range []string{"delta", "Alpha", "charlie", "ALPHA", "bravo"} {
		if name == "ALPHA" {
			id := domain.ProductID(e.svc.Handler().NewID())
			rmMust[*domain.Product](t)(command.Execute(ctx, e.svc.Handler(), domain.ProductStream(id), func() *domain.Product { return &domain.Product{} }, rm,
				func(p *domain.Product, _ time.Time) ([]domain.Event, error) {
					return p.Add(id, r.ID(), name, domain.KindModule, []int{12})
				}))
			rmMust[*domain.Template](t)(e.svc.ArchiveTemplate(ctx, rm, first.ID()))
		} else {
			rmMust[*domain.Product](t)(e.svc.AddProduct(ctx, rm, name, domain.KindModule, []int{12}))
		}
		tmpl := rmMust[*domain.Template](t)(e.svc.CreateTemplate(ctx, rm, name))
		if name == "Alpha" {
			first = tmpl
		}
		rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rm, name, ""))
	}
	e.run(t, e.db, projections.Config{})
	e.waitHead(t, e.db)

	lists := map[string]func(domain.PageRequest) ([]string, string, error){
		"products": func(p domain.PageRequest) ([]string, string, error) {
			pg, err := e.db.Products(ctx, r.ID(), "", p)
			return names(pg.Items, func(x domain.ProductRecord) string { return x.Name + "/" + string(x.ID) }), pg.NextCursor, err
		},
		"templates": func(p domain.PageRequest) ([]string, string, error) {
			pg, err := e.db.Templates(ctx, r.ID(), true, p)
			return names(pg.Items, func(x domain.TemplateRecord) string { return x.Name + "/" + string(x.ID) }), pg.NextCursor, err
		},
		"customers": func(p domain.PageRequest) ([]string, string, error) {
			pg, err := e.db.Customers(ctx, r.ID(), p)
			return names(pg.Items, func(x domain.CustomerRecord) string { return x.Name + "/" + string(x.ID) }), pg.NextCursor, err
		},
	}
	for name, list := range lists {
		t.Run(name, func(t *testing.T) {
			all, last, err := list(domain.PageRequest{Limit: 500})
			if err != nil || len(all) != 5 || last != "" {
				t.Fatalf("whole list: %v, cursor %q, %v", all, last, err)
			}
			var paged []string
			cursor := ""
			for i := 0; ; i++ {
				items, next, err := list(domain.PageRequest{Limit: 1, Cursor: cursor})
				if err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
				paged = append(paged, items...)
				if next == "" {
					break
				}
				if i > 10 {
					t.Fatal("paging does not end")
				}
				cursor = next
			}
			if diff := cmp.Diff(all, paged); diff != "" {
				t.Fatalf("pages of one differ from the whole list (-whole +paged):\n%s", diff)
			}
		})
	}
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}
