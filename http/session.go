package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// SessionCommands are the commands that start and end a web UI session;
// *command.Service satisfies it (and Commands includes it).
type SessionCommands interface {
	DeriveToken(ctx context.Context, m command.Meta, parent string, spec domain.TokenSpec) (domain.Actor, command.Result, error)
	RevokeToken(ctx context.Context, m command.Meta, hash string) (command.Result, error)
}

// SessionsConfig holds the dependencies of Sessions. Tokens and Commands
// are required.
type SessionsConfig struct {
	Tokens   TokenLookup
	Commands SessionCommands
	// OperatorToken is the token of the operator role, given at start-up.
	// Empty means no operator can call the API.
	OperatorToken string
	// Idle is how long a web UI session lasts unused (DefaultSessionIdle):
	// each use slides its expiry, and it never outlives the token it began
	// with.
	Idle time.Duration
	// NewID returns the ids of session tokens; UUIDv7 by default.
	NewID func() string
}

// Sessions tells who holds a token, for the API and the web UI alike:
// bearer tokens, session cookies and the operator token; and it starts and
// ends the web UI's sessions. It is built before both and given to both
// (Config.Sessions, ui.Config.Sessions, which it satisfies), so neither
// needs the other to exist first.
type Sessions struct {
	cfg          SessionsConfig
	operatorHash []byte
}

// NewSessions returns the sessions over cfg's dependencies, or an error
// when one is missing.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	switch {
	case cfg.Tokens == nil:
		return nil, errors.New("sessions config: Tokens is required")
	case cfg.Commands == nil:
		return nil, errors.New("sessions config: Commands is required")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultSessionIdle
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	s := &Sessions{cfg: cfg}
	if cfg.OperatorToken != "" {
		h := sha256.Sum256([]byte(cfg.OperatorToken))
		s.operatorHash = h[:]
	}
	return s, nil
}

// Identify finds who holds token. ok is false for a token that does not
// authenticate (never issued, revoked, expired); err is reserved for
// failures of the look-up itself.
func (s *Sessions) Identify(ctx context.Context, token string) (id Identity, ok bool, err error) {
	id, err = s.identify(ctx, token)
	switch {
	case err == nil:
		return id, true, nil
	case isCode(err, domain.EUNAUTHENTICATED):
		return Identity{}, false, nil
	}
	return Identity{}, false, err
}

var errUnauthenticated = domain.Errorf(domain.EUNAUTHENTICATED, "a valid bearer token is required")

// identify finds who holds token. The operator token is compared in
// constant time over hashes of equal length, so neither its content nor its
// length leaks through timing.
func (s *Sessions) identify(ctx context.Context, token string) (Identity, error) {
	if token == "" || len(token) > maxTokenLen {
		return Identity{}, errUnauthenticated
	}
	hash := sha256.Sum256([]byte(token))
	if s.operatorHash != nil && subtle.ConstantTimeCompare(hash[:], s.operatorHash) == 1 {
		return Identity{Role: domain.RoleOperator, Subject: "operator"}, nil
	}
	if !strings.HasPrefix(token, TokenPrefix) {
		return Identity{}, errUnauthenticated
	}
	actor, ok, err := s.cfg.Tokens.LookupToken(ctx, hex.EncodeToString(hash[:]))
	if err != nil {
		return Identity{}, err
	}
	if !ok {
		return Identity{}, errUnauthenticated
	}
	return actor, nil
}

// isOperatorHash reports whether hash (hex) is that of the operator token
// given at start-up.
func (s *Sessions) isOperatorHash(hash string) bool {
	b, err := hex.DecodeString(hash)
	return err == nil && s.operatorHash != nil && subtle.ConstantTimeCompare(b, s.operatorHash) == 1
}

// Start issues the web UI's session token for a sign-in with token: a
// token derived from it (token.issued with token's hash as parent), of the
// same role, tenant and name, recorded with token's holder as actor, so the
// log tells whose sign-in it was and the pasted token itself never sits in
// a browser cookie. The session expires after SessionsConfig.Idle unused
// (each use slides it), never later than token, and ends when token is
// revoked. ok is false when token is not valid.
func (s *Sessions) Start(ctx context.Context, token string) (session string, holder Identity, ok bool, err error) {
	holder, ok, err = s.Identify(ctx, token)
	if err != nil || !ok {
		return "", Identity{}, ok, err
	}
	session, hash := NewToken()
	spec := domain.TokenSpec{ID: s.cfg.NewID(), Hash: hash, Idle: s.cfg.Idle}
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

// End revokes a session token at sign-out, with its holder as actor. A
// session that no longer authenticates (revoked, or never issued) has
// ended already.
func (s *Sessions) End(ctx context.Context, session string) error {
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
