package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_German plays the story in German, as a browser asking for
// German gets it: the article's words on the buttons and statuses, numbers
// and dates written the German way; then the switch to English, which is
// remembered. Then every main page of the three roles is visited in both
// languages on a desktop and on a 390x844 phone, the auditor's too: no page
// shows a message key and none scrolls sideways (see visit).
func TestBrowser_German(t *testing.T) {
	browser := newBrowser(t)
	st := startStack(t)
	sd := st.seedScenario(t)
	germanStory(t, browser, st.URL, sd, desktop)
	en, de := readCatalog(t, "en"), readCatalog(t, "de")
	for _, lang := range []string{"en", "de"} {
		for _, dev := range []device{desktop, phone} {
			tour(t, browser, st.URL, sd, lang, dev, map[string]map[string]string{"en": en, "de": de}[lang])
		}
	}
}

// TestBrowser_GermanPhone plays the German story on 390x844 phones.
func TestBrowser_GermanPhone(t *testing.T) {
	browser := newBrowser(t)
	st := startStack(t)
	germanStory(t, browser, st.URL, st.seedScenario(t), phone)
}

// germanStory plays the story in German in dev's windows, then switches
// the reseller's page to English.
func germanStory(t *testing.T, browser context.Context, base string, sd seed, dev device) {
	t.Helper()
	de := readCatalog(t, "de")
	r := openTabAs(t, browser, "reseller (de)", "de-DE,de", dev)
	r.do("open sign-in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	if got := r.text("#signin-submit"); got != "Anmelden" {
		t.Errorf("sign-in button = %q, want Anmelden", got)
	}
	r.signIn(base, sd.ResellerToken, "#offer-form")
	if got := r.text("#nav"); !strings.Contains(got, "Angebote") || !strings.Contains(got, "Instanzen") || !strings.Contains(got, "Modul-Templates") {
		t.Errorf("German navigation = %q", got)
	}
	if got := r.text("#offer-send"); got != "Speichern und aktualisieren" {
		t.Errorf("send button = %q", got)
	}
	if bg := eval[string](r, `getComputedStyle(document.getElementById('offer-send')).backgroundColor`); bg != "rgb(20, 108, 46)" {
		t.Errorf("Speichern und aktualisieren is %s, want the green confirm button rgb(20, 108, 46)", bg)
	}
	r.waitFor("the form lists the template", `document.querySelectorAll('#offer-template option').length === 3`)
	r.choose("#offer-customer", sd.CustomerID)
	r.choose("#offer-template", string(sd.Template))
	r.choose("#offer-message", strings.Repeat("x", 1200))
	if got := r.text("#offer-message-count"); got != "1.200 / 2.000 Zeichen" {
		t.Errorf("German counter = %q, want 1.200 / 2.000 Zeichen", got)
	}
	r.choose("#offer-message", "Guten Tag, anbei Ihr Angebot.")
	r.choose("#offer-expires", time.Now().AddDate(0, 0, 30).Format("2006-01-02"))
	r.click("send the offer", "#offer-send")
	r.waitFor("the offer waits for confirmation", `(document.querySelector('#offers tr[data-offer-id] .status') || {}).textContent === 'Warten auf Bestätigung'`)
	if got := r.text("#offers tr[data-offer-id] button.danger"); got != "Vorgang abbrechen" {
		t.Errorf("withdraw button = %q, want Vorgang abbrechen", got)
	}
	if got := r.text("#offers tr[data-offer-id]"); !germanDate(got) || !strings.Contains(got, "gültig bis") {
		t.Errorf("offer row = %q, want German dates and the expiry", got)
	}

	c := openTabAs(t, browser, "customer (de)", "de", dev)
	c.signIn(base, sd.CustomerToken, "#badge-admin")
	c.click("open Updates", "#nav-updates")
	c.do("see the dashboard", chromedp.WaitVisible(chromedp.CSS("#inbox button.entry")))
	if got := c.text("#updates-title"); got != "Angebotsdashboard" {
		t.Errorf("updates title = %q", got)
	}
	c.click("open the offer", "#inbox button.entry")
	c.do("see the offer", chromedp.WaitVisible(chromedp.ID("accept")))
	if a, rj := c.text("#accept"), c.text("#reject"); a != "Annehmen" || rj != "Ablehnen" {
		t.Errorf("decision buttons = %q, %q", a, rj)
	}
	if got := eval[string](c, `document.querySelector('#offer-detail table.items').textContent`); !strings.Contains(got, "12 Monate") || !strings.Contains(got, "absolut") || !strings.Contains(got, "Lizenzlaufzeit") {
		t.Errorf("German items = %q", got)
	}
	// Before the click, the page says what accepting grants: the absolute
	// license with its end, a year from now.
	if got, year := c.text("#grant-preview"), fmt.Sprint(time.Now().Year()+1); !strings.Contains(got, "Datenschutz-Grundlagen: gültig bis ") || !strings.Contains(got, year) {
		t.Errorf("what accepting grants = %q, want the license valid until a date in %s", got, year)
	}
	c.fits(dev, "the open offer")
	if bg := eval[string](c, `getComputedStyle(document.getElementById('accept')).backgroundColor`); bg != "rgb(20, 108, 46)" {
		t.Errorf("Annehmen is %s, want the green confirm button rgb(20, 108, 46)", bg)
	}
	c.click("accept", "#accept")
	c.do("see it accepted", chromedp.WaitVisible(chromedp.CSS("#offer-status .status-accepted")))
	if got := c.text("#offer-status"); !strings.Contains(got, "Angenommen") {
		t.Errorf("status = %q", got)
	}
	c.waitFor("the granted license", `document.querySelectorAll('#offer-license-list tbody tr').length === 1`)
	r.waitFor("the reseller sees Angenommen", `(document.querySelector('#offers tr[data-offer-id] .status') || {}).textContent === 'Angenommen'`)
	r.waitFor("and who decided", `(document.querySelector('#offers tr[data-offer-id] .decided') || {textContent: ''}).textContent.endsWith(' von Anna Admin')`)

	// A second offer stays open, so that the tour shows the decision.
	sendOffer(r, sd, de["status.waiting_for_confirmation"])

	r.click("open the templates", "#nav-templates")
	tpl := fmt.Sprintf(`section.template[data-template-id=%s]`, js(string(sd.Template)))
	r.do("see the template", chromedp.WaitVisible(chromedp.CSS(tpl+" button.mode")))
	if got := r.text(tpl); !strings.Contains(got, "Produkt hinzufügen") || !strings.Contains(got, "Lizenzlaufzeit") || !strings.Contains(got, "absolut") {
		t.Errorf("German template = %q", got)
	}

	// The switch to English is remembered over a reload, though the browser asks for German.
	r.click("switch to English", "#lang-switch")
	r.waitFor("the page is in English", `document.documentElement.lang === 'en' && (document.getElementById('nav-templates') || {}).textContent === 'Templates'`)
	r.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(tpl+" button.mode")))
	r.waitFor("still English after the reload, on the same section", `document.documentElement.lang === 'en' && location.hash === '#templates'`)
	r.fits(dev, "the templates after the switch")
}

