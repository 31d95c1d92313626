package domain_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestIssueToken(t *testing.T) {
	for _, tc := range []struct {
		role   domain.Role
		tenant string
		field  string // empty: issued
	}{
		{domain.RoleOperator, "", ""},
		{domain.RoleOperator, "r1", "tenant"},
		{domain.RoleOperator, "*", "tenant"},
		{domain.RoleReseller, "r1", ""},
		{domain.RoleReseller, "", "tenant"},
		{domain.RoleReseller, "*", "tenant"},
		{domain.RoleAuditor, "r1", ""},
		{domain.RoleAuditor, "*", ""},
		{domain.RoleAuditor, "", "tenant"},
		{domain.RoleCustomer, "c1", ""},
		{domain.RoleCustomer, "", "tenant"},
		{domain.RoleCustomer, "*", "tenant"},
		{domain.RoleSystem, "*", "role"},
		{"", "r1", "role"},
		{"admin", "r1", "role"},
	} {
		t.Run(string(tc.role)+"/"+tc.tenant, func(t *testing.T) {
			got, err := domain.IssueToken("k1", "sha256:abc", tc.role, tc.tenant)
			if tc.field != "" {
				wantInvalid(t, err, tc.field)
				if got != nil {
					t.Fatalf("events %v, want none", got)
				}
				return
			}
			wantErr(t, err, nil)
			want := []domain.Event{&domain.TokenIssued{TokenID: "k1", Hash: "sha256:abc", Role: tc.role, Tenant: tc.tenant}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("HashRequired", func(t *testing.T) {
		_, err := domain.IssueToken("k1", "", domain.RoleReseller, "r1")
		wantInvalid(t, err, "token")
	})
}

func TestParseRole(t *testing.T) {
	for _, r := range []domain.Role{domain.RoleOperator, domain.RoleReseller, domain.RoleCustomer, domain.RoleAuditor} {
		if got, err := domain.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	// The system role is recorded by background processes, never given to a token.
	for _, s := range []string{"system", "", "Reseller"} {
		_, err := domain.ParseRole(s)
		wantInvalid(t, err, "role")
	}
	if a := domain.SystemActor("expiry"); a.Role != domain.RoleSystem || a.Tenant != "*" || a.Subject != "expiry" {
		t.Errorf("SystemActor = %+v", a)
	}
}
