package http

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// Campaigns is the campaigns' side of the API; *command.Service and
// *projections.DB satisfy its parts.
type (
	// CampaignCommands starts campaigns: validation_failed naming the first
	// refused customer id, or the template, message or expiry.
	CampaignCommands interface {
		StartCampaign(ctx context.Context, m command.Meta, template domain.TemplateID, customers []domain.CustomerID, message string, expiresAt *time.Time) (*domain.Campaign, command.Result, error)
	}
	// CampaignQueries reads campaigns and reports from the read models,
	// only from the reseller given.
	CampaignQueries interface {
		// Campaigns lists a reseller's campaigns newest first, with counts.
		Campaigns(ctx context.Context, reseller domain.ResellerID, page domain.PageRequest) (domain.Page[domain.CampaignRecord], error)
		// Campaign returns one campaign of reseller with its offers and
		// counts, or not_found.
		Campaign(ctx context.Context, reseller domain.ResellerID, id domain.CampaignID) (domain.CampaignRecord, error)
		// OfferReport counts a reseller's offers as filter says.
		OfferReport(ctx context.Context, filter domain.ReportFilter) ([]domain.ReportGroup, error)
	}
)

// createCampaignRequest is the body of POST /v1/campaigns.
type createCampaignRequest struct {
	TemplateID  string   `json:"template_id"`
	CustomerIDs []string `json:"customer_ids"`
	Message     string   `json:"message"`
	ExpiresAt   *string  `json:"expires_at"`

	expiresAt *time.Time
	customers []domain.CustomerID
}

func (q *createCampaignRequest) check() (err error) {
	if q.expiresAt, err = optionalTime("expires_at", q.ExpiresAt); err != nil {
		return err
	}
	q.customers = make([]domain.CustomerID, len(q.CustomerIDs))
	for i, id := range q.CustomerIDs {
		q.customers[i] = domain.CustomerID(id)
	}
	if len(q.customers) <= domain.MaxCampaignCustomers {
		// An id that no customer can have is refused here, before the
		// command reads any stream by it; the domain names the rest.
		for _, id := range q.CustomerIDs {
			if !validID(id) {
				return domain.Invalid("customer_ids", "customer_ids: %q is not a customer of this reseller", truncateRunes(id, 100))
			}
		}
	}
	return nil
}

// campaignJSON is a campaign as the API shows it. Offers is left out of
// lists.
type campaignJSON struct {
	ID         domain.CampaignID          `json:"id"`
	TemplateID domain.TemplateID          `json:"template_id"`
	Message    string                     `json:"message"`
	ExpiresAt  *time.Time                 `json:"expires_at"`
	CreatedAt  time.Time                  `json:"created_at"`
	OfferCount int                        `json:"offer_count"`
	Offers     []campaignOfferJSON        `json:"offers,omitempty"`
	Counts     map[domain.OfferStatus]int `json:"counts,omitempty"`
	Version    uint64                     `json:"version"`
}

type campaignOfferJSON struct {
	CustomerID domain.CustomerID `json:"customer_id"`
	OfferID    domain.OfferID    `json:"offer_id"`
}

func campaignOffersJSON(in []domain.CampaignOffer) []campaignOfferJSON {
	out := make([]campaignOfferJSON, len(in))
	for i, o := range in {
		out[i] = campaignOfferJSON(o)
	}
	return out
}

func campaignFromRecord(c domain.CampaignRecord) campaignJSON {
	j := campaignJSON{ID: c.ID, TemplateID: c.TemplateID, Message: c.Message, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt,
		OfferCount: c.OfferCount, Counts: offerCounts(c.Counts), Version: c.Version}
	if c.Offers != nil {
		j.Offers = campaignOffersJSON(c.Offers)
	}
	return j
}

// handleCampaignCreate starts a campaign: one offer of a template to each
// customer named, all or none. 202: the offers are created and delivered
// in the background, under the ids the answer lists.
func (s *Server) handleCampaignCreate(w http.ResponseWriter, r *http.Request) {
	req := body[createCampaignRequest](r)
	c, res, err := s.cfg.Commands.StartCampaign(r.Context(), createMeta(r), domain.TemplateID(req.TemplateID), req.customers, req.Message, req.expiresAt)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	st := c.Started()
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/campaigns/"+string(c.ID()))
	writeJSON(w, http.StatusAccepted, campaignJSON{ID: c.ID(), TemplateID: st.TemplateID, Message: st.Message, ExpiresAt: st.ExpiresAt,
		CreatedAt: st.At, OfferCount: len(st.Offers), Offers: campaignOffersJSON(st.Offers), Version: res.Version})
}

// handleCampaignList lists the reseller's campaigns, newest first.
func (s *Server) handleCampaignList(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := s.cfg.Queries.Campaigns(r.Context(), domain.ResellerID(identity(r).Tenant), page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, campaignFromRecord))
}

// handleCampaignGet returns a campaign of the reseller with its offers and
// their counts by status, from the read models.
func (s *Server) handleCampaignGet(w http.ResponseWriter, r *http.Request) {
	serveResource(s, w, r, func(c domain.CampaignRecord) uint64 { return c.Version }, campaignFromRecord)
}

// campaignPath is the campaign of the reseller that a path names.
var campaignPath = &pathResource{
	params: []pathID{{"id", domain.ErrCampaignNotFound}},
	find: func(s *Server, r *http.Request) (any, error) {
		return s.cfg.Queries.Campaign(r.Context(), domain.ResellerID(identity(r).Tenant), domain.CampaignID(chi.URLParam(r, "id")))
	},
}

// truncateRunes cuts s to at most n code points, for quoting a client's
// value in an error.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
