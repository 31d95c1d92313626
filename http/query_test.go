package http_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPaging(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	for _, n := range []string{"Charlie", "alpha", "Bravo"} {
		r.CreateProduct(t, n, 12)
	}
	pos := strconv.FormatUint(ts.Head(t), 10)
	page := r.Must(t, 200, "GET", "/v1/products?limit=2&min_position="+pos, nil).Map(t)
	items := page["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["name"] != "alpha" || items[1].(map[string]any)["name"] != "Bravo" {
		t.Fatalf("first page %v: want alpha, Bravo (by name)", items)
	}
	cursor, ok := page["next_cursor"].(string)
	if !ok || cursor == "" {
		t.Fatalf("next_cursor %v on a page that is not the last", page["next_cursor"])
	}
	page = r.Must(t, 200, "GET", "/v1/products?limit=2&cursor="+url.QueryEscape(cursor), nil).Map(t)
	items = page["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "Charlie" || page["next_cursor"] != nil {
		t.Fatalf("last page %v", page)
	}
	found := r.Must(t, 200, "GET", "/v1/products?q=RAV", nil).Map(t)["items"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["name"] != "Bravo" {
		t.Fatalf("q=RAV found %v", found)
	}
	if empty := r.Must(t, 200, "GET", "/v1/templates", nil).Body; !strings.Contains(string(empty), `"items":[]`) || !strings.Contains(string(empty), `"next_cursor":null`) {
		t.Fatalf("an empty list is %s", empty)
	}
}

func TestMinPosition_NotCaughtUp(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.WaitTimeout = 100 * time.Millisecond })
	_, r := ts.NewReseller(t, "R")
	ahead := strconv.FormatUint(ts.Head(t)+1000, 10)
	got := r.Do(t, "GET", "/v1/products?min_position="+ahead, nil)
	if got.Status != 503 || got.Code() != "not_caught_up" || got.Header.Get("Retry-After") == "" {
		t.Fatalf("got %s (Retry-After %q), want 503 not_caught_up with Retry-After", got, got.Header.Get("Retry-After"))
	}
	if got := r.Do(t, "GET", "/v1/products", nil, "X-Min-Position", ahead); got.Status != 503 {
		t.Fatalf("X-Min-Position: got %s", got)
	}
}

// TestReadYourWrites checks that a query passing the position of a command
// sees the command's effect.
func TestReadYourWrites(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	for i := range 20 {
		created := r.Must(t, 201, "POST", "/v1/customers", map[string]string{"name": "C" + strconv.Itoa(i)})
		id := str(t, created.Map(t), "id")
		r.Must(t, 200, "GET", "/v1/customers/"+id+"?min_position="+strconv.FormatUint(created.Position(t), 10), nil)
	}
}

func TestIfMatch(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	p := r.CreateProduct(t, "P", 12)
	tpl := r.CreateTemplate(t, "T")
	item := r.AddItem(t, tpl, p, 12)
	got := r.Must(t, 200, "GET", "/v1/templates/"+tpl+"?min_position="+strconv.FormatUint(ts.Head(t), 10), nil)
	etag := got.Header.Get("ETag")
	if etag != `"2"` || got.Map(t)["version"] != 2.0 {
		t.Fatalf("ETag %q, version %v; want \"2\"", etag, got.Map(t)["version"])
	}
	changed := r.Must(t, 200, "PATCH", "/v1/templates/"+tpl+"/items/"+item, map[string]string{"license_mode": "relative"}, "If-Match", etag)
	if changed.Header.Get("ETag") != `"3"` {
		t.Fatalf("ETag after the change %q", changed.Header.Get("ETag"))
	}
	stale := r.Do(t, "PATCH", "/v1/templates/"+tpl+"/items/"+item, map[string]string{"license_mode": "absolute"}, "If-Match", etag)
	if stale.Status != 412 || stale.Code() != "version_conflict" {
		t.Fatalf("stale If-Match: %s", stale)
	}
	r.Must(t, 200, "PATCH", "/v1/templates/"+tpl+"/items/"+item, map[string]string{"license_mode": "absolute"}, "If-Match", "*")
}

func TestOffer_AsOf(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	now := w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer, nil).Map(t)
	if now["status"] != "waiting_for_confirmation" || now["version"] != 3.0 {
		t.Fatalf("offer now: %v", now)
	}
	v1 := w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"?as_of_version=1", nil)
	if m := v1.Map(t); m["status"] != "waiting" || m["version"] != 1.0 || v1.Header.Get("ETag") != `"1"` {
		t.Fatalf("as of version 1: %v (ETag %s)", m, v1.Header.Get("ETag"))
	}
	created := now["created_at"].(string)
	if m := w.Auditor.Must(t, 200, "GET", "/v1/offers/"+w.Offer+"?as_of="+url.QueryEscape(created), nil).Map(t); m["status"] != "waiting" {
		t.Fatalf("as of its creation: %v", m)
	}
}

