package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/http/ui"
)

// readCatalog reads one language's message catalogue as the page gets it.
func readCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("assets", "messages."+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("messages.%s.json: %v", lang, err)
	}
	return m
}

var placeholder = regexp.MustCompile(`\{\w+\}`)

// TestCatalogs_SameKeys: the English and German catalogues name the same
// messages, none empty, each with the same placeholders in both.
func TestCatalogs_SameKeys(t *testing.T) {
	en, de := readCatalog(t, "en"), readCatalog(t, "de")
	for k := range en {
		if _, ok := de[k]; !ok {
			t.Errorf("%q is in English only", k)
		}
	}
	for k := range de {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in German only", k)
		}
	}
	for k, e := range en {
		d, ok := de[k]
		if !ok {
			continue
		}
		if strings.TrimSpace(e) == "" || strings.TrimSpace(d) == "" {
			t.Errorf("%q is empty in a language", k)
		}
		pe, pd := placeholder.FindAllString(e, -1), placeholder.FindAllString(d, -1)
		slices.Sort(pe)
		slices.Sort(pd)
		if !slices.Equal(pe, pd) {
			t.Errorf("%q: placeholders %v in English, %v in German", k, pe, pd)
		}
	}
}

// TestCatalogs_ArticleWords: where the reseller help article names a thing,
// the German catalogue uses its word.
func TestCatalogs_ArticleWords(t *testing.T) {
	de := readCatalog(t, "de")
	for key, want := range map[string]string{
		"nav.templates": "Modul-Templates", "offers.template": "Modul-Template", "item.add": "Produkt hinzufügen",
		"item.add.title": "Produkt hinzufügen", "col.term": "Lizenzlaufzeit", "mode.absolute": "absolut",
		"mode.relative": "relativ", "nav.customers": "Instanzen", "col.message": "Nachricht",
		"offers.send": "Speichern und aktualisieren", "offers.revise.save": "Speichern und aktualisieren", "status.waiting": "Warten",
		"status.waiting_for_confirmation": "Warten auf Bestätigung", "offers.withdraw": "Vorgang abbrechen",
		"nav.updates": "Updates", "inbox.title": "Angebotsdashboard", "accept": "Annehmen", "reject": "Ablehnen",
	} {
		if de[key] != want {
			t.Errorf("German %s = %q, want the article's %q", key, de[key], want)
		}
	}
}

// keyLiteral is a quoted string in a script that looks like a message key.
var keyLiteral = regexp.MustCompile(`'([a-z]+(?:\.[a-z_]+)+)'`)

// dynamicKeys are the keys the scripts build from a value (t(`status.${s}`)).
var dynamicKeys = map[string][]string{
	"status":      {"waiting", "waiting_for_confirmation", "accepted", "rejected", "withdrawn", "expired", "delivery_failed", "superseded"},
	"kind":        {"module", "course"},
	"mode":        {"absolute", "relative"},
	"role":        {"reseller", "customer", "auditor", "operator", "system"},
	"audit.chain": {"content", "link", "version"},
	"audit.sig":   {"valid", "invalid", "unsupported"},
}

// TestScripts_UseOnlyCatalogKeys: every key a script names, literally or
// built from a value, is in the catalogue, so no page shows a key in place
// of words. (At run time a missing key is also a console error, which fails
// the browser tests.)
func TestScripts_UseOnlyCatalogKeys(t *testing.T) {
	en := readCatalog(t, "en")
	files, err := filepath.Glob("assets/*.js")
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyLiteral.FindAllStringSubmatch(string(b), -1) {
			used++
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s names %q, which is not in the catalogue", f, m[1])
			}
		}
	}
	if used < 100 {
		t.Errorf("found only %d message keys in the scripts; is the pattern still right?", used)
	}
	// The auditor's timeline names every event of an offer's history
	// (event.TYPE): the offer's own and its grant's.
	for _, typ := range domain.EventTypes() {
		if strings.HasPrefix(typ, "offer.") || typ == domain.TypeLicensesGranted {
			if _, ok := en["event."+typ]; !ok {
				t.Errorf("no message event.%s for the auditor's timeline", typ)
			}
		}
	}
	for prefix, values := range dynamicKeys {
		for _, v := range values {
			if _, ok := en[prefix+"."+v]; !ok {
				t.Errorf("no message %s.%s", prefix, v)
			}
		}
	}
}

