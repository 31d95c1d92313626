package http

import (
	"net/http"

	"github.com/offerflow/offerflow/domain"
)

// setWebhookRequest is the body of PUT /v1/webhook.
type setWebhookRequest struct {
	URL string `json:"url"`
}

type webhookJSON struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// handleWebhookSet sets where the customer's own system wants new offers
// delivered, with a new signing secret shown only in this response.
func (s *Server) handleWebhookSet(w http.ResponseWriter, r *http.Request) {
	req := body[setWebhookRequest](r)
	c, res, err := s.cfg.Commands.SetWebhook(r.Context(), meta(r), req.URL, s.cfg.AllowInsecureWebhooks)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	url, secret := c.Webhook()
	setCommandHeaders(w, res, true)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, webhookJSON{URL: url, Secret: secret})
}

// handleWebhookGet returns the customer's webhook URL (never the secret), or
// 404 when none is set.
func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) {
	if err := s.catchUp(r); err != nil {
		s.Error(w, r, err)
		return
	}
	c, v, err := s.cfg.Commands.Customer(r.Context(), domain.CustomerID(identity(r).Tenant))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	url, _ := c.Webhook()
	if url == "" {
		s.Error(w, r, domain.ErrWebhookNotSet)
		return
	}
	setETag(w, v)
	writeJSON(w, http.StatusOK, webhookJSON{URL: url})
}

// handleWebhookDelete removes the customer's webhook: 204, or 404 when none
// is set.
func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	_, res, err := s.cfg.Commands.RemoveWebhook(r.Context(), meta(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.WriteHeader(http.StatusNoContent)
}
