package http

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// createTemplateRequest is the body of POST /v1/templates.
type createTemplateRequest struct {
	Name string `json:"name"`
}

// handleTemplateCreate creates an empty template.
func (s *Server) handleTemplateCreate(w http.ResponseWriter, r *http.Request) {
	t, res, err := s.cfg.Commands.CreateTemplate(r.Context(), createMeta(r), body[createTemplateRequest](r).Name)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/templates/"+string(t.ID()))
	writeJSON(w, http.StatusCreated, templateFromDomain(t, res.Version))
}

// handleTemplateList lists the reseller's templates by name; archived ones
// only with ?include_archived=true.
func (s *Server) handleTemplateList(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var archived bool
	switch r.URL.Query().Get("include_archived") {
	case "", "false":
	case "true":
		archived = true
	default:
		s.Error(w, r, domain.Invalid("include_archived", "include_archived must be true or false"))
		return
	}
	p, err := s.cfg.Queries.Templates(r.Context(), domain.ResellerID(identity(r).Tenant), archived, page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, templateFromRecord))
}

// handleTemplateGet returns one template, archived or not.
func (s *Server) handleTemplateGet(w http.ResponseWriter, r *http.Request) {
	serveResource(s, w, r, func(t domain.TemplateRecord) uint64 { return t.Version }, templateFromRecord)
}

// templateRecordPath is the template of the reseller that a path names, as
// the read models have it.
var templateRecordPath = &pathResource{
	params: []pathID{{"id", domain.ErrTemplateNotFound}},
	find: func(s *Server, r *http.Request) (any, error) {
		return s.cfg.Queries.Template(r.Context(), domain.ResellerID(identity(r).Tenant), domain.TemplateID(chi.URLParam(r, "id")))
	},
}

// templatePath is the template of the reseller that a command's path names.
var templatePath = &pathResource{
	params: templateRecordPath.params,
	find: func(s *Server, r *http.Request) (any, error) {
		t, _, err := s.cfg.Commands.Template(r.Context(), meta(r), domain.TemplateID(chi.URLParam(r, "id")))
		return t, err
	},
}

// templateItemPath is an item of a template of the reseller that a
// command's path names.
var templateItemPath = &pathResource{
	params: append(slices.Clip(templatePath.params), pathID{"item_id", domain.ErrTemplateItemNotFound}),
	find: func(s *Server, r *http.Request) (any, error) {
		t, err := templatePath.find(s, r)
		if err != nil {
			return nil, err
		}
		item := domain.ItemID(chi.URLParam(r, "item_id"))
		if !slices.ContainsFunc(t.(*domain.Template).Items(), func(it domain.Item) bool { return it.ID == item }) {
			return nil, domain.ErrTemplateItemNotFound
		}
		return t, nil
	},
}

// templateID and itemID are the ids of a template command's path.
func templateID(r *http.Request) domain.TemplateID { return domain.TemplateID(chi.URLParam(r, "id")) }
func itemID(r *http.Request) domain.ItemID         { return domain.ItemID(chi.URLParam(r, "item_id")) }

// handleTemplateArchive archives a template: 204.
func (s *Server) handleTemplateArchive(w http.ResponseWriter, r *http.Request) {
	_, res, err := s.cfg.Commands.ArchiveTemplate(r.Context(), meta(r), templateID(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.WriteHeader(http.StatusNoContent)
}

// addItemRequest is the body of POST /v1/templates/{id}/items.
type addItemRequest struct {
	ProductID   string `json:"product_id"`
	TermMonths  int    `json:"term_months"`
	LicenseMode string `json:"license_mode"`
	Seats       *int   `json:"seats"`
}

// handleTemplateItemAdd adds a product to a template and answers the whole
// template, 201.
func (s *Server) handleTemplateItemAdd(w http.ResponseWriter, r *http.Request) {
	req, id := body[addItemRequest](r), templateID(r)
	mode := domain.LicenseMode(req.LicenseMode)
	if mode == "" {
		mode = domain.ModeAbsolute
	}
	t, item, res, err := s.cfg.Commands.AddTemplateItem(r.Context(), meta(r), id, domain.ProductID(req.ProductID), req.TermMonths, mode, req.Seats)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/templates/"+string(id)+"/items/"+string(item))
	writeJSON(w, http.StatusCreated, templateFromDomain(t, res.Version))
}

// setItemModeRequest is the body of PATCH /v1/templates/{id}/items/{item_id}.
type setItemModeRequest struct {
	LicenseMode string `json:"license_mode"`
}

// handleTemplateItemMode toggles an item's license mode.
func (s *Server) handleTemplateItemMode(w http.ResponseWriter, r *http.Request) {
	mode := domain.LicenseMode(body[setItemModeRequest](r).LicenseMode)
	t, res, err := s.cfg.Commands.SetTemplateItemMode(r.Context(), meta(r), templateID(r), itemID(r), mode)
	s.answerTemplate(w, r, t, res, err)
}

// handleTemplateItemRemove removes an item from a template.
func (s *Server) handleTemplateItemRemove(w http.ResponseWriter, r *http.Request) {
	t, res, err := s.cfg.Commands.RemoveTemplateItem(r.Context(), meta(r), templateID(r), itemID(r))
	s.answerTemplate(w, r, t, res, err)
}

// answerTemplate answers a command that changed a template's items: the
// whole template, 200.
func (s *Server) answerTemplate(w http.ResponseWriter, r *http.Request, t *domain.Template, res command.Result, err error) {
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, templateFromDomain(t, res.Version))
}
