package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// Role sets of the contract's table.
var (
	operatorOnly    = []domain.Role{domain.RoleOperator}
	resellerOnly    = []domain.Role{domain.RoleReseller}
	customerOnly    = []domain.Role{domain.RoleCustomer}
	auditorOnly     = []domain.Role{domain.RoleAuditor}
	offerReaders    = []domain.Role{domain.RoleReseller, domain.RoleAuditor}
	historyReaders  = []domain.Role{domain.RoleReseller, domain.RoleCustomer, domain.RoleAuditor}
	streamListeners = []domain.Role{domain.RoleReseller, domain.RoleCustomer}
	everyRole       = []domain.Role{domain.RoleOperator, domain.RoleReseller, domain.RoleCustomer, domain.RoleAuditor}
	customerErasers = []domain.Role{domain.RoleReseller, domain.RoleOperator}
)

// uiRoutes are the web UI's routes, served by Config.UI.
var uiRoutes = [][2]string{
	{"GET", "/"}, {"GET", "/app"}, {"GET", "/assets/{name}"},
	{"GET", "/session"}, {"POST", "/session"}, {"POST", "/session/logout"},
}

// route is one endpoint of the API.
type route struct {
	method  string
	pattern string // under /v1
	roles   []domain.Role
	// command names the command the route runs, for the latency metric;
	// empty for queries.
	command string
	// body is the request body type of a command: serveRoute decodes every
	// command's body into a new value of it, which the handler reads with
	// body[T]; every command honours Idempotency-Key, and the body's fields
	// decide which bodies are malformed before the key is looked at. nil for
	// queries and for commands without a body.
	body any
	// path declares the resource the path names, nil when it names none:
	// its ids are checked once the body is read (404), and it is looked up
	// when a failure the contract answers after it is pending (precede).
	path    *pathResource
	handler http.HandlerFunc
}

// apiRoutes lists every authenticated endpoint: the one place where routes,
// roles and handlers meet.
func (s *Server) apiRoutes() []route {
	return []route{
		{"POST", "/resellers", operatorOnly, "reseller_create", createResellerRequest{}, nil, s.handleResellerCreate},
		{"POST", "/tokens", operatorOnly, "token_create", createTokenRequest{}, nil, s.handleTokenCreate},
		{"POST", "/tokens/revoke", operatorOnly, "token_revoke", revokeTokenRequest{}, nil, s.handleTokenRevoke},
		{"DELETE", "/tokens/self", everyRole, "token_revoke_self", nil, nil, s.handleTokenRevokeSelf},

		{"POST", "/products", resellerOnly, "product_create", createProductRequest{}, nil, s.handleProductCreate},
		{"GET", "/products", resellerOnly, "", nil, nil, s.handleProductList},
		{"GET", "/products/{id}", resellerOnly, "", nil, productPath, s.handleProductGet},

		{"POST", "/templates", resellerOnly, "template_create", createTemplateRequest{}, nil, s.handleTemplateCreate},
		{"GET", "/templates", resellerOnly, "", nil, nil, s.handleTemplateList},
		{"GET", "/templates/{id}", resellerOnly, "", nil, templateRecordPath, s.handleTemplateGet},
		{"DELETE", "/templates/{id}", resellerOnly, "template_archive", nil, templatePath, s.handleTemplateArchive},
		{"POST", "/templates/{id}/items", resellerOnly, "template_item_add", addItemRequest{}, templatePath, s.handleTemplateItemAdd},
		{"PATCH", "/templates/{id}/items/{item_id}", resellerOnly, "template_item_mode", setItemModeRequest{}, templateItemPath, s.handleTemplateItemMode},
		{"DELETE", "/templates/{id}/items/{item_id}", resellerOnly, "template_item_remove", nil, templateItemPath, s.handleTemplateItemRemove},

		{"POST", "/customers", resellerOnly, "customer_create", createCustomerRequest{}, nil, s.handleCustomerCreate},
		{"GET", "/customers", resellerOnly, "", nil, nil, s.handleCustomerList},
		{"GET", "/customers/{id}", resellerOnly, "", nil, customerRecordPath, s.handleCustomerGet},
		{"POST", "/customers/{id}/erase", customerErasers, "customer_erase", nil, erasablePath, s.handleCustomerErase},
		{"POST", "/customers/{id}/offers", resellerOnly, "offer_create", createOfferRequest{}, customerPath, s.handleOfferCreate},

		{"POST", "/campaigns", resellerOnly, "campaign_create", createCampaignRequest{}, nil, s.handleCampaignCreate},
		{"GET", "/campaigns", resellerOnly, "", nil, nil, s.handleCampaignList},
		{"GET", "/campaigns/{id}", resellerOnly, "", nil, campaignPath, s.handleCampaignGet},
		{"GET", "/reports/offers", resellerOnly, "", nil, nil, s.handleOfferReport},
		{"GET", "/reports/offers/charts/{chart}", resellerOnly, "", nil, nil, s.handleOfferChart},

		{"GET", "/offers", offerReaders, "", nil, nil, s.handleOfferList},
		{"GET", "/offers/{id}", offerReaders, "", nil, offerPath("id"), s.handleOfferGet},
		{"POST", "/offers/{id}/withdraw", resellerOnly, "offer_withdraw", nil, offerPath("id"), s.handleOfferWithdraw},
		{"POST", "/offers/{id}/redeliver", resellerOnly, "offer_redeliver", nil, offerPath("id"), s.handleOfferRedeliver},
		{"POST", "/offers/{id}/revise", resellerOnly, "offer_revise", reviseOfferRequest{}, offerPath("id"), s.handleOfferRevise},
		{"GET", "/offers/{id}/history", historyReaders, "", nil, historyPath, s.handleOfferHistory},
		{"GET", "/audit/events", historyReaders, "", nil, nil, s.handleAuditEvents},
		{"GET", "/offers/{id}/proof", historyReaders, "", nil, proofPath, s.handleOfferProof},
		{"GET", "/audit/head", auditorOnly, "", nil, nil, s.handleAuditHead},
		{"GET", "/audit/key", everyRole, "", nil, nil, s.handleAuditKey},
		{"GET", "/audit/consistency", auditorOnly, "", nil, nil, s.handleAuditConsistency},

		{"GET", "/inbox", customerOnly, "", nil, nil, s.handleInboxList},
		{"GET", "/inbox/badge", customerOnly, "", nil, nil, s.handleInboxBadge},
		{"POST", "/inbox/{offer_id}/read", customerOnly, "offer_read", nil, offerPath("offer_id"), s.handleInboxRead},
		{"POST", "/inbox/{offer_id}/accept", customerOnly, "offer_accept", nil, offerPath("offer_id"), s.handleInboxAccept},
		{"POST", "/inbox/{offer_id}/reject", customerOnly, "offer_reject", rejectRequest{}, offerPath("offer_id"), s.handleInboxReject},
		{"GET", "/licenses", customerOnly, "", nil, nil, s.handleLicenseList},
		{"PUT", "/webhook", customerOnly, "webhook_set", setWebhookRequest{}, nil, s.handleWebhookSet},
		{"GET", "/webhook", customerOnly, "", nil, nil, s.handleWebhookGet},
		{"DELETE", "/webhook", customerOnly, "webhook_remove", nil, nil, s.handleWebhookDelete},

		{"GET", "/stream", streamListeners, "", nil, nil, s.handleStream},
	}
}

