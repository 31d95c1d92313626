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
	// Tokens are the SHA-256 hashes (never the tokens) of the tokens the
	// last start printed: the next start revokes them before it prints new
	// ones, so that restarts do not pile up valid tokens.
	Tokens []string `json:"tokens,omitempty"`
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
		if err := writeDemoTenants(path, t); err != nil {
			return err
		}
		m.log.Info("demo data seeded", "reseller", t.Reseller, "customers", len(t.Customers), "templates", len(t.Templates))
	default:
		return err
	}

	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "demo"}}
	for _, hash := range t.Tokens {
		// Revoked already (by hand, or a start that failed after it
		// revoked): that is what this wanted.
		if _, err := svc.RevokeToken(ctx, op, hash); err != nil && domain.ErrorCode(err) != domain.ECONFLICT && domain.ErrorCode(err) != domain.ENOTFOUND {
			return fmt.Errorf("revoke the previous demo token: %w", err)
		}
	}
	t.Tokens = nil
	issue := func(role domain.Role, tenant string) (string, error) {
		tok, hash := ohttp.NewToken()
		if _, err := svc.IssueToken(ctx, op, domain.TokenSpec{ID: svc.Handler().NewID(), Hash: hash, Role: role, Tenant: tenant}); err != nil {
			return "", fmt.Errorf("issue %s token: %w", role, err)
		}
		t.Tokens = append(t.Tokens, hash)
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
	customerTokens := make([]string, len(t.Customers))
	for i, c := range t.Customers {
		if customerTokens[i], err = issue(domain.RoleCustomer, c); err != nil {
			return err
		}
	}
	// Recorded before they are printed: a token printed but not recorded
	// would outlive the next start.
	if err := writeDemoTenants(path, t); err != nil {
		return err
	}
	w := m.env.stdout
	fmt.Fprintln(w, "# offerflow demo: paste these lines into your shell (tokens of an earlier start are revoked)")
	fmt.Fprintf(w, "export OPERATOR_TOKEN=%s\n", m.cfg.operatorToken)
	fmt.Fprintf(w, "export RESELLER_TOKEN=%s\n", reseller)
	fmt.Fprintf(w, "export AUDITOR_TOKEN=%s\n", auditor)
	for i, c := range t.Customers {
		fmt.Fprintf(w, "export CUSTOMER%d_ID=%s CUSTOMER%d_TOKEN=%s\n", i+1, c, i+1, customerTokens[i])
	}
	for i, id := range t.Templates {
		fmt.Fprintf(w, "export TEMPLATE%d_ID=%s\n", i+1, id)
	}
	return nil
}

func writeDemoTenants(path string, t demoTenants) error {
	b, _ := json.MarshalIndent(t, "", "  ") // strings only: it always encodes
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
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
	// More customers, without tokens, hold the history, so that the
	// customers whose tokens the demo prints start with an empty inbox.
	var customers []string
	for _, name := range []string{"Gemeinde Talbach", "Brauerei Vogt KG", "Pflegedienst Sonnenhof", "Autohaus Kranz", "Sparkasse Ried"} {
		c, _, err := svc.RegisterCustomer(ctx, rm, name, "")
		if err != nil {
			return t, err
		}
		customers = append(customers, string(c.ID()))
	}
	if err := seedDemoHistory(ctx, svc, t.Reseller, t.Templates, customers); err != nil {
		return t, fmt.Errorf("seed the demo's history: %w", err)
	}
	return t, nil
}
