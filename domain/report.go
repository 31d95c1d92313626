package domain

import "time"

// CampaignRecord is a campaign as the read side shows it, with the counts
// of its offers by status (an offer not created yet counts as waiting).
type CampaignRecord struct {
	ID         CampaignID
	ResellerID ResellerID
	TemplateID TemplateID
	Message    string
	ExpiresAt  *time.Time
	CreatedAt  time.Time
	// Offers lists every offer in the campaign's order; only the single
	// campaign's query fills it, the list leaves it empty.
	Offers     []CampaignOffer
	OfferCount int
	Counts     map[OfferStatus]int
	Version    uint64
}

// ReportGroupBy is what a report groups offers by.
type ReportGroupBy string

// Report groupings.
const (
	GroupByTemplate ReportGroupBy = "template"
	GroupByCustomer ReportGroupBy = "customer"
	GroupByMonth    ReportGroupBy = "month"
)

// ParseReportGroupBy parses group_by given at the edge.
func ParseReportGroupBy(s string) (ReportGroupBy, error) {
	switch g := ReportGroupBy(s); g {
	case GroupByTemplate, GroupByCustomer, GroupByMonth:
		return g, nil
	}
	return "", Invalid("group_by", "group_by must be one of template, customer, month")
}

// ReportFilter selects the offers of one reseller a report counts: created
// at or after From and before To (zero: unbounded).
type ReportFilter struct {
	Reseller ResellerID
	From, To time.Time
	GroupBy  ReportGroupBy
}

// ReportGroup is one group of a report on offers.
type ReportGroup struct {
	// Key is the template or customer id, or the month (YYYY-MM, UTC).
	Key string
	// Name is the template's or customer's name, or the month again.
	Name string
	// Erased tells that the group's customer was erased: Name is gone.
	Erased bool
	Counts map[OfferStatus]int
	// AcceptanceRate is accepted / (accepted + rejected); nil when none
	// was decided.
	AcceptanceRate *float64
	// MedianHoursToDecision is the median time from creation to
	// acceptance or rejection, in hours; nil when none was decided.
	MedianHoursToDecision *float64
	// RejectionReasons are the reasons given, most frequent first.
	RejectionReasons []ReasonCount
}

// ReasonCount is how often one rejection reason was given: its code where
// it has one, else its text.
type ReasonCount struct {
	Reason string
	Count  int
}
