package domain

import (
	"strings"
	"time"
)

// TokenIssued records an API token. Only a hash of the token is recorded:
// the token itself is shown once to whoever created it.
type TokenIssued struct {
	TokenID string `json:"token_id"`
	Hash    string `json:"hash"`
	Role    Role   `json:"role"`
	Tenant  string `json:"tenant"`
	// Name is the holder's display name, recorded as actor.name of what
	// the token does; empty when none was given.
	Name string `json:"name,omitempty"`
	// Parent is the hash of the token this one derives from (a web UI
	// session derives from the token that signed in): it authenticates
	// only while its parent does, so revoking the parent revokes it.
	Parent string `json:"parent,omitempty"`
	// Depth counts the parents above the token (0 for none).
	Depth int `json:"depth,omitempty"`
	// ExpiresAt is when the token stops authenticating; nil for never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// IdleSeconds, when set, makes the expiry slide: use pushes it to
	// IdleSeconds after the use (token.extended), so the token expires
	// after that long unused.
	IdleSeconds int64 `json:"idle_seconds,omitempty"`
}

func (TokenIssued) EventType() string { return TypeTokenIssued }

// TokenRevoked records that an issued token no longer authenticates anyone.
// It is recorded in the token's own stream, which is named by the token's
// hash, so the event needs to carry only the id.
type TokenRevoked struct {
	TokenID string `json:"token_id"`
}

func (TokenRevoked) EventType() string { return TypeTokenRevoked }