// TestLanguage: the pages come in the language of Accept-Language, or the
// one the visitor switched to (?lang=, remembered in a cookie), and English
// otherwise; every server-rendered text comes from the catalogue.
func TestLanguage(t *testing.T) {
	h := MustNew(t)
	get := func(path, accept string, cookie *http.Cookie) *http.Response {
		r := httptest.NewRequest("GET", path, nil)
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		if cookie != nil {
			r.AddCookie(cookie)
		}
		return serve(h, r)
	}
	de, en := readCatalog(t, "de"), readCatalog(t, "en")
	for _, tc := range []struct {
		path, accept string
		cookie       *http.Cookie
		lang         string
		words        []string
	}{
		{"/", "de-DE,de;q=0.9,en;q=0.8", nil, "de", []string{de["signin.submit"], de["signin.token"], "English"}},
		{"/", "de-AT", nil, "de", []string{de["signin.intro"]}},
		{"/", "fr-FR,fr;q=0.9", nil, "en", []string{en["signin.submit"], "Deutsch"}},
		{"/", "", nil, "en", []string{en["signin.intro"]}},
		{"/app", "de", nil, "de", []string{de["app.signout"], de["app.loading"]}},
		{"/app", "en-GB", nil, "en", []string{en["app.signout"]}},
		{"/app", "de", &http.Cookie{Name: ui.LangCookie, Value: "en"}, "en", []string{en["app.signout"]}},
		{"/", "en", &http.Cookie{Name: ui.LangCookie, Value: "de"}, "de", []string{de["signin.submit"]}},
		{"/", "en", &http.Cookie{Name: ui.LangCookie, Value: "xx"}, "en", []string{en["signin.submit"]}},
	} {
		res := get(tc.path, tc.accept, tc.cookie)
		b := body(t, res)
		if res.StatusCode != 200 || !strings.Contains(b, `<html lang="`+tc.lang+`">`) || res.Header.Get("Content-Language") != tc.lang {
			t.Errorf("GET %s (Accept-Language %q, cookie %v): %d, Content-Language %q; want lang %s\n%s",
				tc.path, tc.accept, tc.cookie, res.StatusCode, res.Header.Get("Content-Language"), tc.lang, b)
			continue
		}
		for _, w := range tc.words {
			if !strings.Contains(b, htmlEscape(w)) {
				t.Errorf("GET %s in %s does not say %q", tc.path, tc.lang, w)
			}
		}
	}

	// The switch: ?lang=de sets the cookie and sends the browser back to the page.
	res := get("/app?lang=de", "en", nil)
	var lc *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == ui.LangCookie {
			lc = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app" || lc == nil || lc.Value != "de" || lc.MaxAge <= 0 {
		t.Errorf("GET /app?lang=de: %d to %q, cookie %v; want 303 to /app setting %s=de for long", res.StatusCode, res.Header.Get("Location"), lc, ui.LangCookie)
	}
	if res := get("/?lang=xx", "", nil); res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 0 {
		t.Errorf("GET /?lang=xx: %d, cookies %v; want a redirect setting nothing", res.StatusCode, res.Cookies())
	}

	// A sign-in error in German.
	r := signIn("ofr_not-a-token")
	r.Header.Set("Accept-Language", "de")
	if b := body(t, serve(h, r)); !strings.Contains(b, htmlEscape(de["signin.error.invalid"])) {
		t.Errorf("German sign-in error missing:\n%s", b)
	}

	// The catalogues are served to the page.
	for _, l := range []string{"en", "de"} {
		res := serve(h, httptest.NewRequest("GET", "/assets/messages."+l+".json", nil))
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("messages.%s.json: %d %q", l, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

// htmlEscape escapes s as html/template writes text.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
