package http_test

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOfferReport decides offers at known times (the command side's clock
// is the test's) and checks each figure of the report, grouped by
// template, customer and month, and limited by from and to.
func TestOfferReport(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); defer mu.Unlock(); now = t }
	ts := MustOpenServer(t, func(o *Options) { o.Now = clock })
	w := NewWorld(t, ts) // its offers (two of this reseller's) were sent on 10 March, and stay undecided
	r := w.ResellerC
	second := r.CreateTemplate(t, "Zweites Paket")
	r.AddItem(t, second, w.Product, 12)

	// decide sends template to the customer at sent and decides it after
	// hours: "accept", or a rejection's reason.
	decide := func(template string, c Client, customer string, sent time.Time, hours int, decision string) {
		t.Helper()
		set(sent)
		id := r.SendOffer(t, customer, template, "")
		r.WaitStatus(t, id, "waiting_for_confirmation")
		set(sent.Add(time.Duration(hours) * time.Hour))
		if decision == "accept" {
			c.Must(t, 200, "POST", "/v1/inbox/"+id+"/accept", nil)
			return
		}
		c.Must(t, 200, "POST", "/v1/inbox/"+id+"/reject", map[string]string{"reason": decision})
	}
	feb := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	decide(w.Template, w.CustomerC, w.Customer, feb, 10, "accept")
	decide(w.Template, w.CustomerC, w.Customer, feb, 20, "zu teuer")
	decide(w.Template, w.SiblingCustomerC, w.SiblingCustomer, feb.Add(24*time.Hour), 30, "zu teuer")
	decide(w.Template, w.SiblingCustomerC, w.SiblingCustomer, feb.Add(48*time.Hour), 40, "  kein Bedarf ")
	decide(second, w.CustomerC, w.Customer, time.Date(2026, 1, 20, 8, 0, 0, 0, time.UTC), 5, "accept")
	ts.Settle(t)

	type group struct {
		Key                   string
		Name                  string
		Counts                map[string]int
		AcceptanceRate        *float64 `json:"acceptance_rate"`
		MedianHoursToDecision *float64 `json:"median_hours_to_decision"`
		RejectionReasons      []struct {
			Reason string
			Count  int
		} `json:"rejection_reasons"`
	}
	report := func(query string) map[string]group {
		t.Helper()
		var out struct{ Items []group }
		r.Must(t, 200, "GET", "/v1/reports/offers"+query, nil).Decode(t, &out)
		m := map[string]group{}
		for _, g := range out.Items {
			m[g.Key] = g
		}
		return m
	}
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }

	byTemplate := report("?from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z")
	if len(byTemplate) != 1 {
		t.Fatalf("February by template: %+v, want the first template alone", byTemplate)
	}
	g := byTemplate[w.Template]
	if g.Name == "" || g.Name == g.Key {
		t.Errorf("name %q, want the template's", g.Name)
	}
	if g.Counts["accepted"] != 1 || g.Counts["rejected"] != 3 || g.Counts["waiting"] != 0 || !near(g.AcceptanceRate, 0.25) ||
		!near(g.MedianHoursToDecision, 25) {
		t.Errorf("February, first template: %+v, rate %v, median %v; want 1 accepted, 3 rejected, 0.25, 25 h",
			g.Counts, deref(g.AcceptanceRate), deref(g.MedianHoursToDecision))
	}
	if len(g.RejectionReasons) != 2 || g.RejectionReasons[0].Reason != "zu teuer" || g.RejectionReasons[0].Count != 2 ||
		g.RejectionReasons[1].Reason != "kein Bedarf" || g.RejectionReasons[1].Count != 1 {
		t.Errorf("reasons %+v, want zu teuer 2, kein Bedarf 1", g.RejectionReasons)
	}

	all := report("")
	if g := all[w.Template]; g.Counts["waiting_for_confirmation"] != 2 || g.Counts["accepted"] != 1 {
		t.Errorf("all time, first template: %+v; want the world's 2 offers undecided beside February's", g.Counts)
	}
	if g := all[second]; g.Name != "Zweites Paket" || !near(g.AcceptanceRate, 1) || !near(g.MedianHoursToDecision, 5) {
		t.Errorf("all time, second template: %+v", g)
	}

	byCustomer := report("?group_by=customer&to=2026-03-01T00:00:00Z")
	if g := byCustomer[w.SiblingCustomer]; g.Counts["rejected"] != 2 || g.AcceptanceRate == nil || *g.AcceptanceRate != 0 || !near(g.MedianHoursToDecision, 35) {
		t.Errorf("sibling customer: %+v", g)
	}
	if g := byCustomer[w.Customer]; g.Counts["accepted"] != 2 || g.Counts["rejected"] != 1 {
		t.Errorf("customer: %+v", g)
	}

	byMonth := report("?group_by=month")
	if len(byMonth) != 3 || byMonth["2026-01"].Counts["accepted"] != 1 || byMonth["2026-02"].Counts["rejected"] != 3 ||
		byMonth["2026-03"].Counts["waiting_for_confirmation"] != 2 || byMonth["2026-03"].AcceptanceRate != nil {
		t.Errorf("by month: %+v", byMonth)
	}
	if got := report("?from=2027-01-01T00:00:00Z"); len(got) != 0 {
		t.Errorf("a range without offers: %+v", got)
	}
	// The dashboard's charts draw the same figures.
	for chart, want := range map[string][]string{
		"statuses":   {"<svg", "2026-01", "2026-02", ">4<", "Accepted", "Rejected"},
		"acceptance": {"Zweites Paket", "25%", "100%"},
		"decision":   {"25.0 h", "5.0 h"},
		"reasons":    {"zu teuer", "kein Bedarf", ">2<"},
	} {
		res := r.Must(t, 200, "GET", "/v1/reports/offers/charts/"+chart+"?to=2026-03-01T00:00:00Z", nil)
		if ct := res.Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("%s: Content-Type %q", chart, ct)
		}
		for _, s := range want {
			if !strings.Contains(string(res.Body), s) {
				t.Errorf("%s chart lacks %q: %s", chart, s, res.Body)
			}
		}
	}
	if de := r.Must(t, 200, "GET", "/v1/reports/offers/charts/decision?lang=de&to=2026-03-01T00:00:00Z", nil); !strings.Contains(string(de.Body), "25,0 Std.") {
		t.Errorf("German decision chart: %s", de.Body)
	}
	r.Must(t, 404, "GET", "/v1/reports/offers/charts/pie", nil)
	r.Must(t, 422, "GET", "/v1/reports/offers/charts/statuses?from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z", nil)

	// Another reseller's report holds none of it.
	var other struct{ Items []group }
	w.OtherResellerC.Must(t, 200, "GET", "/v1/reports/offers", nil).Decode(t, &other)
	for _, g := range other.Items {
		if g.Key == w.Template || g.Key == second {
			t.Errorf("another reseller sees %+v", g)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestOfferReport_ErasedCustomer: grouped by customer, an erased customer's
// group shows its name as null with "erased": true, as every reader shows
// an erased customer; the counts stay.
func TestOfferReport_ErasedCustomer(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	pos := w.ResellerC.Must(t, 200, "POST", "/v1/customers/"+w.Customer+"/erase", nil).Position(t)
	body := w.ResellerC.Must(t, 200, "GET", "/v1/reports/offers?group_by=customer&min_position="+strconv.FormatUint(pos, 10), nil)
	if strings.Contains(string(body.Body), "Customer One") {
		t.Fatalf("the report shows the erased customer's name: %s", body.Body)
	}
	seen := 0
	for _, it := range body.Map(t)["items"].([]any) {
		g := it.(map[string]any)
		switch g["key"] {
		case w.Customer:
			seen++
			if name, ok := g["name"]; !ok || name != nil || g["erased"] != true || g["counts"].(map[string]any)["waiting_for_confirmation"] != 1.0 {
				t.Errorf("the erased customer's group: %v", g)
			}
		case w.SiblingCustomer:
			seen++
			if g["name"] != "Customer Two" || g["erased"] != nil {
				t.Errorf("the sibling's group: %v", g)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("groups of the two customers: %d found in %s", seen, body.Body)
	}
}
