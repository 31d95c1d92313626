package ui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the directory the browser tests write screenshots
// of every main page to (both languages, desktop and phone). Unset, they
// write none, so that CI does not fill its disk.
const ScreenshotsEnv = "OFFERFLOW_UI_SCREENSHOTS"

// device is a browser window the tour runs in.
type device struct {
	name   string
	width  int64
	height int64
	mobile bool
}

var (
	desktop = device{name: "desktop", width: 1280, height: 900}
	phone   = device{name: "phone", width: 390, height: 844, mobile: true}
)

// openTabAs opens a tab (with its own cookie jar) whose browser asks for
// the pages in acceptLanguage, in the window of dev: a phone is emulated as
// one (mobile, touch, portrait, 390 CSS pixels wide).
func openTabAs(t *testing.T, browser context.Context, name, acceptLanguage string, dev device) *tab {
	t.Helper()
	tb := openTab(t, browser, name)
	ua := eval[string](tb, `navigator.userAgent`)
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	// acceptLanguage is a list of languages (de-DE,de); Chrome writes the
	// header with its own q-values, and sets navigator.languages to match.
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride,
		emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: acceptLanguage}); err != nil {
		t.Fatalf("%s: accept language: %v", name, err)
	}
	if dev.mobile {
		tb.do("emulate a phone", chromedp.EmulateViewport(dev.width, dev.height,
			chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(3)))
	} else {
		tb.do("set the window", chromedp.EmulateViewport(dev.width, dev.height))
	}
	return tb
}

// keyShown is a JavaScript expression: the first text on the page that
// looks like a message key (words joined by dots) rather than words, or "".
const keyShown = `(() => {
	const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = w.nextNode(); n; n = w.nextNode()) {
		const s = n.data.trim();
		if (/^[a-z]+(\.[a-z_]+)+$/.test(s)) return s;
	}
	for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
		for (const a of ['aria-label', 'title', 'placeholder']) {
			const s = (el.getAttribute(a) || '').trim();
			if (/^[a-z]+(\.[a-z_]+)+$/.test(s)) return s;
		}
	}
	return '';
})()`

// junkShown is a JavaScript expression: the first text on the page where a
// script wrote a missing value (null, undefined, NaN, Invalid Date) as
// words, or "". (replaceChildren, unlike h, writes a null child as "null":
// the customer's open offer read "nullnull" above its message.)
const junkShown = `(() => {
	const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = w.nextNode(); n; n = w.nextNode()) {
		if (/\b(null|undefined|NaN|Invalid Date)\b/.test(n.data)) return n.data.trim();
	}
	return '';
})()`

// fitsWidth is a JavaScript predicate: the page does not scroll sideways.
// Under mobile emulation Chrome zooms a too-wide page out, which would hide
// the overflow; so innerWidth must still be the device's width too.
func fitsWidth(width int64) string {
	return fmt.Sprintf(`document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth === %d`, width)
}

// tooWide is a JavaScript expression naming the widest elements that reach
// past the window's right edge, for the failure message.
const tooWide = `(() => {
	const out = [];
	for (const el of document.querySelectorAll('body *')) {
		const r = el.getBoundingClientRect();
		if (r.right > window.innerWidth + 0.5 && r.width > 0) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') + ' ' + Math.round(r.right));
	}
	return 'scrollWidth ' + document.documentElement.scrollWidth + ', innerWidth ' + window.innerWidth + '; past the edge: ' + out.slice(0, 12).join(', ');
})()`

// pastCard is a JavaScript expression naming the first element that
// reaches past the right edge of the card (the white box, or on a phone a
// table row drawn as a box) holding it, or "": a table too wide for its
// card shows outside it even where the page itself still fits the window
// (the sent time kept on one line pushed the instance page's offers 34 px
// past their card in a 1280 px window).
const pastCard = `(() => {
	for (const card of document.querySelectorAll('.card, tbody tr')) {
		const edge = card.getBoundingClientRect().right + 0.5;
		for (const el of card.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > edge) {
				return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ends at ' + Math.round(r.right) + ', its card at ' + Math.round(edge);
			}
		}
	}
	return '';
})()`

// fits fails the test when the page (where) scrolls sideways in dev's
// window, or when something sticks out of its card.
func (tb *tab) fits(dev device, where string) {
	tb.t.Helper()
	if !eval[bool](tb, fitsWidth(dev.width)) {
		tb.t.Errorf("%s: %s scrolls sideways in a %d px window: %s", tb.name, where, dev.width, eval[string](tb, tooWide))
	}
	if got := eval[string](tb, pastCard); got != "" {
		tb.t.Errorf("%s: %s: something sticks out of its card in a %d px window: %s", tb.name, where, dev.width, got)
	}
}

// visit opens page (a section) by its navigation link when nav is set,
// waits until ready (a selector) is visible, and checks the page: no message key shown in place
// of words, and no sideways scrolling (on the desktop too). With ScreenshotsEnv set it
// saves a screenshot named after the language, device and page.
func (tb *tab) visit(lang string, dev device, page string, nav bool, ready string) {
	tb.t.Helper()
	if nav {
		tb.click("open "+page, "#nav-"+page)
	}
	tb.do("see "+page, chromedp.WaitVisible(chromedp.CSS(ready)))
	if k := eval[string](tb, keyShown); k != "" {
		tb.t.Errorf("%s: %s page (%s) shows the message key %q", tb.name, page, lang, k)
	}
	if j := eval[string](tb, junkShown); j != "" {
		tb.t.Errorf("%s: %s page (%s) shows a missing value as text: %q", tb.name, page, lang, j)
	}
	tb.fits(dev, page+" page ("+lang+")")
	// The navigation is compact on a phone: two short lines (it took
	// 150-225 px before, a quarter of the screen).
	if h := eval[float64](tb, `(document.querySelector('.topbar') || {getBoundingClientRect: () => ({height: 0})}).getBoundingClientRect().height`); dev.mobile && h > 100 {
		tb.t.Errorf("%s: the top bar of the %s page (%s) is %.0f px high on a phone, want at most 100", tb.name, page, lang, h)
	}
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("%s: screenshot of %s: %v", tb.name, page, err)
	}
	name := fmt.Sprintf("%s-%s-%s-%s.png", lang, dev.name, strings.SplitN(tb.name, " ", 2)[0], page)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}
