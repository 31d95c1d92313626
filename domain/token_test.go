package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

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
			got, err := domain.IssueToken(domain.TokenSpec{ID: "k1", Hash: "sha256:abc", Role: tc.role, Tenant: tc.tenant}, t0)
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
		_, err := domain.IssueToken(domain.TokenSpec{ID: "k1", Role: domain.RoleReseller, Tenant: "r1"}, t0)
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
		return tok.Issue(domain.TokenSpec{ID: "k2", Hash: "h1", Role: domain.RoleReseller, Tenant: "r1"}, t0)
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
			return tok.Issue(domain.TokenSpec{ID: "k2", Hash: "h1", Role: domain.RoleCustomer}, t0)
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

// TestIssueToken_NameAndTTL checks the optional name (trimmed, bounded,
// plain text) and lifetime of an issued token.
func TestIssueToken_NameAndTTL(t *testing.T) {
	spec := domain.TokenSpec{ID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1"}
	for _, tc := range []struct {
		name  string
		edit  func(*domain.TokenSpec)
		want  *domain.TokenIssued
		field string
	}{
		{"NoNameNoTTL", func(*domain.TokenSpec) {}, &domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1"}, ""},
		{"Name", func(s *domain.TokenSpec) { s.Name = "  Anna Admin " },
			&domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1", Name: "Anna Admin"}, ""},
		{"TTL", func(s *domain.TokenSpec) { s.TTL = time.Hour },
			&domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1", ExpiresAt: ptr(t0.Add(time.Hour))}, ""},
		{"Idle", func(s *domain.TokenSpec) { s.Idle = 12 * time.Hour },
			&domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleCustomer, Tenant: "c1", ExpiresAt: ptr(t0.Add(12 * time.Hour)), IdleSeconds: 12 * 3600}, ""},
		{"NameTooLong", func(s *domain.TokenSpec) { s.Name = strings.Repeat("n", domain.MaxNameLen+1) }, nil, "name"},
		{"NameBidi", func(s *domain.TokenSpec) { s.Name = "Anna\u202Enimda" }, nil, "name"},
		{"NameNUL", func(s *domain.TokenSpec) { s.Name = "Anna\x00" }, nil, "name"},
		{"TTLNegative", func(s *domain.TokenSpec) { s.TTL = -time.Second }, nil, "ttl_seconds"},
		{"TTLTooLong", func(s *domain.TokenSpec) { s.TTL = domain.MaxTokenTTL + time.Second }, nil, "ttl_seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := spec
			tc.edit(&sp)
			got, err := domain.IssueToken(sp, t0)
			if tc.field != "" {
				wantInvalid(t, err, tc.field)
				return
			}
			wantErr(t, err, nil)
			if diff := cmp.Diff([]domain.Event{tc.want}, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestToken_Valid checks expiry and revocation at the exact instants.
func TestToken_Valid(t *testing.T) {
	exp := t0.Add(time.Hour)
	issued := &domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleReseller, Tenant: "r1", ExpiresAt: &exp}
	for _, tc := range []struct {
		name  string
		given []domain.Event
		at    time.Time
		want  bool
	}{
		{"NeverIssued", nil, t0, false},
		{"BeforeExpiry", []domain.Event{issued}, exp.Add(-time.Nanosecond), true},
		{"AtExpiry", []domain.Event{issued}, exp, false},
		{"AfterExpiry", []domain.Event{issued}, exp.Add(time.Hour), false},
		{"Revoked", []domain.Event{issued, &domain.TokenRevoked{TokenID: "k1"}}, t0, false},
		{"NoExpiry", []domain.Event{&domain.TokenIssued{TokenID: "k1", Hash: "h1", Role: domain.RoleReseller, Tenant: "r1"}}, t0.Add(100000 * time.Hour), true},
		{"Extended", []domain.Event{issued, &domain.TokenExtended{TokenID: "k1", ExpiresAt: exp.Add(time.Hour)}}, exp.Add(time.Minute), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fold(&domain.Token{}, tc.given...).Valid(tc.at); got != tc.want {
				t.Fatalf("Valid(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

// TestToken_Derive runs the derivation of a session from a token.
func TestToken_Derive(t *testing.T) {
	parentExp := t0.Add(6 * time.Hour)
	plain := &domain.TokenIssued{TokenID: "p", Hash: "hp", Role: domain.RoleCustomer, Tenant: "c1", Name: "Anna"}
	short := &domain.TokenIssued{TokenID: "p", Hash: "hp", Role: domain.RoleCustomer, Tenant: "c1", ExpiresAt: &parentExp}
	deep := &domain.TokenIssued{TokenID: "p", Hash: "hp", Role: domain.RoleCustomer, Tenant: "c1", Parent: "hq", Depth: domain.MaxTokenDepth}
	session := domain.TokenSpec{ID: "s", Hash: "hs", Role: domain.RoleOperator, Tenant: "ignored", Idle: 12 * time.Hour}
	for _, tc := range []struct {
		name  string
		given []domain.Event
		spec  domain.TokenSpec
		at    time.Time
		want  *domain.TokenIssued
		err   error
	}{
		{"OK", []domain.Event{plain}, session, t0, &domain.TokenIssued{TokenID: "s", Hash: "hs", Role: domain.RoleCustomer, Tenant: "c1",
			Name: "Anna", Parent: "hp", Depth: 1, ExpiresAt: ptr(t0.Add(12 * time.Hour)), IdleSeconds: 12 * 3600}, nil},
		{"NeverOutlivesTheParent", []domain.Event{short}, session, t0, &domain.TokenIssued{TokenID: "s", Hash: "hs", Role: domain.RoleCustomer, Tenant: "c1",
			Parent: "hp", Depth: 1, ExpiresAt: &parentExp, IdleSeconds: 12 * 3600}, nil},
		{"ErrParentRevoked", []domain.Event{plain, &domain.TokenRevoked{TokenID: "p"}}, session, t0, nil, domain.ErrTokenNotValid},
		{"ErrParentExpired", []domain.Event{short}, session, parentExp, nil, domain.ErrTokenNotValid},
		{"ErrParentNeverIssued", nil, session, t0, nil, domain.ErrTokenNotValid},
		{"ErrTooDeep", []domain.Event{deep}, session, t0, nil, domain.ErrTokenTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fold(&domain.Token{}, tc.given...).Derive(tc.spec, tc.at)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != nil {
					t.Fatalf("got %v, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]domain.Event{tc.want}, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestToken_Extend checks the sliding expiry: nothing until half the idle
// window has passed, then a new expiry an idle window after the use.
func TestToken_Extend(t *testing.T) {
	idle := 12 * time.Hour
	session := &domain.TokenIssued{TokenID: "s", Hash: "hs", Role: domain.RoleCustomer, Tenant: "c1", ExpiresAt: ptr(t0.Add(idle)), IdleSeconds: int64(idle / time.Second)}
	fixed := &domain.TokenIssued{TokenID: "k", Hash: "hk", Role: domain.RoleCustomer, Tenant: "c1", ExpiresAt: ptr(t0.Add(idle))}
	for _, tc := range []struct {
		name  string
		given []domain.Event
		at    time.Time
		want  []domain.Event
		err   error
	}{
		{"NotYetDue", []domain.Event{session}, t0.Add(idle/2 - time.Second), nil, nil},
		{"Due", []domain.Event{session}, t0.Add(idle / 2), []domain.Event{&domain.TokenExtended{TokenID: "s", ExpiresAt: t0.Add(idle/2 + idle)}}, nil},
		{"ErrExpired", []domain.Event{session}, t0.Add(idle), nil, domain.ErrTokenNotValid},
		{"ErrRevoked", []domain.Event{session, &domain.TokenRevoked{TokenID: "s"}}, t0.Add(idle / 2), nil, domain.ErrTokenNotValid},
		{"ErrNotSliding", []domain.Event{fixed}, t0.Add(idle / 2), nil, domain.ErrTokenNoSliding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fold(&domain.Token{}, tc.given...)
			got, err := tok.Extend(tc.at)
			if tc.err != nil && !errors.Is(err, tc.err) || tc.err == nil && err != nil {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			if due := tok.ExtendDue(tc.at); due != (len(tc.want) > 0) {
				t.Fatalf("ExtendDue = %v, Extend recorded %v", due, got)
			}
		})
	}
}
