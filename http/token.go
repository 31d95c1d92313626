package http

import (
	"errors"
	"net/http"

	"github.com/offerflow/offerflow/domain"
)

// errOperatorTokenFixed answers an attempt to revoke the operator token of
// the command line: it is configuration, not an issued token with a stream,
// so the only way to retire it is to restart with another one. 409, as for
// a token that can no longer be revoked.
var errOperatorTokenFixed = domain.Errorf(domain.ECONFLICT,
	"the operator token is set at start-up (--operator-token) and cannot be revoked; restart the server with another one")

// revokeTokenRequest is the body of POST /v1/tokens/revoke: the token
// itself, or the hex SHA-256 under which it is recorded (as an export of
// the log shows it next to the token's id), not both.
type revokeTokenRequest struct {
	Token     string `json:"token"`
	TokenHash string `json:"token_hash"`
}

// handleTokenRevokeSelf revokes the token the request authenticated with
// (any role; by header or by the web UI's session cookie). It answers 204;
// from then on the token is 401 everywhere.
func (s *Server) handleTokenRevokeSelf(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r)
	s.revokeToken(w, r, HashToken(token), "")
}

// handleTokenRevoke revokes any issued token (operator). A token or hash
// that names no issued token is 422 on the field that named it: the token
// arrives in the body, and the contract answers 404 only for the path.
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	req := body[revokeTokenRequest](r)
	var hash, field string
	switch {
	case req.Token != "" && req.TokenHash != "":
		s.Error(w, r, domain.Invalid("token_hash", "give token or token_hash, not both"))
		return
	case req.Token != "":
		hash, field = HashToken(req.Token), "token"
	case req.TokenHash != "":
		if !isTokenHash(req.TokenHash) {
			s.Error(w, r, domain.Invalid("token_hash", "token_hash must be the 64 lower-case hex digits of the token's SHA-256"))
			return
		}
		hash, field = req.TokenHash, "token_hash"
	default:
		s.Error(w, r, domain.Invalid("token", "token or token_hash is required"))
		return
	}
	s.revokeToken(w, r, hash, field)
}

// revokeToken revokes the token recorded under hash and answers 204. field,
// when set, is the body field that named the token: a token that was never
// issued is then a validation error on it.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, hash, field string) {
	if s.cfg.Sessions.isOperatorHash(hash) {
		s.Error(w, r, errOperatorTokenFixed)
		return
	}
	// A token has no version a client could have seen, so If-Match does
	// not apply.
	m := meta(r)
	m.IfMatch = nil
	res, err := s.cfg.Commands.RevokeToken(r.Context(), m, hash)
	if field != "" && errors.Is(err, domain.ErrTokenNotFound) {
		err = domain.Invalid(field, "%s names no issued token", field)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, false)
	w.WriteHeader(http.StatusNoContent)
}

// isTokenHash reports whether s has the form of HashToken's result.
func isTokenHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
