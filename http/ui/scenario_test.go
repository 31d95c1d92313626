package ui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// statusRecorder makes the page remember every status the offer rows show,
// in order, so that a state shown only briefly is not missed by polling.
const statusRecorder = `(() => {
	window.__statuses = [];
	const note = () => {
		for (const el of document.querySelectorAll('#offers tr[data-offer-id] .status')) {
			if (window.__statuses[window.__statuses.length - 1] !== el.textContent) window.__statuses.push(el.textContent);
		}
	};
	new MutationObserver(note).observe(document.getElementById('main'), {subtree: true, childList: true, characterData: true});
	return true;
})()`

// TestBrowser_OfferRoundTrip drives the real stack through chromium: the
// reseller sends an offer from the form, the customer sees the badge, opens
// the offer, reads the message and accepts it; the reseller sees that live
// and toggles a template item's license mode.
func TestBrowser_OfferRoundTrip(t *testing.T) { playStory(t, desktop) }

// TestBrowser_OfferRoundTripPhone plays the same story on 390x844 phones:
// every step works on the stacked layout, and no page on the way scrolls
// sideways.
func TestBrowser_OfferRoundTripPhone(t *testing.T) { playStory(t, phone) }

// playStory plays the whole story in English in dev's windows.
func playStory(t *testing.T, dev device) {
	browser := newBrowser(t)
	st := startStack(t)
	sd := st.seedScenario(t)
	base := st.URL

	// The reseller signs in; a bad token first gets the sign-in page back.
	r := openTabAs(t, browser, "reseller", "en", dev)
	r.do("sign in with a bad token",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), "ofr_not-a-token"),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("signin-error")))
	if got := r.text("#signin-error"); !strings.Contains(got, "not valid") {
		t.Errorf("sign-in error = %q", got)
	}
	r.signIn(base, sd.ResellerToken, "#offer-form")
	r.waitFor("the form lists the customer and both templates",
		`document.querySelectorAll('#offer-customer option').length === 2 && document.querySelectorAll('#offer-template option').length === 3`)
	if got := eval[string](r, fmt.Sprintf(`document.querySelector('#offer-customer option[value=%s]').textContent`, js(sd.CustomerID))); got != sd.CustomerName {
		t.Errorf("customer option = %q, want the name as text %q", got, sd.CustomerName)
	}

	// An API error is shown as the API words it: a template without items.
	r.choose("#offer-customer", sd.CustomerID)
	r.choose("#offer-template", string(sd.EmptyTemplate))
	r.click("send an offer of the empty template", "#offer-send")
	r.do("see the error", chromedp.WaitVisible(chromedp.ID("notice")))
	if code, detail := r.text("#notice-code"), r.text("#notice-detail"); code != "validation_failed" || detail == "" {
		t.Errorf("error shown: code %q, detail %q; want validation_failed with a detail", code, detail)
	}
	r.click("dismiss the error", "#notice-close")
	r.do("the error goes", chromedp.WaitNotVisible(chromedp.ID("notice")))
	r.click("send the empty template again", "#offer-send")
	r.do("see the error again", chromedp.WaitVisible(chromedp.ID("notice")))
	// The send button says "Sending…" while its request runs: record every
	// data-busy it shows.
	eval[bool](r, `(() => { window.__busy = []; const b = document.getElementById('offer-send');
		new MutationObserver(() => { if (b.dataset.busy) window.__busy.push(b.dataset.busy); }).observe(b, {attributes: true});
		return true; })()`)

	// The real offer, with a message that looks like markup.
	eval[bool](r, statusRecorder)
	r.choose("#offer-template", string(sd.Template))
	const message = "Guten Tag,\nhier ist Ihr Angebot. <script>alert(1)</script> & <b>mehr</b>"
	r.do("type the message", chromedp.SendKeys(chromedp.ID("offer-message"), message))
	r.choose("#offer-expires", time.Now().AddDate(0, 0, 30).Format("2006-01-02"))
	if got, want := r.text("#offer-message-count"), fmt.Sprintf("%d / 2,000 characters", len([]rune(message))); got != want {
		t.Errorf("message counter = %q, want %q", got, want)
	}
	r.click("send the offer", "#offer-send")
	r.do("see it sent", chromedp.WaitVisible(chromedp.ID("offer-sent")))
	r.waitFor("the form reports the offer's status", `document.getElementById('offer-sent').textContent.includes('Status: Waiting')`)
	r.waitFor("the success cleared the stale error", `document.getElementById('notice').hidden`)
	if got := eval[[]string](r, `window.__busy`); len(got) == 0 || got[0] != "Sending…" {
		t.Errorf("the send button's busy labels = %q, want Sending…", got)
	}
	r.waitFor("the list shows the offer delivered",
		`(document.querySelector('#offers tr[data-offer-id] .status') || {}).textContent === 'Waiting for Confirmation'`)
	statuses := eval[[]string](r, `window.__statuses`)
	if len(statuses) < 2 || statuses[0] != "Waiting" || statuses[len(statuses)-1] != "Waiting for Confirmation" {
		t.Errorf("the offer row showed %q; want Waiting, then Waiting for Confirmation", statuses)
	}
	offerID := eval[string](r, `document.querySelector('#offers tr[data-offer-id]').dataset.offerId`)
	r.fits(dev, "offers with the sent offer")
	r.waitFor("a withdraw button while it waits", `!!document.querySelector('#offers tr[data-offer-id] button.danger')`)

	// Live updates redraw the list in place: the row (and the button in it)
	// stays the same element through the customer's decision below.
	eval[bool](r, fmt.Sprintf(`(window.__row = document.querySelector(%s), true)`, js(`#offers tr[data-offer-id="`+offerID+`"]`)))

	// The customer, in a browser context of its own, sees the badges.
	c := openTabAs(t, browser, "customer", "en", dev)
	c.signIn(base, sd.CustomerToken, "#badge-admin")
	c.waitFor("badge 1 on Admin and on Updates", `['badge-admin', 'badge-updates'].every((id) => {
		const b = document.getElementById(id);
		return b.dataset.count === '1' && b.querySelector('.n').textContent === '1' && !b.classList.contains('zero');
	})`)
	if color := eval[string](c, `getComputedStyle(document.getElementById('badge-updates')).backgroundColor`); color != "rgb(180, 35, 24)" {
		t.Errorf("badge colour = %s, want the red rgb(180, 35, 24)", color)
	}
	c.click("open Updates", "#nav-updates")
	c.do("see the unread entry", chromedp.WaitVisible(chromedp.CSS("#inbox button.entry.unread")))
	if w := eval[string](c, `getComputedStyle(document.querySelector('#inbox button.entry')).fontWeight`); w != "700" {
		t.Errorf("unread entry font weight = %s, want bold (700)", w)
	}
	if got := c.text("#inbox"); !strings.Contains(got, "Lernwerk Reseller GmbH") {
		t.Errorf("inbox does not name the reseller: %q", got)
	}
	c.click("open the offer", fmt.Sprintf(`#inbox button.entry[data-offer-id=%s]`, js(offerID)))
	c.do("see the offer", chromedp.WaitVisible(chromedp.ID("offer-message")))
	if got := eval[string](c, `document.getElementById('offer-message').textContent`); got != message {
		t.Errorf("message shown = %q, want %q", got, message)
	}
	if n := eval[int](c, `document.querySelectorAll('#offer-detail script, #offer-detail b').length`); n != 0 {
		t.Errorf("the message became %d elements; it must stay text", n)
	}
	if got := c.text("#offer-detail"); !strings.Contains(got, "; expires ") {
		t.Errorf("the offer's expiry is not shown: %q", got)
	}
	if items := c.text("#offer-detail table.items"); !strings.Contains(items, "Datenschutz-Grundlagen") || !strings.Contains(items, "12 months") {
		t.Errorf("offer items = %q", items)
	}
	c.waitFor("the badges go to 0", `['badge-admin', 'badge-updates'].every((id) => {
		const b = document.getElementById(id);
		return b.dataset.count === '0' && b.classList.contains('zero');
	})`)
	c.waitFor("the entry is no longer unread", `!document.querySelector('#inbox button.entry.unread')`)
	c.fits(dev, "the open offer")

	c.click("accept", "#accept")
	c.do("see it accepted", chromedp.WaitVisible(chromedp.CSS("#offer-status .status-accepted")))
	// The live update may draw the accepted status a moment before the
	// click's own answer moves the focus: wait for the focus, briefly.
	deadline := time.Now().Add(3 * time.Second)
	for eval[string](c, `document.activeElement.id`) != "offer-status" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := eval[string](c, `document.activeElement.id`); got != "offer-status" {
		t.Errorf("focus after accepting is on %q, want the status that replaced the buttons (offer-status)", got)
	}
	c.waitFor("the granted licenses under the offer", `document.querySelectorAll('#offer-license-list tbody tr').length === 1`)
	if got := c.text("#offer-license-list tbody"); !strings.Contains(got, "Datenschutz-Grundlagen") || !strings.Contains(got, "Absolute") {
		t.Errorf("licenses under the offer = %q", got)
	}
	c.click("open Licenses", "#nav-licenses")
	c.do("see the licenses", chromedp.WaitVisible(chromedp.CSS("#licenses tbody tr")))
	if got := c.text("#licenses tbody"); !strings.Contains(got, "Datenschutz-Grundlagen") || !strings.Contains(got, "12 months") {
		t.Errorf("licenses = %q", got)
	}
	c.fits(dev, "licenses")

	// The reseller's page follows without a reload.
	r.waitFor("the reseller's list shows Accepted", `(document.querySelector('#offers tr[data-offer-id] .status') || {}).textContent === 'Accepted'`)
	r.waitFor("no withdraw button once accepted", `!document.querySelector('#offers tr[data-offer-id] button.danger')`)
	// Who opened and who decided: the customer admin's token is named.
	r.waitFor("the row names who opened and who decided", `(() => { const row = document.querySelector('#offers tr[data-offer-id]');
		return / by Anna Admin/.test(row.querySelector('.opened').textContent) && / by Anna Admin/.test(row.querySelector('.decided').textContent); })()`)
	r.waitFor("the line under the form follows the sent offer", `document.getElementById('offer-sent').textContent.includes('Status: Accepted.')`)
	if !eval[bool](r, fmt.Sprintf(`window.__row.isConnected && window.__row === document.querySelector(%s)`, js(`#offers tr[data-offer-id="`+offerID+`"]`))) {
		t.Errorf("the offer's row was replaced by a live update; it must be updated in place")
	}

	rejectAndWithdraw(t, r, c, sd)

	r.click("open Customers", "#nav-customers")
	r.do("see the customers", chromedp.WaitVisible(chromedp.CSS("#customers tr[data-customer-id]")))
	if got := eval[string](r, `document.querySelector('#customers tr[data-customer-id] td').textContent`); got != sd.CustomerName {
		t.Errorf("customer name shown = %q, want %q as text", got, sd.CustomerName)
	}
	if got := r.text(`#customers .count[data-status="accepted"]`); got != "Accepted 1" {
		t.Errorf("accepted count = %q, want \"Accepted 1\"", got)
	}
	customerPage(t, r, sd)

	// The green/red toggle of the template item's license mode.
	tpl := fmt.Sprintf(`section.template[data-template-id=%s]`, js(string(sd.Template)))
	r.click("open Templates", "#nav-templates")
	r.do("see the templates", chromedp.WaitVisible(chromedp.CSS(tpl+" button.mode")))
	if got := eval[string](r, fmt.Sprintf(`document.querySelector(%s).dataset.mode`, js(tpl+" button.mode"))); got != "absolute" {
		t.Fatalf("item mode = %q before the toggle, want absolute", got)
	}
	r.click("toggle the mode", tpl+" button.mode")
	r.waitFor("the mode flips to relative (red)", fmt.Sprintf(`(() => { const b = document.querySelector(%s);
		return b.dataset.mode === 'relative' && b.textContent === 'Relative' && b.classList.contains('mode-relative'); })()`, js(tpl+" button.mode")))
	if !eval[bool](r, fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js(tpl+" button.mode"))) {
		t.Errorf("focus after the toggle is on %s, want the mode button", eval[string](r, `document.activeElement.tagName + "." + document.activeElement.className`))
	}
	r.fits(dev, "templates")
	r.do("reload the templates", chromedp.Navigate(base+"/app#templates"),
		chromedp.WaitVisible(chromedp.CSS(tpl+` button.mode[data-mode="relative"]`)))

	// An offer of the template now: before accepting, the customer reads
	// that the relative license counts per learner (no end date to show).
	relative := st.call(t, sd.ResellerToken, "POST", "/v1/customers/"+sd.CustomerID+"/offers",
		map[string]string{"template_id": string(sd.Template)}, http.StatusAccepted)["id"].(string)
	c.click("open Updates", "#nav-updates")
	c.click("open the offer of a relative license", fmt.Sprintf(`#inbox button.entry[data-offer-id=%s]`, js(relative)))
	c.waitFor("what accepting grants: per learner", `(document.getElementById('grant-preview') || {textContent: ''}).textContent
		.includes('Datenschutz-Grundlagen: per learner, from their start')`)
	c.fits(dev, "the offer of a relative license")

	// An item added from the catalog, with a term of that product.
	r.choose(tpl+" input.item-search", "arbeit")
	r.waitFor("the search narrows the picker to the one product and picks it", fmt.Sprintf(
		`document.querySelectorAll(%s).length === 1 && document.querySelector(%s).value === %s`,
		js(tpl+` select.item-product option:not([value=""])`), js(tpl+" select.item-product"), js(string(sd.OtherProduct))))
	r.waitFor("the term select offers the product's terms",
		fmt.Sprintf(`Array.from(document.querySelectorAll(%s), (o) => o.value).join(',') === '6,12'`, js(tpl+" select.item-term option")))
	r.choose(tpl+" select.item-term", "6")
	r.click("add the item", tpl+" button.item-add")
	r.waitFor("the template has two items", fmt.Sprintf(`document.querySelectorAll(%s).length === 2`, js(tpl+" tbody tr[data-item-id]")))
	if got := r.text(tpl + " tbody"); !strings.Contains(got, "Arbeitsschutz kompakt") || !strings.Contains(got, "6 months") {
		t.Errorf("template items = %q", got)
	}
	r.waitFor("the add form is cleared after the add", fmt.Sprintf(`document.querySelector(%s).value === '' && document.querySelector(%s).disabled`,
		js(tpl+" select.item-product"), js(tpl+" select.item-term")))

	// Removing an item leaves focus on its successor, the next item's mode
	// toggle, not on the page's body.
	r.click("remove the first item", tpl+" tbody tr[data-item-id]:first-child button.link")
	r.waitFor("one item left, focus on its mode toggle", fmt.Sprintf(`document.querySelectorAll(%s).length === 1 && document.activeElement === document.querySelector(%s)`,
		js(tpl+" tbody tr[data-item-id]"), js(tpl+" tbody tr[data-item-id] button.mode")))
	if got := r.text(tpl + " tbody"); !strings.Contains(got, "Arbeitsschutz kompakt") {
		t.Errorf("the item left = %q, want the one added", got)
	}

	// The plus button at the top creates a template; the page confirms it
	// and takes the person to it.
	r.click("the plus button", "#template-plus")
	r.do("name the template", chromedp.WaitVisible(chromedp.ID("template-name")), chromedp.SendKeys(chromedp.ID("template-name"), "Jahrespaket 2027"))
	r.click("create it", "#template-create")
	r.waitFor("the page confirms it", `document.getElementById('template-created').textContent === 'Template Jahrespaket 2027 created.'`)
	r.waitFor("focus is on the new template", `document.activeElement.tagName === 'H2' && document.activeElement.textContent === 'Jahrespaket 2027'`)

	// Archiving it takes its card away: focus goes to the template that
	// followed it, or to the plus button when it was the last.
	created := eval[string](r, `document.activeElement.closest('section.template').dataset.templateId`)
	successor := eval[string](r, `(() => {
		const next = document.activeElement.closest('section.template').nextElementSibling;
		return next ? 'section.template[data-template-id="' + next.dataset.templateId + '"] h2' : '#template-plus';
	})()`)
	eval[bool](r, `window.confirm = () => true; true`) // archiving asks first
	r.click("archive the new template", fmt.Sprintf(`section.template[data-template-id=%s] button.link.danger`, js(created)))
	r.waitFor("the template is gone, focus on its successor", fmt.Sprintf(`![...document.querySelectorAll('section.template h2')].some((h) => h.textContent === 'Jahrespaket 2027') &&
		document.activeElement === document.querySelector(%s)`, js(successor)))

	catalog(t, r, dev)

	// Signing out ends the session: the app sends the visitor to sign in.
	r.click("sign out", "#logout")
	r.do("back at sign-in", chromedp.WaitVisible(chromedp.ID("token")))
	r.do("open the app signed out", chromedp.Navigate(base+"/app"), chromedp.WaitVisible(chromedp.ID("token")))
}

