package domain

// TokenIssued records an API token. Only a hash of the token is recorded:
// the token itself is shown once to whoever created it.
type TokenIssued struct {
	TokenID string `json:"token_id"`
	Hash    string `json:"hash"`
	Role    Role   `json:"role"`
	Tenant  string `json:"tenant"`
}

func (TokenIssued) EventType() string { return TypeTokenIssued }

// TokenRevoked records that an issued token no longer authenticates anyone.
// It is recorded in the token's own stream, which is named by the token's
// hash, so the event needs to carry only the id.
type TokenRevoked struct {
	TokenID string `json:"token_id"`
}

func (TokenRevoked) EventType() string { return TypeTokenRevoked }

// Type names of the token's events.
const (
	TypeTokenIssued  = "token.issued"
	TypeTokenRevoked = "token.revoked"
)

// Rules of the token's life: issued once, revoked at most once, never
// reissued under the same hash.
var (
	ErrTokenExists   = Errorf(ECONFLICT, "token already issued")
	ErrTokenNotFound = Errorf(ENOTFOUND, "token not found")
	ErrTokenRevoked  = Errorf(ECONFLICT, "token is already revoked")
)

// IssueToken records a token of role for tenant. A reseller or auditor token
// names a reseller (an auditor may name "*", every reseller); a customer
// token names a customer; an operator token names no tenant. Whether the
// tenant exists is checked by the caller, which can see the other aggregates.
func IssueToken(id, hash string, role Role, tenant string) ([]Event, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	switch {
	case role == RoleOperator && tenant != "":
		return nil, Invalid("tenant", "an operator token has no tenant")
	case role != RoleOperator && tenant == "":
		return nil, Invalid("tenant", "tenant is required")
	case tenant == "*" && role != RoleAuditor:
		return nil, Invalid("tenant", "only an auditor token may name every tenant")
	}
	if hash == "" {
		return nil, Invalid("token", "token hash is required")
	}
	return []Event{&TokenIssued{TokenID: id, Hash: hash, Role: role, Tenant: tenant}}, nil
}

// Token is one API token as its stream records it. The zero value is a
// token that was never issued.
type Token struct {
	id      string
	hash    string
	role    Role
	tenant  string
	revoked bool
}

// Exists reports whether the token was issued (revoked or not).
func (t *Token) Exists() bool { return t.hash != "" }

// ID returns the token's id: the subject of everything done with it.
func (t *Token) ID() string { return t.id }

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return t.revoked }

// Actor returns who acts with the token: its role and tenant, and its id as
// subject. It says nothing of whether the token is still valid (Revoked).
func (t *Token) Actor() Actor { return Actor{Role: t.role, Tenant: t.tenant, Subject: t.id} }

// Issue records the token, as IssueToken does, unless it was already issued
// (ErrTokenExists): a hash names one token for good, so a revoked token
// cannot be brought back to life by issuing it again.
func (t *Token) Issue(id, hash string, role Role, tenant string) ([]Event, error) {
	if t.Exists() {
		return nil, ErrTokenExists
	}
	return IssueToken(id, hash, role, tenant)
}

// Revoke records that the token no longer authenticates anyone. A token that
// was never issued is ErrTokenNotFound; one already revoked is
// ErrTokenRevoked (a conflict, so that a client learns that its revocation
// is not the one that took effect).
func (t *Token) Revoke() ([]Event, error) {
	switch {
	case !t.Exists():
		return nil, ErrTokenNotFound
	case t.revoked:
		return nil, ErrTokenRevoked
	}
	return []Event{&TokenRevoked{TokenID: t.id}}, nil
}

// Apply folds one of the token's events into its state.
func (t *Token) Apply(e Event) {
	switch ev := e.(type) {
	case *TokenIssued:
		t.id, t.hash, t.role, t.tenant = ev.TokenID, ev.Hash, ev.Role, ev.Tenant
	case *TokenRevoked:
		t.revoked = true
	}
}
