package http

import (
	"context"
	"errors"
	"fmt"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// StartSession issues the web UI's session token for a sign-in with token:
// a token derived from it (token.issued with token's hash as parent), of
// the same role, tenant and name, recorded with token's holder as actor, so
// the log tells whose sign-in it was and the pasted token itself never sits
// in a browser cookie. The session expires after Config.SessionIdle unused
// (each use slides it), never later than token, and ends when token is
// revoked. ok is false when token is not valid.
func (s *Server) StartSession(ctx context.Context, token string) (session string, holder Identity, ok bool, err error) {
	holder, ok, err = s.Identify(ctx, token)
	if err != nil || !ok {
		return "", Identity{}, ok, err
	}
	session, hash := NewToken()
	spec := domain.TokenSpec{ID: s.cfg.NewID(), Hash: hash, Idle: s.cfg.SessionIdle}
	actor, _, err := s.cfg.Commands.DeriveToken(ctx, command.Meta{Actor: holder}, HashToken(token), spec)
	switch {
	case isCode(err, domain.EUNAUTHENTICATED):
		// Revoked or expired since the look-up, or the operator token,
		// which has no stream to derive from.
		return "", Identity{}, false, nil
	case err != nil:
		return "", Identity{}, false, fmt.Errorf("start session: derive token: %w", err)
	}
	return session, actor, true, nil
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