// routes builds the router. Middleware order follows the contract's order
// of checks: authentication (401), then the role (403), then serveRoute:
// the body (413, 400), the path's ids (404), then the handler. A failure
// ranked after 404 that is found before the path's resource was looked up
// waits for that look-up (see precede in precedence.go).
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.observe, s.recoverPanic, s.bodyDeadline, s.limitAddress)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, domain.Errorf(domain.ENOTFOUND, "no such endpoint"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// RFC 9110 requires a 405 to say which methods the resource takes.
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if r.Match(chi.NewRouteContext(), m, req.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.Error(w, req, errorf(EMETHODNOTALLOWED, "the endpoint does not take %s", req.Method))
	})

	if s.cfg.UI != nil {
		for _, rt := range uiRoutes {
			r.Method(rt[0], rt[1], s.cfg.UI)
		}
	}
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Method("GET", "/metrics", s.metrics.Handler())

	r.Route("/v1", func(r chi.Router) {
		r.Get("/openapi.json", s.handleOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate, s.limitToken)
			for _, rt := range s.apiRoutes() {
				h := s.serveRoute(rt)
				if rt.command != "" {
					body := rt.body
					if body == nil {
						body = struct{}{}
					}
					h = s.timeCommand(rt.command, s.shed(s.idempotent(body)(h)))
				}
				h = declarePath(rt)(h)
				h = s.allow(rt.roles...)(h)
				r.Method(rt.method, rt.pattern, h)
			}
		})
	})
	return r
}

// handleHealthz answers 200 while the process runs.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 once the injected readiness check passes:
// "ready", or "degraded" with the count while the read models have parked
// events. Degraded stays 200: every query answers, only without the parked
// events, and taking the node out of service would not mend them.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			s.Error(w, r, errorf(EUNAVAILABLE, "not ready"))
			return
		}
	}
	if s.cfg.ParkedEvents != nil {
		n, err := s.cfg.ParkedEvents(ctx)
		if err != nil {
			s.logger.ErrorContext(ctx, "readiness: cannot count parked events", "err", err)
			s.Error(w, r, errorf(EUNAVAILABLE, "not ready"))
			return
		}
		if n > 0 {
			writeJSON(w, http.StatusOK, map[string]any{"status": "degraded", "parked_events": n})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
