package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	ohttp "github.com/offerflow/offerflow/http"
)

const demoFile = "demo.json"

// demoTenants are the ids the demo seeded, kept in the data directory so
// that a restart with --demo prints fresh tokens for the same tenants instead
// of seeding a second time.
type demoTenants struct {
	Reseller  string   `json:"reseller"`
	Customers []string `json:"customers"`
	Templates []string `json:"templates"`
}

// seedDemo seeds a reseller with a catalog, two templates and three
// customers (once per data directory) and prints a ready token for each role
// as shell assignments.
func (m *Main) seedDemo(ctx context.Context, svc *command.Service) error {
	path := m.cfg.path(demoFile)
	var t demoTenants
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if t, err = seedDemoData(ctx, svc); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(t, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		m.log.Info("demo data seeded", "reseller", t.Reseller, "customers", len(t.Customers), "templates", len(t.Templates))
	default:
		return err
	}

	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "demo"}}
	issue := func(role domain.Role, tenant string) (string, error) {
		tok, hash := ohttp.NewToken()
		if _, err := svc.IssueToken(ctx, op, domain.TokenSpec{ID: svc.Handler().NewID(), Hash: hash, Role: role, Tenant: tenant}); err != nil {
			return "", fmt.Errorf("issue %s token: %w", role, err)
		}
		return tok, nil
	}
	reseller, err := issue(domain.RoleReseller, t.Reseller)
	if err != nil {
		return err
	}
	auditor, err := issue(domain.RoleAuditor, t.Reseller)
	if err != nil {
		return err
	}
	w := m.env.stdout
	fmt.Fprintln(w, "# offerflow demo: paste these lines into your shell")
	fmt.Fprintf(w, "export OPERATOR_TOKEN=%s\n", m.cfg.operatorToken)
	fmt.Fprintf(w, "export RESELLER_TOKEN=%s\n", reseller)
	fmt.Fprintf(w, "export AUDITOR_TOKEN=%s\n", auditor)
	for i, c := range t.Customers {
		tok, err := issue(domain.RoleCustomer, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "export CUSTOMER%d_ID=%s CUSTOMER%d_TOKEN=%s\n", i+1, c, i+1, tok)
	}
	for i, id := range t.Templates {
		fmt.Fprintf(w, "export TEMPLATE%d_ID=%s\n", i+1, id)
	}
	return nil
}

func seedDemoData(ctx context.Context, svc *command.Service) (demoTenants, error) {
	var t demoTenants
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "demo"}}
	r, _, err := svc.RegisterReseller(ctx, op, "Lernwerk Reseller GmbH")
	if err != nil {
		return t, err
	}
	t.Reseller = string(r.ID())
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: t.Reseller, Subject: "demo"}}

	type product struct {
		name  string
		kind  domain.ProductKind
		terms []int
	}
	catalog := []product{
		{"Datenschutz-Grundlagen", domain.KindModule, []int{12, 24}},
		{"IT-Sicherheit im Büro", domain.KindModule, []int{12}},
		{"Arbeitsschutz kompakt", domain.KindModule, []int{6, 12}},
		{"Compliance für Führungskräfte", domain.KindCourse, []int{12, 24, 36}},
		{"Onboarding-Paket", domain.KindCourse, []int{24}},
	}
	ids := make([]domain.ProductID, len(catalog))
	for i, p := range catalog {
		prod, _, err := svc.AddProduct(ctx, rm, p.name, p.kind, p.terms)
		if err != nil {
			return t, err
		}
		ids[i] = prod.ID()
	}
	type item struct {
		product int
		term    int
		mode    domain.LicenseMode
	}
	templates := []struct {
		name  string
		items []item
	}{
		{"Pflichtschulungen Basis", []item{{0, 12, domain.ModeAbsolute}, {1, 12, domain.ModeAbsolute}, {2, 12, domain.ModeRelative}}},
		{"Führungskräfte-Paket", []item{{3, 24, domain.ModeAbsolute}, {4, 24, domain.ModeRelative}}},
	}
	for _, tp := range templates {
		tmpl, _, err := svc.CreateTemplate(ctx, rm, tp.name)
		if err != nil {
			return t, err
		}
		for _, it := range tp.items {
			if _, _, _, err := svc.AddTemplateItem(ctx, rm, tmpl.ID(), ids[it.product], it.term, it.mode, nil); err != nil {
				return t, err
			}
		}
		t.Templates = append(t.Templates, string(tmpl.ID()))
	}
	for _, name := range []string{"Stadtwerke Nordheim", "Klinikum am See", "Müller & Söhne Logistik"} {
		c, _, err := svc.RegisterCustomer(ctx, rm, name, "")
		if err != nil {
			return t, err
		}
		t.Customers = append(t.Customers, string(c.ID()))
	}
	return t, nil
}
