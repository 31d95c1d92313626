package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds each browser step; the whole scenario takes a few
// seconds when nothing is wrong. It only bounds how long a broken step
// takes to fail: with load averages of 30 and more on two cores (several
// Chromiums and test builds at once) a sign-in alone took over 20 seconds.
const stepTimeout = 60 * time.Second

// chromiumPath finds Debian's chromium. Without one the browser tests skip,
// except in CI (CI=true), where they must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium binary, and CI=true: the browser tests must run (apt-get install -y chromium)")
	}
	t.Skip("skipping the browser tests: no chromium binary (apt-get install -y chromium)")
	return ""
}

// newBrowser starts chromium with exactly the flags below and a fresh
// profile, and returns a context of its first tab. It fails the test on
// any uncaught exception or console error in a page.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab (with its own cookie jar when it was opened in a
// new browser context) and the test it reports to.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu     sync.Mutex
	errors []string
}

// openTab opens a tab in a new browser context of browser, so that its
// session cookie is its own.
func openTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, name: name, ctx: ctx}
	if err := chromedp.Listen(ctx, tb.onEvent); err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("%s: %s", name, e)
		}
	})
	return tb
}

// onEvent keeps the page's script errors; it runs in chromedp's event loop,
// so it only records.
func (tb *tab) onEvent(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "uncaught exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	tb.mu.Lock()
	tb.errors = append(tb.errors, msg)
	tb.mu.Unlock()
}

// do runs browser steps, failing the test with what it was doing.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// click waits until sel matches a visible element that is enabled and
// clicks it. A live update may still swap the element between finding it
// and clicking it (chromedp: "Could not find node with given id"), so the
// find-and-click is repeated until it succeeds or the step's time is up.
func (tb *tab) click(what, sel string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	ready := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && !el.disabled && el.getClientRects().length > 0; })()`, js(sel))
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline)
		_, err := chromedp.Run(ctx,
			chromedp.Poll[bool](ready, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || tb.ctx.Err() != nil {
			tb.t.Fatalf("%s: %s: click %s: %v", tb.name, what, sel, err)
		}
	}
}

// waitFor polls a JavaScript predicate until it is true.
func (tb *tab) waitFor(what, predicate string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline.Add(time.Second))
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return
		}
		// A page that navigates (a reload, the language switch) takes the
		// poll's JavaScript context with it: poll again in the new page.
		if !navigatedAway(err) || time.Now().After(deadline) {
			tb.t.Fatalf("%s: waiting until %s: %v\n(predicate: %s)", tb.name, what, err, predicate)
		}
	}
}

// navigatedAway reports whether err says the page's JavaScript context
// went away under a running evaluation, as it does when the page navigates.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") || strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated or closed")
}

// text returns the visible text of the first element sel matches.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("%s: text of %s: %v", tb.name, sel, err)
	}
	return s
}

// eval runs a JavaScript expression and returns its value as JSON-decoded T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// signIn goes to the sign-in page, pastes token and lands on the app.
func (tb *tab) signIn(base, token, landing string) {
	tb.t.Helper()
	tb.do("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(landing)),
	)
}

// choose sets a select's or an input's value and fires input and change,
// as a person choosing it would.
func (tb *tab) choose(sel, value string) {
	tb.t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s;
		s.dispatchEvent(new Event('input', {bubbles: true})); s.dispatchEvent(new Event('change', {bubbles: true}));
		return s.value; })()`, js(sel), js(value))
	if got := eval[string](tb, js); got != value {
		tb.t.Fatalf("%s: select %s: value %q, want %q (no such option?)", tb.name, sel, got, value)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
