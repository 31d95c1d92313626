package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// LangCookie remembers the language a visitor switched to. It is not
// secret and carries no session, so scripts may read it.
const LangCookie = "offerflow_lang"

// languages are the UI's languages; the first is the fallback.
var languages = []language.Tag{language.English, language.German}

// catalog is one language's messages: key to text, with {name}
// placeholders. The same file is served to the page (/assets/messages.LANG.json)
// and used by the server for the pages it renders, so there is one
// catalogue per language.
type catalog map[string]string

// text returns the message for key with its placeholders filled from
// args (name, value, name, value...). A missing key is an error, so that
// a page never shows a key in place of words.
func (c catalog) text(key string, args ...any) (string, error) {
	s, ok := c[key]
	if !ok {
		return "", fmt.Errorf("ui: no message %q", key)
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s, nil
}

// loadCatalogs reads the message catalogue of every language.
func loadCatalogs() (map[string]catalog, error) {
	out := map[string]catalog{}
	for _, tag := range languages {
		base, _ := tag.Base()
		b, err := assetFS.ReadFile("assets/messages." + base.String() + ".json")
		if err != nil {
			return nil, fmt.Errorf("ui: read the %s messages: %w", base, err)
		}
		var c catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("ui: parse the %s messages: %w", base, err)
		}
		out[base.String()] = c
	}
	return out, nil
}

// langMatcher picks the UI language closest to what a browser asks for.
var langMatcher = language.NewMatcher(languages)

// lang is the language of a request: the one the visitor switched to
// (?lang= on this request, else the cookie), or else the best match of
// Accept-Language, or English.
func (h *Handler) lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); h.catalogs[l] != nil {
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil && h.catalogs[c.Value] != nil {
		return c.Value
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := langMatcher.Match(tags...)
	base, _ := languages[i].Base()
	return base.String()
}

// rememberLang handles ?lang= on a page: it sets the cookie that keeps
// the choice and sends the browser to the same page without the query (the
// fragment, which names the section, survives a redirect). It reports
// whether it answered.
func (h *Handler) rememberLang(w http.ResponseWriter, r *http.Request) bool {
	l := r.URL.Query().Get("lang")
	if l == "" {
		return false
	}
	if h.catalogs[l] != nil {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || h.cfg.SecureCookie})
	}
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// pageData is what the server-rendered pages show: the language, the
// translation function, and an optional error (sign-in).
type pageData struct {
	Lang  string
	Error string
	t     catalog
}

// T returns the message for key in the page's language.
func (p pageData) T(key string, args ...any) (string, error) { return p.t.text(key, args...) }

// Text returns the message for key in lang ("en" or "de"; any other is
// English), or key itself when the catalogue lacks it. The API's
// dashboard charts take their texts from here, so that the charts and the
// pages around them speak the same words.
func (h *Handler) Text(lang, key string) string {
	c, ok := h.catalogs[lang]
	if !ok {
		c = h.catalogs["en"]
	}
	if s, ok := c[key]; ok {
		return s
	}
	return key
}
