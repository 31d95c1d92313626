package http

import (
	"context"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// StartSession issues the web UI's session token for a sign-in with token:
// a new token of the same role and tenant, recorded (token.issued) with
// token's holder as actor, so the log tells whose sign-in it was and the
// pasted token itself never sits in a browser cookie. ok is false when token
// is not valid.
func (s *Server) StartSession(ctx context.Context, token string) (session string, holder Identity, ok bool, err error) {
	holder, ok, err = s.Identify(ctx, token)
	if err != nil || !ok {
		return "", Identity{}, ok, err
	}
	session, hash := NewToken()
	if _, err := s.cfg.Commands.IssueToken(ctx, command.Meta{Actor: holder}, s.cfg.NewID(), hash, holder.Role, holder.Tenant); err != nil {
		return "", Identity{}, false, fmt.Errorf("start session: issue token: %w", err)
	}
	return session, holder, true, nil
}

// EndSession revokes a session token at sign-out, with its holder as actor.
// A session that no longer authenticates (revoked, or never issued) has
// ended already.
func (s *Server) EndSession(ctx context.Context, session string) error {
	holder, ok, err := s.Identify(ctx, session)
	if err != nil {
		return fmt.Errorf("end session: identify token: %w", err)
	}
	if !ok {
		return nil
	}
	if _, err := s.cfg.Commands.RevokeToken(ctx, command.Meta{Actor: holder}, HashToken(session)); err != nil && !errors.Is(err, domain.ErrTokenRevoked) {
		return fmt.Errorf("end session: revoke token %s: %w", holder.Subject, err)
	}
	return nil
}
