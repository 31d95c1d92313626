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

// TypeTokenIssued is the type name of TokenIssued.
const TypeTokenIssued = "token.issued"

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
