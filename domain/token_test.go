package domain_test

import (
	"errors"
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

// TestToken runs the token's life as given/when/then: the events already in
// its stream, the command, and the events or the error that must follow.
func TestToken(t *testing.T) {
	issued := &domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1"}
	revoked := &domain.TokenRevoked{TokenID: "k1"}
	issue := func(tok *domain.Token) ([]domain.Event, error) {
		return tok.Issue("k2", "h1", domain.RoleReseller, "r1")
	}
	revoke := func(tok *domain.Token) ([]domain.Event, error) { return tok.Revoke() }
	for _, tc := range []struct {
		name  string
		given []domain.Event
		when  func(*domain.Token) ([]domain.Event, error)
		then  []domain.Event
		err   error
		code  string
	}{
		{name: "Issue", when: issue, then: []domain.Event{&domain.TokenIssued{TokenID: "k2", Hash: "h1", Role: domain.RoleReseller, Tenant: "r1"}}},
		{name: "IssueInvalid", when: func(tok *domain.Token) ([]domain.Event, error) {
			return tok.Issue("k2", "h1", domain.RoleCustomer, "")
		}, code: domain.EINVALID},
		{name: "IssueTwice", given: []domain.Event{issued}, when: issue, err: domain.ErrTokenExists, code: domain.ECONFLICT},
		{name: "IssueRevoked", given: []domain.Event{issued, revoked}, when: issue, err: domain.ErrTokenExists, code: domain.ECONFLICT},
		{name: "Revoke", given: []domain.Event{issued}, when: revoke, then: []domain.Event{revoked}},
		{name: "RevokeUnknown", when: revoke, err: domain.ErrTokenNotFound, code: domain.ENOTFOUND},
		{name: "RevokeTwice", given: []domain.Event{issued, revoked}, when: revoke, err: domain.ErrTokenRevoked, code: domain.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fold(&domain.Token{}, tc.given...)
			got, err := tc.when(tok)
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if domain.ErrorCode(err) != tc.code {
				t.Fatalf("error %v has code %q, want %q", err, domain.ErrorCode(err), tc.code)
			}
			if diff := cmp.Diff(tc.then, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
	// The sentinels are told apart even where they share a code.
	if errors.Is(domain.ErrTokenRevoked, domain.ErrTokenExists) {
		t.Fatal("ErrTokenRevoked matches ErrTokenExists")
	}
}

// TestToken_Apply folds a token's stream into the state LookupToken relies
// on: who acts with it, and whether it still counts.
func TestToken_Apply(t *testing.T) {
	var tok domain.Token
	if tok.Exists() || tok.Revoked() {
		t.Fatalf("zero token: exists %v, revoked %v", tok.Exists(), tok.Revoked())
	}
	fold(&tok, &domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleAuditor, Tenant: "*"})
	want := domain.Actor{Role: domain.RoleAuditor, Tenant: "*", Subject: "k1"}
	if !tok.Exists() || tok.Revoked() || tok.ID() != "k1" || tok.Actor() != want {
		t.Fatalf("issued token: exists %v, revoked %v, id %q, actor %+v", tok.Exists(), tok.Revoked(), tok.ID(), tok.Actor())
	}
	fold(&tok, &domain.TokenRevoked{TokenID: "k1"})
	if !tok.Exists() || !tok.Revoked() || tok.Actor() != want {
		t.Fatalf("revoked token: exists %v, revoked %v, actor %+v", tok.Exists(), tok.Revoked(), tok.Actor())
	}
}
