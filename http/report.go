package http

import (
	"net/http"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// reportGroupJSON is one group of GET /v1/reports/offers.
type reportGroupJSON struct {
	Key                   string                     `json:"key"`
	Name                  string                     `json:"name"`
	Counts                map[domain.OfferStatus]int `json:"counts"`
	AcceptanceRate        *float64                   `json:"acceptance_rate"`
	MedianHoursToDecision *float64                   `json:"median_hours_to_decision"`
	RejectionReasons      []reasonCountJSON          `json:"rejection_reasons"`
}

type reasonCountJSON struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

func reportGroupFrom(g domain.ReportGroup) reportGroupJSON {
	j := reportGroupJSON{Key: g.Key, Name: g.Name, Counts: offerCounts(g.Counts), AcceptanceRate: g.AcceptanceRate,
		MedianHoursToDecision: g.MedianHoursToDecision, RejectionReasons: make([]reasonCountJSON, len(g.RejectionReasons))}
	for i, rc := range g.RejectionReasons {
		j.RejectionReasons[i] = reasonCountJSON(rc)
	}
	return j
}

// reportFilter reads ?from=, ?to= and ?group_by= of a report: RFC 3339
// times on created_at (from inclusive, to exclusive; either may be left
// out), from not after to, and group_by template (the default), customer
// or month.
func reportFilter(r *http.Request) (domain.ReportFilter, error) {
	q := r.URL.Query()
	f := domain.ReportFilter{Reseller: domain.ResellerID(identity(r).Tenant), GroupBy: domain.GroupByTemplate}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = parseTime("from", v); err != nil {
			return f, err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = parseTime("to", v); err != nil {
			return f, err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return f, domain.Invalid("from", "from must not be after to")
	}
	if v := q.Get("group_by"); v != "" {
		if f.GroupBy, err = domain.ParseReportGroupBy(v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// handleOfferReport reports the reseller's offers created in a range,
// grouped by template, customer or month, from the reports read model.
func (s *Server) handleOfferReport(w http.ResponseWriter, r *http.Request) {
	if err := s.catchUp(r); err != nil {
		s.Error(w, r, err)
		return
	}
	f, err := reportFilter(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	groups, err := s.cfg.Queries.OfferReport(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := struct {
		From  *time.Time        `json:"from"`
		To    *time.Time        `json:"to"`
		Items []reportGroupJSON `json:"items"`
	}{Items: make([]reportGroupJSON, len(groups))}
	if !f.From.IsZero() {
		out.From = &f.From
	}
	if !f.To.IsZero() {
		out.To = &f.To
	}
	for i, g := range groups {
		out.Items[i] = reportGroupFrom(g)
	}
	writeJSON(w, http.StatusOK, out)
}
