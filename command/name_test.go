package command_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// countNamed counts the events of type typ in the log whose data holds
// name.
func countNamed(t *testing.T, store eventstore.Store, typ, name string) int {
	t.Helper()
	evs, err := store.ReadAll(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ && strings.Contains(string(e.Data), `"`+name+`"`) {
			n++
		}
	}
	return n
}

// wantNameTaken checks that err refuses a name as taken: invalid, on the
// field name, naming it.
func wantNameTaken(t *testing.T, err error, name string) {
	t.Helper()
	if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), name) {
		t.Fatalf("error %v, want invalid naming %q", err, name)
	}
	if f := domain.ErrorField(err); f != "name" {
		t.Fatalf("error %v names the field %q, want name", err, f)
	}
}

// TestNames_Unique: a reseller's products have distinct names, and so
// have its templates (however spelled in case and spaces); another
// reseller, or the other kind, may use the name; an archived template gives
// its name up; a refused command reserves nothing.
func TestNames_Unique(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	other := mustWorldOn(t, w.store, command.Config{})

	if _, _, err := w.svc.AddProduct(ctx, w.reseller, "Erste Hilfe", domain.KindCourse, []int{12}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Erste Hilfe", "erste hilfe", "  ERSTE   Hilfe "} {
		_, _, err := w.svc.AddProduct(ctx, w.reseller, name, domain.KindModule, []int{24})
		wantNameTaken(t, err, "Erste Hilfe")
	}
	if n := countNamed(t, w.store, domain.TypeProductAdded, "Erste Hilfe"); n != 1 {
		t.Fatalf("%d products named Erste Hilfe in the log, want 1", n)
	}
	if _, _, err := other.svc.AddProduct(ctx, other.reseller, "Erste Hilfe", domain.KindCourse, []int{12}); err != nil {
		t.Fatalf("another reseller's product of the same name: %v", err)
	}
	if _, _, err := w.svc.CreateTemplate(ctx, w.reseller, "Erste Hilfe"); err != nil {
		t.Fatalf("a template named as a product: %v", err)
	}

	// The world's template is "T".
	_, _, err := w.svc.CreateTemplate(ctx, w.reseller, "t")
	wantNameTaken(t, err, "T")
	if _, _, err := w.svc.ArchiveTemplate(ctx, w.reseller, w.template); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.CreateTemplate(ctx, w.reseller, "t"); err != nil {
		t.Fatalf("the name of an archived template: %v", err)
	}

	// A product refused for its terms holds no name: the name is free.
	if _, _, err := w.svc.AddProduct(ctx, w.reseller, "Brandschutz", domain.KindCourse, []int{0}); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("a product with a bad term: %v, want invalid", err)
	}
	evs, err := w.store.ReadStream(ctx, domain.NameStream(domain.ResellerID(w.reseller.Actor.Tenant), domain.NameOfProduct, "Brandschutz"), 0, 10)
	if err != nil || len(evs) != 0 {
		t.Fatalf("a refused product left %d reservations (%v)", len(evs), err)
	}
}

// TestNames_Concurrent: of many concurrent creations of one name, exactly
// one succeeds and the others are refused as duplicates.
func TestNames_Concurrent(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	const n = 8
	for _, kind := range []domain.NameKind{domain.NameOfProduct, domain.NameOfTemplate} {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if kind == domain.NameOfProduct {
					_, _, errs[i] = w.svc.AddProduct(ctx, w.reseller, "Gleichzeitig", domain.KindModule, []int{12})
				} else {
					_, _, errs[i] = w.svc.CreateTemplate(ctx, w.reseller, "Gleichzeitig")
				}
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantNameTaken(t, err, "Gleichzeitig")
		}
		typ := map[domain.NameKind]string{domain.NameOfProduct: domain.TypeProductAdded, domain.NameOfTemplate: domain.TypeTemplateCreated}[kind]
		if got := countNamed(t, w.store, typ, "Gleichzeitig"); ok != 1 || got != 1 {
			t.Fatalf("%s: %d creations succeeded and the log holds %d, want exactly 1 of each", kind, ok, got)
		}
	}
}

// TestNames_FailedCreationReleasesTheName: a reservation whose holder was
// never created (the creation failed between its two appends) keeps the
// name for domain.NameReservationTimeout, then the name is free again.
func TestNames_FailedCreationReleasesTheName(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := mustWorld(t, command.Config{Now: clock})
	reseller := domain.ResellerID(w.reseller.Actor.Tenant)
	newRes := func() *domain.NameReservation { return &domain.NameReservation{} }
	if _, _, err := command.Execute(ctx, w.svc.Handler(), domain.NameStream(reseller, domain.NameOfProduct, "Verwaist"), newRes, w.reseller,
		func(n *domain.NameReservation, at time.Time) ([]domain.Event, error) {
			return n.Reserve(reseller, domain.NameOfProduct, "Verwaist", "never-created", domain.HolderMissing, at)
		}); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.svc.AddProduct(ctx, w.reseller, "Verwaist", domain.KindModule, []int{12})
	wantNameTaken(t, err, "Verwaist")
	mu.Lock()
	now = now.Add(domain.NameReservationTimeout)
	mu.Unlock()
	if _, _, err := w.svc.AddProduct(ctx, w.reseller, "Verwaist", domain.KindModule, []int{12}); err != nil {
		t.Fatalf("after the reservation timed out: %v", err)
	}
}
