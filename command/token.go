package command

import (
	"context"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Tokens live in streams named by the token's hash ("token-<hash>"): a
// request's token is hashed and its stream read directly, so a token works,
// and a revocation takes effect, the moment its event is appended, without
// waiting for a projection.

func newToken() *domain.Token { return &domain.Token{} }

// LookupToken returns the actor of the token recorded under hash, with the
// token's id as subject. ok is false when no token was issued under hash or
// the token was revoked; err is reserved for failures of the look-up.
func (s *Service) LookupToken(ctx context.Context, hash string) (domain.Actor, bool, error) {
	t := newToken()
	if _, _, err := Load(ctx, s.h, tokenStream(hash), t); err != nil {
		return domain.Actor{}, false, err
	}
	if !t.Exists() || t.Revoked() {
		return domain.Actor{}, false, nil
	}
	return t.Actor(), true, nil
}

// IssueToken records a token's hash with its role and tenant, under the
// stream named by the hash. Tenants of reseller, auditor and customer tokens
// must exist (validation_failed on tenant otherwise); a hash already issued
// is invalid_transition.
func (s *Service) IssueToken(ctx context.Context, m Meta, id, hash string, role domain.Role, tenant string) (Result, error) {
	switch {
	case (role == domain.RoleReseller || role == domain.RoleAuditor) && tenant != "*" && tenant != "":
		if _, err := s.Reseller(ctx, domain.ResellerID(tenant)); err != nil {
			return Result{}, domain.Invalid("tenant", "tenant does not name a reseller")
		}
	case role == domain.RoleCustomer && tenant != "":
		if _, _, err := s.Customer(ctx, domain.CustomerID(tenant)); err != nil {
			return Result{}, domain.Invalid("tenant", "tenant does not name a customer")
		}
	}
	_, res, err := Execute(ctx, s.h, tokenStream(hash), newToken, m, func(t *domain.Token, _ time.Time) ([]domain.Event, error) {
		return t.Issue(id, hash, role, tenant)
	})
	return res, err
}

// RevokeToken records that the token issued under hash no longer
// authenticates anyone; LookupToken answers ok=false for it from then on.
// It returns not_found (domain.ErrTokenNotFound) when no token was issued
// under hash, and invalid_transition (domain.ErrTokenRevoked) when the token
// was already revoked. Whoever may revoke which token is the caller's
// decision: the command records m's actor as the one who revoked it.
func (s *Service) RevokeToken(ctx context.Context, m Meta, hash string) (Result, error) {
	if hash == "" {
		return Result{}, domain.ErrTokenNotFound
	}
	_, res, err := Execute(ctx, s.h, tokenStream(hash), newToken, m, func(t *domain.Token, _ time.Time) ([]domain.Event, error) {
		return t.Revoke()
	})
	return res, err
}
