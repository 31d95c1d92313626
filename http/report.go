package http

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/http/chart"
)

// reportGroupJSON is one group of GET /v1/reports/offers.
type reportGroupJSON struct {
	Key string `json:"key"`
	// Name is null, and Erased set, for an erased customer's group.
	Name                  *string                    `json:"name"`
	Erased                bool                       `json:"erased,omitempty"`
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
	j := reportGroupJSON{Key: g.Key, Name: erasable(g.Name, g.Erased), Erased: g.Erased, Counts: offerCounts(g.Counts), AcceptanceRate: g.AcceptanceRate,
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

// reportRequest waits for the read models the request asks for and reads
// its range: what the report and its charts both begin with.
func (s *Server) reportRequest(r *http.Request) (domain.ReportFilter, error) {
	if err := s.catchUp(r); err != nil {
		return domain.ReportFilter{}, err
	}
	return reportFilter(r)
}

// handleOfferReport reports the reseller's offers created in a range,
// grouped by template, customer or month, from the reports read model.
func (s *Server) handleOfferReport(w http.ResponseWriter, r *http.Request) {
	f, err := s.reportRequest(r)
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

// statusColors are the dashboard's colours of the offer statuses.
var statusColors = map[domain.OfferStatus]string{
	domain.StatusWaiting: "#9aa4b1", domain.StatusWaitingForConfirmation: "#1d4ed8", domain.StatusAccepted: "#146c2e",
	domain.StatusRejected: "#b42318", domain.StatusWithdrawn: "#59636e", domain.StatusExpired: "#8a4b00",
	domain.StatusDeliveryFailed: "#d97706",
}

// chartText returns the text of key in lang with {n} replaced, from the
// web UI's catalogues (Config.ChartText), or key itself without them.
func (s *Server) chartText(lang, key, n string) string {
	text := key
	if s.cfg.ChartText != nil {
		text = s.cfg.ChartText(lang, key)
	}
	return strings.ReplaceAll(text, "{n}", n)
}

// handleOfferChart draws one chart of the reseller's dashboard as SVG from
// the reports read model: statuses (offers by status per month of
// creation), acceptance (rate per template), decision (median hours to a
// decision per template) or reasons (the most frequent rejection reasons).
// ?from and ?to limit it as they limit the report; ?lang (en or de) is the
// language of its texts.
func (s *Server) handleOfferChart(w http.ResponseWriter, r *http.Request) {
	f, err := s.reportRequest(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	lang := r.URL.Query().Get("lang")
	if lang != "de" {
		lang = "en"
	}
	chartName := chi.URLParam(r, "chart")
	switch chartName {
	case "statuses":
		f.GroupBy = domain.GroupByMonth
	case "acceptance", "decision", "reasons":
		f.GroupBy = domain.GroupByTemplate
	default:
		s.Error(w, r, domain.Errorf(domain.ENOTFOUND, "no such chart"))
		return
	}
	groups, err := s.cfg.Queries.OfferReport(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	title := s.chartText(lang, "dashboard.chart."+chartName, "")
	empty := s.chartText(lang, "dashboard.empty", "")
	decimal := func(v float64, prec int) string {
		t := strconv.FormatFloat(v, 'f', prec, 64)
		if lang == "de" {
			t = strings.Replace(t, ".", ",", 1)
		}
		return t
	}
	var svg []byte
	switch chartName {
	case "statuses":
		var series []chart.Series
		for _, st := range domain.OfferStatuses() {
			series = append(series, chart.Series{Name: s.chartText(lang, "status."+string(st), ""), Color: statusColors[st]})
		}
		stacks := make([]chart.Stack, len(groups))
		for i, g := range groups {
			stacks[i] = chart.Stack{Label: g.Key}
			for _, st := range domain.OfferStatuses() {
				stacks[i].Parts = append(stacks[i].Parts, float64(g.Counts[st]))
			}
		}
		svg = chart.Stacked(title, series, stacks, empty)
	case "acceptance":
		var bars []chart.Bar
		for _, g := range groups {
			if g.AcceptanceRate != nil {
				bars = append(bars, chart.Bar{Label: g.Name, Value: *g.AcceptanceRate, Text: s.chartText(lang, "dashboard.percent", decimal(*g.AcceptanceRate*100, 0))})
			}
		}
		svg = chart.HBars(title, bars, 1, statusColors[domain.StatusAccepted], empty)
	case "decision":
		var bars []chart.Bar
		for _, g := range groups {
			if g.MedianHoursToDecision != nil {
				bars = append(bars, chart.Bar{Label: g.Name, Value: *g.MedianHoursToDecision, Text: s.chartText(lang, "dashboard.hours", decimal(*g.MedianHoursToDecision, 1))})
			}
		}
		svg = chart.HBars(title, bars, 0, statusColors[domain.StatusWaitingForConfirmation], empty)
	case "reasons":
		counts := map[string]int{}
		for _, g := range groups {
			for _, rc := range g.RejectionReasons {
				counts[rc.Reason] += rc.Count
			}
		}
		var bars []chart.Bar
		for reason, n := range counts {
			bars = append(bars, chart.Bar{Label: reason, Value: float64(n), Text: strconv.Itoa(n)})
		}
		sort.Slice(bars, func(i, j int) bool {
			if bars[i].Value != bars[j].Value {
				return bars[i].Value > bars[j].Value
			}
			return bars[i].Label < bars[j].Label
		})
		svg = chart.HBars(title, bars[:min(len(bars), maxChartReasons)], 0, statusColors[domain.StatusRejected], empty)
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Language", lang)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(svg)
}

// maxChartReasons is how many rejection reasons the chart shows.
const maxChartReasons = 6
