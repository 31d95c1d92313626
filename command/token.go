package command

import (
	"context"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Tokens live in streams named by the token's hash ("token-<hash>"): a
// request's token is hashed and its stream read directly (through the
// token cache), so a token works, and a revocation takes effect, the
// moment its event is appended, without waiting for a projection.

func newToken() *domain.Token { return &domain.Token{} }

// LookupToken returns the actor of the token recorded under hash, with the
// token's id as subject and its name. ok is false when no token was issued
// under hash, or when it or any token it derives from is revoked or
// expired; err is reserved for failures of the look-up. A token with a
// sliding expiry (a web UI session) is extended by the use.
func (s *Service) LookupToken(ctx context.Context, hash string) (domain.Actor, bool, error) {
	t, ok, err := s.validToken(ctx, hash, s.h.Now())
	if err != nil || !ok {
		return domain.Actor{}, false, err
	}
	if now := s.h.Now(); t.ExtendDue(now) {
		if err := s.extendToken(ctx, t, hash); err != nil {
			// The token stays valid until its current expiry; the next
			// use tries again.
			s.h.cfg.Logger.WarnContext(ctx, "extend token", "token_id", t.ID(), "err", err)
		}
	}
	return t.Actor(), true, nil
}

// validToken returns the token recorded under hash and whether it
// authenticates at now: it and every token above it valid.
func (s *Service) validToken(ctx context.Context, hash string, now time.Time) (*domain.Token, bool, error) {
	leaf, err := s.token(ctx, hash)
	if err != nil || !leaf.Valid(now) {
		return leaf, false, err
	}
	t := leaf
	for range domain.MaxTokenDepth {
		if t.Parent() == "" {
			return leaf, true, nil
		}
		if t, err = s.token(ctx, t.Parent()); err != nil || !t.Valid(now) {
			return leaf, false, err
		}
	}
	// Deeper than any derivation the domain allows: not a token it made.
	return leaf, t.Parent() == "", nil
}

// token returns the token recorded under hash, from the cache when it holds
// it. The returned token is shared: callers only read it.
func (s *Service) token(ctx context.Context, hash string) (*domain.Token, error) {
	if t, ok := s.tokens.get(hash); ok {
		return t, nil
	}
	epoch := s.tokens.epochNow()
	t := newToken()
	if _, _, err := Load(ctx, s.h, domain.TokenStream(hash), t); err != nil {
		return nil, err
	}
	if t.Exists() {
		s.tokens.put(hash, t, epoch)
	}
	return t, nil
}

// extendToken records that the token under hash was used, sliding its
// expiry, with the token itself as actor.
func (s *Service) extendToken(ctx context.Context, t *domain.Token, hash string) error {
	_, _, err := Execute(ctx, s.h, domain.TokenStream(hash), newToken, Meta{Actor: t.Actor()}, func(t *domain.Token, now time.Time) ([]domain.Event, error) {
		return t.Extend(now)
	})
	s.tokens.invalidate(hash)
	return err
}

// IssueToken records a token's hash with its role, tenant, name and expiry
// under the stream named by the hash. Tenants of reseller, auditor and
// customer tokens must exist (validation_failed on tenant otherwise); a
// hash already issued is invalid_transition.
func (s *Service) IssueToken(ctx context.Context, m Meta, spec domain.TokenSpec) (Result, error) {
	switch role, tenant := spec.Role, spec.Tenant; {
	case (role == domain.RoleReseller || role == domain.RoleAuditor) && tenant != "*" && tenant != "":
		if _, err := s.Reseller(ctx, domain.ResellerID(tenant)); err != nil {
			return Result{}, domain.Invalid("tenant", "tenant does not name a reseller")
		}
	case role == domain.RoleCustomer && tenant != "":
		if _, _, err := s.Customer(ctx, domain.CustomerID(tenant)); err != nil {
			return Result{}, domain.Invalid("tenant", "tenant does not name a customer")
		}
	}
	_, res, err := Execute(ctx, s.h, domain.TokenStream(spec.Hash), newToken, m, func(t *domain.Token, now time.Time) ([]domain.Event, error) {
		return t.Issue(spec, now)
	})
	s.tokens.invalidate(spec.Hash)
	return res, err
}

// DeriveToken records a token derived from the one recorded under parent
// (a web UI session begun with it): same role and tenant, parent's name
// unless spec names another, expiring no later than the parent, and valid
// only while the parent is. spec.Hash names the new token; its Role and
// Tenant are ignored. A parent that does not authenticate is
// unauthenticated (domain.ErrTokenNotValid). It returns the new token's
// actor.
func (s *Service) DeriveToken(ctx context.Context, m Meta, parent string, spec domain.TokenSpec) (domain.Actor, Result, error) {
	p, ok, err := s.validToken(ctx, parent, s.h.Now())
	if err != nil {
		return domain.Actor{}, Result{}, err
	}
	if !ok {
		return domain.Actor{}, Result{}, domain.ErrTokenNotValid
	}
	t, res, err := Execute(ctx, s.h, domain.TokenStream(spec.Hash), newToken, m, func(t *domain.Token, now time.Time) ([]domain.Event, error) {
		if t.Exists() {
			return nil, domain.ErrTokenExists
		}
		return p.Derive(spec, now)
	})
	s.tokens.invalidate(spec.Hash)
	if err != nil {
		return domain.Actor{}, Result{}, err
	}
	return t.Actor(), res, nil
}

// RevokeToken records that the token issued under hash no longer
// authenticates anyone, nor any token derived from it; LookupToken
// answers ok=false for them from then on, in this process at once. It
// returns not_found (domain.ErrTokenNotFound) when no token was issued
// under hash, and invalid_transition (domain.ErrTokenRevoked) when the
// token was already revoked. Whoever may revoke which token is the
// caller's decision: the command records m's actor as the one who revoked
// it.
func (s *Service) RevokeToken(ctx context.Context, m Meta, hash string) (Result, error) {
	if hash == "" {
		return Result{}, domain.ErrTokenNotFound
	}
	_, res, err := Execute(ctx, s.h, domain.TokenStream(hash), newToken, m, func(t *domain.Token, _ time.Time) ([]domain.Event, error) {
		return t.Revoke()
	})
	// Whatever the outcome, the cache must not outlive what the stream
	// now says (an append whose answer was lost may still have landed).
	s.tokens.invalidate(hash)
	return res, err
}