// TokenExtended records that a token with a sliding expiry was used, and
// when it now expires.
type TokenExtended struct {
	TokenID   string    `json:"token_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (TokenExtended) EventType() string { return TypeTokenExtended }

// Type names of the token's events.
const (
	TypeTokenIssued   = "token.issued"
	TypeTokenRevoked  = "token.revoked"
	TypeTokenExtended = "token.extended"
)

// Limits of tokens.
const (
	// MaxTokenTTL bounds ttl_seconds: ten years.
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
	// MaxTokenDepth bounds how many derivations a token may sit below an
	// issued one: a session begun with a session begun with a token is 2.
	MaxTokenDepth = 4
)

// Rules of the token's life: issued once, revoked at most once, never
// reissued under the same hash; derived only from a valid token.
var (
	ErrTokenExists    = Errorf(ECONFLICT, "token already issued")
	ErrTokenNotFound  = Errorf(ENOTFOUND, "token not found")
	ErrTokenRevoked   = Errorf(ECONFLICT, "token is already revoked")
	ErrTokenNotValid  = Errorf(EUNAUTHENTICATED, "the token is revoked or expired")
	ErrTokenTooDeep   = Errorf(EFORBIDDEN, "a token derived this many times over may not derive another; sign in with an issued token")
	ErrTokenNoSliding = Errorf(ECONFLICT, "the token has no sliding expiry")
)

// TokenSpec describes a token to issue.
type TokenSpec struct {
	ID, Hash string
	Role     Role
	Tenant   string
	// Name is the holder's display name (at most MaxNameLen characters;
	// optional).
	Name string
	// TTL, when positive, is how long the token lives from its issue.
	TTL time.Duration
	// Idle, when positive, makes the expiry slide: the token expires Idle
	// after its last use (see Token.Extend).
	Idle time.Duration
}

// IssueToken records a token of spec.Role for spec.Tenant at now. A
// reseller or auditor token names a reseller (an auditor may name "*",
// every reseller); a customer token names a customer; an operator token
// names no tenant. Whether the tenant exists is checked by the caller,
// which can see the other aggregates.
func IssueToken(spec TokenSpec, now time.Time) ([]Event, error) {
	if _, err := ParseRole(string(spec.Role)); err != nil {
		return nil, err
	}
	switch {
	case spec.Role == RoleOperator && spec.Tenant != "":
		return nil, Invalid("tenant", "an operator token has no tenant")
	case spec.Role != RoleOperator && spec.Tenant == "":
		return nil, Invalid("tenant", "tenant is required")
	case spec.Tenant == "*" && spec.Role != RoleAuditor:
		return nil, Invalid("tenant", "only an auditor token may name every tenant")
	}
	if spec.Hash == "" {
		return nil, Invalid("token", "token hash is required")
	}
	name := strings.TrimSpace(spec.Name)
	if err := CheckText("name", name, SingleLine, MaxNameLen); err != nil {
		return nil, err
	}
	if spec.TTL < 0 || spec.TTL > MaxTokenTTL {
		return nil, Invalid("ttl_seconds", "ttl_seconds must be between 1 and %d", int64(MaxTokenTTL/time.Second))
	}
	if spec.Idle < 0 || spec.Idle > MaxTokenTTL {
		return nil, Invalid("idle", "the idle timeout must be positive and at most ten years")
	}
	ev := &TokenIssued{TokenID: spec.ID, Hash: spec.Hash, Role: spec.Role, Tenant: spec.Tenant, Name: name}
	switch {
	case spec.Idle > 0:
		ev.ExpiresAt, ev.IdleSeconds = ptrTime(now.Add(spec.Idle)), int64(spec.Idle/time.Second)
		if spec.TTL > 0 && spec.TTL < spec.Idle {
			ev.ExpiresAt = ptrTime(now.Add(spec.TTL))
		}
	case spec.TTL > 0:
		ev.ExpiresAt = ptrTime(now.Add(spec.TTL))
	}
	return []Event{ev}, nil
}

func ptrTime(t time.Time) *time.Time { return &t }

// Token is one API token as its stream records it. The zero value is a
// token that was never issued.
type Token struct {
	id        string
	hash      string
	role      Role
	tenant    string
	name      string
	parent    string
	depth     int
	expiresAt *time.Time
	idle      time.Duration
	revoked   bool
}

// Exists reports whether the token was issued (revoked or not).
func (t *Token) Exists() bool { return t.hash != "" }

// ID returns the token's id: the subject of everything done with it.
func (t *Token) ID() string { return t.id }

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return t.revoked }

// Parent returns the hash of the token this one derives from, "" for none.
func (t *Token) Parent() string { return t.parent }

// ExpiresAt returns when the token expires, nil for never.
func (t *Token) ExpiresAt() *time.Time { return cloneTime(t.expiresAt) }

// Name returns the holder's display name, "" for none.
func (t *Token) Name() string { return t.name }

// Valid reports whether the token by itself authenticates at now: issued,
// not revoked, not expired. A derived token also needs its parent to be
// valid, which the caller checks (it can load the parent's stream).
func (t *Token) Valid(now time.Time) bool {
	return t.Exists() && !t.revoked && (t.expiresAt == nil || now.Before(*t.expiresAt))
}

// Actor returns who acts with the token: its role, its tenant, its id as
// subject and its name. It says nothing of whether the token is still valid.
func (t *Token) Actor() Actor {
	return Actor{Role: t.role, Tenant: t.tenant, Subject: t.id, Name: t.name}
}

// Issue records the token, as IssueToken does, unless it was already issued
// (ErrTokenExists): a hash names one token for good, so a revoked token
// cannot be brought back to life by issuing it again.
func (t *Token) Issue(spec TokenSpec, now time.Time) ([]Event, error) {
	if t.Exists() {
		return nil, ErrTokenExists
	}
	return IssueToken(spec, now)
}

// Derive records a token derived from t (a web UI session begun with t):
// of t's role and tenant, with t's name unless spec names another, t as
// parent, and expiring no later than t. t must be valid at now
// (ErrTokenNotValid), and no deeper than MaxTokenDepth allows
// (ErrTokenTooDeep). spec's Role and Tenant are ignored. Whether t's own
// parents are valid is the caller's to check, as for Valid.
func (t *Token) Derive(spec TokenSpec, now time.Time) ([]Event, error) {
	if !t.Valid(now) {
		return nil, ErrTokenNotValid
	}
	if t.depth+1 > MaxTokenDepth {
		return nil, ErrTokenTooDeep
	}
	spec.Role, spec.Tenant = t.role, t.tenant
	if strings.TrimSpace(spec.Name) == "" {
		spec.Name = t.name
	}
	evs, err := IssueToken(spec, now)
	if err != nil {
		return nil, err
	}
	ev := evs[0].(*TokenIssued)
	ev.Parent, ev.Depth = t.hash, t.depth+1
	if t.expiresAt != nil && (ev.ExpiresAt == nil || t.expiresAt.Before(*ev.ExpiresAt)) {
		ev.ExpiresAt = cloneTime(t.expiresAt)
	}
	return evs, nil
}

// Extend slides the expiry of a token with an idle timeout after a use at
// now: it records token.extended once at least half of the idle window has
// passed since the expiry was last set, so a token in steady use writes an
// event at most twice per window. A token without sliding expiry is
// ErrTokenNoSliding; one that is no longer valid ErrTokenNotValid; one
// not yet due records nothing.
func (t *Token) Extend(now time.Time) ([]Event, error) {
	switch {
	case t.idle <= 0:
		return nil, ErrTokenNoSliding
	case !t.Valid(now):
		return nil, ErrTokenNotValid
	case t.expiresAt.Sub(now) > t.idle/2:
		return nil, nil
	}
	return []Event{&TokenExtended{TokenID: t.id, ExpiresAt: now.Add(t.idle)}}, nil
}

// ExtendDue reports whether Extend at now would record an event, so that
// a caller can skip the command on the common path.
func (t *Token) ExtendDue(now time.Time) bool {
	return t.idle > 0 && t.Valid(now) && t.expiresAt.Sub(now) <= t.idle/2
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
		t.id, t.hash, t.role, t.tenant, t.name = ev.TokenID, ev.Hash, ev.Role, ev.Tenant, ev.Name
		t.parent, t.depth, t.expiresAt = ev.Parent, ev.Depth, cloneTime(ev.ExpiresAt)
		t.idle = time.Duration(ev.IdleSeconds) * time.Second
	case *TokenExtended:
		t.expiresAt = cloneTime(&ev.ExpiresAt)
	case *TokenRevoked:
		t.revoked = true
	}
}