// TestIsolation checks the list paths: a tenant's lists hold only its own.
func TestIsolation(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	ts.Settle(t)
	ids := func(r Response) []string {
		var out []string
		for _, it := range r.Map(t)["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	if got := ids(w.OtherResellerC.Must(t, 200, "GET", "/v1/offers?customer_id="+w.Customer, nil)); len(got) != 0 {
		t.Fatalf("reseller B lists A's customer's offers: %v", got)
	}
	if got := ids(w.OtherResellerC.Must(t, 200, "GET", "/v1/offers", nil)); len(got) != 1 || got[0] != w.ForeignOffer {
		t.Fatalf("reseller B's offers: %v", got)
	}
	if got := ids(w.ResellerC.Must(t, 200, "GET", "/v1/offers?status=waiting_for_confirmation", nil)); len(got) != 2 {
		t.Fatalf("reseller A's pending offers: %v", got)
	}
	if got := ids(w.Auditor.Must(t, 200, "GET", "/v1/offers", nil)); len(got) != 2 {
		t.Fatalf("A's auditor sees %v", got)
	}
	if got := ids(w.AuditorAll.Must(t, 200, "GET", "/v1/offers", nil)); len(got) != 3 {
		t.Fatalf("the auditor of every reseller sees %v", got)
	}
	if got := ids(w.SiblingCustomerC.Must(t, 200, "GET", "/v1/inbox", nil)); len(got) != 1 || got[0] != w.SiblingOffer {
		t.Fatalf("the sibling's inbox: %v", got)
	}
	feed := string(w.CustomerC.Must(t, 200, "GET", "/v1/audit/events", nil).Body)
	if !strings.Contains(feed, w.Offer) || strings.Contains(feed, w.SiblingOffer) || strings.Contains(feed, w.ForeignOffer) {
		t.Fatalf("the customer's audit feed:\n%s", feed)
	}
	lines := strings.Split(strings.TrimSpace(string(w.Auditor.Must(t, 200, "GET", "/v1/audit/events?limit=2", nil).Body)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"position"`) {
		t.Fatalf("audit feed page: %q", lines)
	}
	customer := w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer, nil).Map(t)
	counts := customer["offer_counts"].(map[string]any)
	if counts["waiting_for_confirmation"] != 1.0 || counts["accepted"] != 0.0 || len(customer["offers"].([]any)) != 1 {
		t.Fatalf("customer detail: %v", customer)
	}
}

func TestCookieSession(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	r.Must(t, 200, "GET", "/v1/products", nil, "Cookie", "offerflow_session="+r.Token)
	got := ts.As("").Do(t, "GET", "/v1/products", nil, "Cookie", "offerflow_session=ofr_forged")
	if got.Status != 401 || got.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("a forged cookie: %s", got)
	}
	// The header wins over the cookie.
	if got := ts.As("").Do(t, "GET", "/v1/products", nil, "Cookie", "offerflow_session="+r.Token, "Authorization", "Bearer ofr_forged"); got.Status != 401 {
		t.Fatalf("a bad header with a good cookie: %s", got)
	}
	if got := ts.As("").Do(t, "GET", "/v1/products", nil, "Authorization", "Basic "+r.Token); got.Status != 401 {
		t.Fatalf("a Basic credential: %s", got)
	}
}

// TestUI checks the web UI's routes through the API's router, and that a
// write authenticated by the session cookie must come from this site.
func TestUI(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	_, r := ts.NewReseller(t, "R")
	anon := ts.As("")
	if got := anon.Must(t, 200, "GET", "/", nil); !strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: %s", got.Header.Get("Content-Type"))
	}
	anon.Must(t, 200, "GET", "/app", nil)
	anon.Must(t, 401, "GET", "/session", nil)
	who := anon.Must(t, 200, "GET", "/session", nil, "Cookie", "offerflow_session="+r.Token).Map(t)
	if who["role"] != "reseller" {
		t.Fatalf("session: %v", who)
	}
	cookie := "offerflow_session=" + r.Token
	r2 := ts.As("")
	r2.Must(t, 201, "POST", "/v1/templates", map[string]string{"name": "same site"}, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	before := ts.Head(t)
	got := r2.Do(t, "POST", "/v1/templates", map[string]string{"name": "cross site"}, "Cookie", cookie, "Sec-Fetch-Site", "cross-site")
	if got.Status != 403 || got.Code() != "forbidden" || ts.Head(t) != before {
		t.Fatalf("a cross-site write with the cookie: %s", got)
	}
	// A bearer token is not sent by browsers on their own: no such check.
	r.Must(t, 201, "POST", "/v1/templates", map[string]string{"name": "api"}, "Sec-Fetch-Site", "cross-site")
}