// rowStatus is a JavaScript expression: the status shown in offer id's row.
func rowStatus(id string) string {
	return fmt.Sprintf(`(document.querySelector(%s) || {}).textContent`, js(`#offers tr[data-offer-id="`+id+`"] .status`))
}

// badgesAre is a JavaScript predicate: both unread badges show n.
func badgesAre(n int) string {
	return fmt.Sprintf(`['badge-admin', 'badge-updates'].every((id) => document.getElementById(id).dataset.count === '%d')`, n)
}

// sendOffer sends an offer of the seeded template from the reseller's form
// and returns its id once the list shows it delivered (status label delivered).
func sendOffer(r *tab, sd seed, delivered string) string {
	r.t.Helper()
	before := eval[int](r, `document.querySelectorAll('#offers tr[data-offer-id]').length`)
	r.choose("#offer-customer", sd.CustomerID)
	r.choose("#offer-template", string(sd.Template))
	r.click("send an offer", "#offer-send")
	r.waitFor("the new offer is listed", fmt.Sprintf(`document.querySelectorAll('#offers tr[data-offer-id]').length === %d`, before+1))
	id := eval[string](r, `document.querySelector('#offers tr[data-offer-id]').dataset.offerId`)
	r.waitFor("the new offer is delivered", rowStatus(id)+` === `+js(delivered))
	return id
}