// germanDate reports whether s holds a date written the German way (02.12.2026).
func germanDate(s string) bool {
	for i := 0; i+10 <= len(s); i++ {
		d := s[i : i+10]
		if d[2] == '.' && d[5] == '.' && strings.Trim(d[:2]+d[3:5]+d[6:], "0123456789") == "" {
			return true
		}
	}
	return false
}

// tour signs the three roles in, in lang on dev, and visits every main page.
func tour(t *testing.T, browser context.Context, base string, sd seed, lang string, dev device, msgs map[string]string) {
	t.Helper()
	r := openTabAs(t, browser, "reseller "+lang+" "+dev.name, lang, dev)
	r.do("open sign-in", chromedp.Navigate(base+"/"))
	r.visit(lang, dev, "signin", false, "#token")
	r.signIn(base, sd.ResellerToken, "#offer-form")
	r.visit(lang, dev, "offers", true, "#offers tr[data-offer-id]")
	r.visit(lang, dev, "customers", true, "#customers tr[data-customer-id]")
	r.click("open the customer instance", "#customers a.customer-link")
	r.visit(lang, dev, "instance", false, ".view.split #offers tr[data-offer-id]")
	r.visit(lang, dev, "templates", true, "section.template button.mode")
	r.visit(lang, dev, "products", true, "#products tr[data-product-id]")
	r.visit(lang, dev, "campaigns", true, "#campaign-customers input[type=checkbox]")
	r.click("open the dashboard", "#nav-dashboard")
	r.waitFor("the dashboard's charts are drawn", `document.querySelectorAll('#dashboard-table tr[data-template-id]').length > 0 &&
		[...document.querySelectorAll('.charts img')].every((img) => img.complete && img.naturalWidth > 0)`)
	r.visit(lang, dev, "dashboard", false, "#dashboard-table tr[data-template-id]")

	c := openTabAs(t, browser, "customer "+lang+" "+dev.name, lang, dev)
	c.signIn(base, sd.CustomerToken, "#badge-admin")
	c.visit(lang, dev, "admin", true, "#tile-updates")
	c.visit(lang, dev, "updates", true, "#inbox button.entry")
	c.click("open the waiting offer", `#inbox button.entry .status[data-status="waiting_for_confirmation"]`)
	c.visit(lang, dev, "offer", false, "#accept")
	if got := c.text("#accept"); got != msgs["accept"] {
		t.Errorf("%s: accept button = %q, want %q", c.name, got, msgs["accept"])
	}
	c.visit(lang, dev, "licenses", true, "#licenses tbody tr")

	a := openTabAs(t, browser, "auditor "+lang+" "+dev.name, lang, dev)
	a.signIn(base, sd.AuditorToken, "#audit-offers tr[data-offer-id]")
	a.visit(lang, dev, "audit", false, "#audit-offers tr[data-offer-id]")
	a.click("open an offer", "#audit-offers a.audit-link")
	a.visit(lang, dev, "audit-offer", false, `#audit-chain[data-state="ok"] ~ #audit-proof[data-state="ok"]`)
	if got := a.text("#audit-chain strong"); got != msgs["audit.chain.intact"] {
		t.Errorf("%s: chain = %q, want %q", a.name, got, msgs["audit.chain.intact"])
	}
}
