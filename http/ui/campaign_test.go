package ui_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// seedDecisions decides three offers of sd's template to its customer at
// known times, on a clock set back: accepted after 10 hours, rejected
// after 20 and 30 hours for "zu teuer". The dashboard must show 33%
// accepted and a median of 20 hours to a decision.
func (s *stack) seedDecisions(t *testing.T, sd seed) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	past := command.NewService(command.NewHandler(s.Svc.Handler().Store(), command.Config{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}}))
	set := func(at time.Time) { mu.Lock(); defer mu.Unlock(); now = at }
	rec, _, err := s.Svc.Customer(ctx, domain.CustomerID(sd.CustomerID))
	if err != nil {
		t.Fatal(err)
	}
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(rec.Reseller()), Subject: "test"}}
	cm := command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: sd.CustomerID, Subject: "test"}}
	for i, hours := range []int{10, 20, 30} {
		sent := time.Date(2026, 9, 1+i, 9, 0, 0, 0, time.UTC)
		set(sent)
		o, _, err := past.CreateOffer(ctx, rm, domain.CustomerID(sd.CustomerID), sd.Template, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		// The delivery process may deliver it first: either way it is delivered.
		if _, _, err := past.DeliverOffer(ctx, command.Meta{Actor: domain.SystemActor("delivery")}, o.ID(), 1); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatal(err)
		}
		set(sent.Add(time.Duration(hours) * time.Hour))
		if hours == 10 {
			_, _, err = past.AcceptOffer(ctx, cm, o.ID())
		} else {
			_, _, err = past.RejectOffer(ctx, cm, o.ID(), "zu teuer")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowser_CampaignAndDashboard sends a campaign by clicking (a
// template, two customers ticked) and watches its counts reach the
// customers' inboxes live; then the dashboard, on a 390 px phone in
// German and on a desktop in English, shows the seeded world's figures in
// its table and its four server-drawn charts, without sideways scrolling.
func TestBrowser_CampaignAndDashboard(t *testing.T) {
	browser := newBrowser(t)
	st := startStack(t)
	sd := st.seedScenario(t)
	st.seedDecisions(t, sd)
	ctx := context.Background()
	rec, _, err := st.Svc.Customer(ctx, domain.CustomerID(sd.CustomerID))
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := st.Svc.RegisterCustomer(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(rec.Reseller()), Subject: "test"}}, "Klinikum am See", "")
	if err != nil {
		t.Fatal(err)
	}

	r := openTabAs(t, browser, "reseller (en)", "en", desktop)
	r.signIn(st.URL, sd.ResellerToken, "#offer-form")
	r.click("open the campaigns", "#nav-campaigns")
	r.waitFor("the customers to choose from", `document.querySelectorAll('#campaign-customers input[type=checkbox]').length === 2`)
	r.choose("#campaign-template", string(sd.Template))
	r.click("tick the first customer", fmt.Sprintf(`#campaign-customers input[value=%s]`, js(sd.CustomerID)))
	r.click("tick the second customer", fmt.Sprintf(`#campaign-customers input[value=%s]`, js(string(second.ID()))))
	r.waitFor("two selected", `document.getElementById('campaign-selected').textContent.includes('2')`)
	r.click("send the campaign", "#campaign-send")
	r.waitFor("the campaign is confirmed", `document.getElementById('campaign-sent').textContent.includes('2')`)
	r.waitFor("its two offers delivered, live", `(() => {
		const row = document.querySelector('#campaigns tr[data-campaign-id]');
		const n = row && row.querySelector('.count[data-status=waiting_for_confirmation]');
		return !!n && n.textContent.trim().endsWith('2');
	})()`)

	for _, c := range []struct {
		lang         string
		dev          device
		rate, median string
	}{{"en", desktop, "33%", "20.0 h"}, {"de", phone, "33 %", "20,0 Std."}} {
		tb := openTabAs(t, browser, "dashboard ("+c.lang+", "+c.dev.name+")", c.lang, c.dev)
		tb.signIn(st.URL, sd.ResellerToken, "#offer-form")
		tb.click("open the dashboard", "#nav-dashboard")
		row := fmt.Sprintf(`document.querySelector('#dashboard-table tr[data-template-id=%s]')`, js(string(sd.Template)))
		tb.waitFor("the template's figures", row+` !== null`)
		if got := eval[string](tb, row+`.querySelector('.rate').textContent`); got != c.rate {
			t.Errorf("%s: acceptance rate %q, want %q", c.lang, got, c.rate)
		}
		if got := eval[string](tb, row+`.querySelector('.median').textContent`); got != c.median {
			t.Errorf("%s: median %q, want %q", c.lang, got, c.median)
		}
		tb.waitFor("four charts drawn", `[...document.querySelectorAll('.charts img')].length === 4 &&
			[...document.querySelectorAll('.charts img')].every((i) => i.complete && i.naturalWidth > 0)`)
		// Each chart says what it shows (the bars alone left "0.0 h" and
		// "No data yet." unexplained).
		msgs := readCatalog(t, c.lang)
		for _, chart := range []string{"statuses", "acceptance", "decision", "reasons"} {
			if got, want := tb.text("#chart-"+chart+"-title"), msgs["dashboard.chart."+chart]; got != want {
				t.Errorf("%s: the %s chart's caption = %q, want %q", c.lang, chart, got, want)
			}
		}
		// The images are the server's SVG; their texts carry the figures.
		svg := func(chart string) string {
			return eval[string](tb, fmt.Sprintf(`(() => { const x = new XMLHttpRequest();
				x.open('GET', document.getElementById('chart-%s').src, false); x.send(); return x.responseText; })()`, chart))
		}
		for chart, want := range map[string]string{"acceptance": c.rate, "decision": c.median, "reasons": "zu teuer"} {
			if got := svg(chart); !strings.Contains(got, want) {
				t.Errorf("%s: the %s chart lacks %q: %.400s", c.lang, chart, want, got)
			}
		}
		if got := eval[bool](tb, `document.documentElement.scrollWidth <= window.innerWidth`); !got {
			t.Errorf("%s on %s: the dashboard scrolls sideways", c.lang, c.dev.name)
		}
	}
}