// rejectAndWithdraw: the customer's badge rises live when an offer arrives;
// the customer rejects it with a reason, which the reseller sees; the
// reseller withdraws a third offer, and the customer's badge and inbox
// follow.
func rejectAndWithdraw(t *testing.T, r, c *tab, sd seed) {
	t.Helper()
	second := sendOffer(r, sd, "Waiting for Confirmation")
	c.waitFor("the customer's badge rises to 1 without a reload", badgesAre(1))
	entry := fmt.Sprintf(`#inbox button.entry.unread[data-offer-id=%s]`, js(second))
	c.click("open Updates", "#nav-updates")
	c.click("open the second offer", entry)
	c.do("give a reason", chromedp.WaitVisible(chromedp.ID("reject-reason")),
		chromedp.SendKeys(chromedp.ID("reject-reason"), "Zu teuer in diesem Jahr"))
	c.click("reject", "#reject")
	c.do("see it rejected", chromedp.WaitVisible(chromedp.CSS("#offer-status .status-rejected")))
	r.waitFor("the reseller sees the rejection and its reason", fmt.Sprintf(`%s === 'Rejected' &&
		document.querySelector(%s).textContent.includes('Reason: Zu teuer in diesem Jahr')`,
		rowStatus(second), js(`#offers tr[data-offer-id="`+second+`"]`)))

	third := sendOffer(r, sd, "Waiting for Confirmation")
	c.waitFor("the badge rises again", badgesAre(1))
	eval[bool](r, `window.confirm = () => true; true`) // the withdraw button asks first
	r.click("withdraw the third offer", fmt.Sprintf(`#offers tr[data-offer-id=%s] button.danger`, js(third)))
	r.waitFor("the offer shows Withdrawn", rowStatus(third)+` === 'Withdrawn'`)
	// The row's buttons are gone: focus is on what replaced them, the status.
	r.waitFor("focus on the withdrawn offer's status", fmt.Sprintf(`document.activeElement === document.querySelector(%s)`,
		js(`#offers tr[data-offer-id="`+third+`"] .status`)))
	c.waitFor("the badge drops back to 0", badgesAre(0))
	c.waitFor("the inbox lists all three, newest first",
		`Array.from(document.querySelectorAll('#inbox button.entry .status'), (e) => e.textContent).join('|') === 'Withdrawn|Rejected|Accepted'`)
}

