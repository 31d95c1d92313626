package http

import (
	"context"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// createTemplateRequest is the body of POST /v1/templates.
type createTemplateRequest struct {
	Name string `json:"name"`
}

// handleTemplateCreate creates an empty template.
func (s *Server) handleTemplateCreate(w http.ResponseWriter, r *http.Request) {
	var req createTemplateRequest
	if err := decode(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	t, res, err := s.cfg.Commands.CreateTemplate(r.Context(), createMeta(r), req.Name)
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
	serveOne(s, w, r, domain.ErrTemplateNotFound,
		func(ctx context.Context, tenant, id string) (domain.TemplateRecord, error) {
			return s.cfg.Queries.Template(ctx, domain.ResellerID(tenant), domain.TemplateID(id))
		},
		func(t domain.TemplateRecord) uint64 { return t.Version }, templateFromRecord)
}

// handleTemplateArchive archives a template: 204.
func (s *Server) handleTemplateArchive(w http.ResponseWriter, r *http.Request) {
	id, err := s.templatePath(w, r, &struct{}{})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	_, res, err := s.cfg.Commands.ArchiveTemplate(r.Context(), meta(r), id)
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
	var req addItemRequest
	id, err := s.templatePath(w, r, &req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
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
	var req setItemModeRequest
	id, item, err := s.templateItemPath(w, r, &req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	t, res, err := s.cfg.Commands.SetTemplateItemMode(r.Context(), meta(r), id, item, domain.LicenseMode(req.LicenseMode))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, templateFromDomain(t, res.Version))
}

// handleTemplateItemRemove removes an item from a template.
func (s *Server) handleTemplateItemRemove(w http.ResponseWriter, r *http.Request) {
	id, item, err := s.templateItemPath(w, r, &struct{}{})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	t, res, err := s.cfg.Commands.RemoveTemplateItem(r.Context(), meta(r), id, item)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, templateFromDomain(t, res.Version))
}

// templatePath decodes the body into req and reads the template id of the
// path, in the contract's order: a body that is too large or malformed
// first, then a template that is not the reseller's (404), then a body of
// wrong types (422).
func (s *Server) templatePath(w http.ResponseWriter, r *http.Request, req any) (domain.TemplateID, error) {
	derr := decode(w, r, req)
	if derr != nil && !isCode(derr, domain.EINVALID) {
		return "", derr
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		return "", domain.ErrTemplateNotFound
	}
	if derr != nil {
		if _, _, err := s.cfg.Commands.Template(r.Context(), meta(r), domain.TemplateID(id)); err != nil {
			return "", err
		}
	}
	return domain.TemplateID(id), derr
}

// templateItemPath is templatePath for routes that also name an item.
func (s *Server) templateItemPath(w http.ResponseWriter, r *http.Request, req any) (domain.TemplateID, domain.ItemID, error) {
	derr := decode(w, r, req)
	if derr != nil && !isCode(derr, domain.EINVALID) {
		return "", "", derr
	}
	id, item := chi.URLParam(r, "id"), chi.URLParam(r, "item_id")
	if !validID(id) {
		return "", "", domain.ErrTemplateNotFound
	}
	if !validID(item) {
		return "", "", domain.ErrTemplateItemNotFound
	}
	if derr != nil {
		t, _, err := s.cfg.Commands.Template(r.Context(), meta(r), domain.TemplateID(id))
		if err != nil {
			return "", "", err
		}
		if !slices.ContainsFunc(t.Items(), func(it domain.Item) bool { return it.ID == domain.ItemID(item) }) {
			return "", "", domain.ErrTemplateItemNotFound
		}
	}
	return domain.TemplateID(id), domain.ItemID(item), derr
}
