package ui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Revise: on the customer instance page the reseller revises an
// offer the customer has not decided, by clicking: Revise fills the form
// with the offer, "Save and update" sends the revision. The old offer shows
// Superseded (and no buttons), the new one replaces it and is delivered; the
// customer's badge counts one offer, not two, and the customer sees that the
// new offer replaces the earlier one and accepts it.
func TestBrowser_Revise(t *testing.T) {
	browser := newBrowser(t)
	st := startStack(t)
	sd := st.seedScenario(t)
	base := st.URL

	r := openTab(t, browser, "reseller")
	r.signIn(base, sd.ResellerToken, "#offer-form")
	c := openTab(t, browser, "customer")
	c.signIn(base, sd.CustomerToken, "#badge-admin")

	r.click("open Customers", "#nav-customers")
	r.click("open the customer instance", "#customers a.customer-link")
	r.waitFor("the customer's page", fmt.Sprintf(`(document.getElementById('customer-title') || {}).textContent === %s`, js(sd.CustomerName)))
	r.waitFor("the templates to choose from", `document.querySelectorAll('#offer-template option').length === 3`)
	r.choose("#offer-template", string(sd.Template))
	r.do("write a message", chromedp.SendKeys(chromedp.ID("offer-message"), "Ihr Angebot"))
	r.click("send the offer", "#offer-send")
	r.waitFor("the offer is listed", `document.querySelectorAll('#offers tr[data-offer-id]').length === 1`)
	old := eval[string](r, `document.querySelector('#offers tr[data-offer-id]').dataset.offerId`)
	r.waitFor("it is delivered", rowStatus(old)+` === 'Waiting for Confirmation'`)
	c.waitFor("the customer's badge shows 1", badgesAre(1))

	reviseButton := fmt.Sprintf(`#offers tr[data-offer-id=%s] button.revise`, js(old))
	r.click("revise the offer", reviseButton)
	r.waitFor("the form holds the offer, to save and update", `document.getElementById('offer-send').textContent === 'Save and update' &&
		!document.getElementById('offer-revising').hidden && document.getElementById('offer-message').value === 'Ihr Angebot'`)
	if got := r.text("#offer-revising"); !strings.Contains(got, "Revise the offer to "+sd.CustomerName) {
		t.Errorf("revision note = %q", got)
	}
	r.choose("#offer-message", "Neuer Preis ab März")
	r.click("save and update", "#offer-send")

	r.waitFor("the old offer shows Superseded", rowStatus(old)+` === 'Superseded'`)
	r.waitFor("the revision is listed first", `document.querySelectorAll('#offers tr[data-offer-id]').length === 2 &&
		document.querySelector('#offers tr[data-offer-id]').dataset.offerId !== `+js(old))
	next := eval[string](r, `document.querySelector('#offers tr[data-offer-id]').dataset.offerId`)
	r.waitFor("the revision is delivered", rowStatus(next)+` === 'Waiting for Confirmation'`)
	if got := r.text(fmt.Sprintf(`#offers tr[data-offer-id=%s]`, js(next))); !strings.Contains(got, "Neuer Preis ab März") ||
		!strings.Contains(got, "replaces an earlier offer") {
		t.Errorf("the revision's row = %q", got)
	}
	r.waitFor("the superseded offer has no buttons", fmt.Sprintf(`document.querySelectorAll(%s).length === 0`,
		js(`#offers tr[data-offer-id="`+old+`"] button`)))
	r.waitFor("the form sends new offers again", `document.getElementById('offer-send').textContent === 'Send offer' &&
		document.getElementById('offer-revising').hidden`)
	r.waitFor("the line under the form says it was updated", `document.getElementById('offer-sent').textContent.includes('updated')`)

	// The customer: one unread offer, not two; the new one says what it
	// replaces, and can be accepted.
	c.click("open Updates", "#nav-updates")
	c.waitFor("both offers in the inbox, the revision first",
		`Array.from(document.querySelectorAll('#inbox button.entry .status'), (e) => e.textContent).join('|') === 'Waiting for Confirmation|Superseded'`)
	c.waitFor("the badge still shows 1", badgesAre(1))
	c.click("open the revision", fmt.Sprintf(`#inbox button.entry[data-offer-id=%s]`, js(next)))
	c.do("see that it replaces the earlier offer", chromedp.WaitVisible(chromedp.ID("offer-supersedes")))
	if got := eval[string](c, `document.getElementById('offer-message').textContent`); got != "Neuer Preis ab März" {
		t.Errorf("message shown = %q", got)
	}
	c.waitFor("the badge goes to 0 once opened", badgesAre(0))
	c.click("accept", "#accept")
	c.do("see it accepted", chromedp.WaitVisible(chromedp.CSS("#offer-status .status-accepted")))
	c.click("open the superseded offer", fmt.Sprintf(`#inbox button.entry[data-offer-id=%s]`, js(old)))
	c.do("see that it was replaced", chromedp.WaitVisible(chromedp.ID("offer-superseded")))
	if n := eval[int](c, `document.querySelectorAll('#accept, #reject').length`); n != 0 {
		t.Errorf("the superseded offer offers %d decision buttons", n)
	}
	r.waitFor("the reseller sees the revision accepted", rowStatus(next)+` === 'Accepted'`)
}