// catalog: the reseller adds a product and searches the catalog by name.
func catalog(t *testing.T, r *tab, dev device) {
	t.Helper()
	rows := `document.querySelectorAll('#products tr[data-product-id]').length`
	r.click("open Products", "#nav-products")
	r.do("see the products", chromedp.WaitVisible(chromedp.CSS("#products tr[data-product-id]")))
	r.waitFor("both seeded products", rows+` === 2`)
	r.do("fill in a product", chromedp.SendKeys(chromedp.ID("product-name"), "Brandschutz-Unterweisung"),
		chromedp.SendKeys(chromedp.ID("product-terms"), "12, 36"))
	r.choose("#product-kind", "course")
	r.click("add the product", "#product-add")
	r.waitFor("the product is listed", rows+` === 3`)
	// A phone stacks the cells on lines of their own: compare the words.
	if got := strings.Join(strings.Fields(r.text("#products tbody")), " "); !strings.Contains(got, "Brandschutz-Unterweisung Course 12 months, 36 months") {
		t.Errorf("products = %q", got)
	}
	r.do("search", chromedp.SendKeys(chromedp.ID("product-search"), "ARBEIT"))
	r.waitFor("one product matches", rows+` === 1`)
	r.fits(dev, "products")
	if got := r.text("#products tbody"); !strings.Contains(got, "Arbeitsschutz kompakt") {
		t.Errorf("search result = %q", got)
	}
}

// customerPage: the reseller opens a customer instance from the list and
// gets its page (the help article's flow): the send view for that customer
// beside its offers; an offer sent there is listed there live, and can be
// withdrawn there.
func customerPage(t *testing.T, r *tab, sd seed) {
	t.Helper()
	r.click("open the customer instance", "#customers a.customer-link")
	r.waitFor("the customer's page", fmt.Sprintf(`(document.getElementById('customer-title') || {}).textContent === %s`, js(sd.CustomerName)))
	if n := eval[int](r, `document.querySelectorAll('#offer-customer').length`); n != 0 {
		t.Errorf("the customer's page asks for a customer (%d selects)", n)
	}
	r.waitFor("the customer's three offers", `document.querySelectorAll('#offers tr[data-offer-id]').length === 3`)
	r.waitFor("the templates to choose from", `document.querySelectorAll('#offer-template option').length === 3`)
	r.choose("#offer-template", string(sd.Template))
	r.click("send from the customer's page", "#offer-send")
	r.waitFor("the new offer is listed on the customer's page", `document.querySelectorAll('#offers tr[data-offer-id]').length === 4`)
	id := eval[string](r, `document.querySelector('#offers tr[data-offer-id]').dataset.offerId`)
	r.waitFor("it is delivered", rowStatus(id)+` === 'Waiting for Confirmation'`)
	r.waitFor("the line under the form says so", `document.getElementById('offer-sent').textContent.includes('Status: Waiting for Confirmation.')`)
	eval[bool](r, `window.confirm = () => true; true`)
	r.click("withdraw it there", fmt.Sprintf(`#offers tr[data-offer-id=%s] button.danger`, js(id)))
	r.waitFor("it shows Withdrawn", rowStatus(id)+` === 'Withdrawn'`)
	r.click("back to all customers", "#customer-back")
	r.do("see the customers", chromedp.WaitVisible(chromedp.CSS("#customers tr[data-customer-id]")))
}
