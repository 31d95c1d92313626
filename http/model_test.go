package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// The model-based test drives the real router over real SQLite with random
// commands and queries of several resellers and customers, and after every
// step checks the answer against a small model of offers, and that no
// answer to one tenant names anything of another.

// owner is whom an id belongs to: a reseller, and for customers and
// offers also the customer.
type owner struct{ reseller, customer string }

type mReseller struct {
	id, token, template string
	customers           []*mCustomer
}

type mCustomer struct {
	id, token string
	reseller  *mReseller
}

type mOffer struct {
	id       string
	reseller *mReseller
	customer *mCustomer
	status   string
}

// model is what the test believes the server holds.
type model struct {
	ts        *TestServer
	resellers []*mReseller
	customers []*mCustomer
	offers    []*mOffer
	owners    map[string]owner // every id the test created, server-wide
	minPos    uint64           // the last log position a command answered
	requests  *atomic.Int64
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// do sends a request as token and checks that the body names nothing the
// caller (reseller r, or customer c of r) may not see.
func (m *model) do(t *rapid.T, as owner, token, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, m.ts.URL()+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m.requests.Add(1)
	for _, id := range uuidPattern.FindAllString(string(b), -1) {
		o, known := m.owners[id]
		if !known || as.reseller == "*" || o.reseller == as.reseller && (as.customer == "" || o.customer == "" || o.customer == as.customer) {
			continue
		}
		t.Fatalf("%s %s as %+v answered an id of %+v: %s", method, path, as, o, b)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && method != "GET" {
		if p, err := strconv.ParseUint(resp.Header.Get("X-Log-Position"), 10, 64); err == nil && p > m.minPos {
			m.minPos = p
		}
	}
	return resp.StatusCode, out, resp.Header
}

// want fails unless status is want.
func want(t *rapid.T, what string, status, want int, body map[string]any) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d %v, want %d", what, status, body, want)
	}
}

func (m *model) operator(t *rapid.T, want_ int, path string, body any) map[string]any {
	t.Helper()
	st, b, _ := m.do(t, owner{reseller: "*"}, operatorToken, "POST", path, body)
	want(t, "POST "+path, st, want_, b)
	return b
}

func (m *model) newToken(t *rapid.T, role, tenant string) string {
	return m.operator(t, 201, "/v1/tokens", map[string]string{"role": role, "tenant": tenant})["token"].(string)
}

func (m *model) addReseller(t *rapid.T, n int) *mReseller {
	r := &mReseller{id: m.operator(t, 201, "/v1/resellers", map[string]string{"name": fmt.Sprintf("Reseller %d", n)})["id"].(string)}
	m.owners[r.id] = owner{reseller: r.id}
	r.token = m.newToken(t, "reseller", r.id)
	as := owner{reseller: r.id}
	st, p, _ := m.do(t, as, r.token, "POST", "/v1/products", map[string]any{"name": "Module", "kind": "module", "license_terms_months": []int{12}})
	want(t, "add product", st, 201, p)
	m.owners[p["id"].(string)] = as
	st, tpl, _ := m.do(t, as, r.token, "POST", "/v1/templates", map[string]string{"name": "Basics"})
	want(t, "create template", st, 201, tpl)
	r.template = tpl["id"].(string)
	m.owners[r.template] = as
	st, tpl, _ = m.do(t, as, r.token, "POST", "/v1/templates/"+r.template+"/items", map[string]any{"product_id": p["id"], "term_months": 12})
	want(t, "add item", st, 201, tpl)
	for _, it := range tpl["items"].([]any) {
		m.owners[it.(map[string]any)["id"].(string)] = as
	}
	m.resellers = append(m.resellers, r)
	return r
}

func (m *model) addCustomer(t *rapid.T, r *mReseller) {
	st, c, _ := m.do(t, owner{reseller: r.id}, r.token, "POST", "/v1/customers", map[string]string{"name": fmt.Sprintf("Customer %d", len(m.customers)+1)})
	want(t, "create customer", st, 201, c)
	mc := &mCustomer{id: c["id"].(string), reseller: r}
	m.owners[mc.id] = owner{reseller: r.id, customer: mc.id}
	mc.token = m.newToken(t, "customer", mc.id)
	r.customers = append(r.customers, mc)
	m.customers = append(m.customers, mc)
}

// q is a query path that reads the model's own writes.
func (m *model) q(path string) string {
	sep := "?"
	if bytes.ContainsRune([]byte(path), '?') {
		sep = "&"
	}
	return path + sep + "min_position=" + strconv.FormatUint(m.minPos, 10)
}

// sendOffer has r send an offer to c, which may be another reseller's.
func (m *model) sendOffer(t *rapid.T, r *mReseller, c *mCustomer) {
	as := owner{reseller: r.id}
	st, b, _ := m.do(t, as, r.token, "POST", "/v1/customers/"+c.id+"/offers", map[string]string{"template_id": r.template, "message": "for you"})
	if c.reseller != r {
		want(t, "offer to a foreign customer", st, 404, b)
		return
	}
	want(t, "send offer", st, 202, b)
	o := &mOffer{id: b["id"].(string), reseller: r, customer: c}
	m.owners[o.id] = owner{reseller: r.id, customer: c.id}
	m.offers = append(m.offers, o)
	// The test delivers the offer itself, as the delivery process would
	// (the server runs without process managers): the model stays exact.
	_, res, err := m.ts.Service.DeliverOffer(context.Background(), command.Meta{Actor: domain.SystemActor("test")}, domain.OfferID(o.id), 1)
	if err != nil {
		t.Fatalf("deliver %s: %v", o.id, err)
	}
	m.minPos = max(m.minPos, res.Position)
	o.status = "waiting_for_confirmation"
}

// decide has the reseller withdraw or the customer accept or reject.
func (m *model) decide(t *rapid.T, kind int, r *mReseller, c *mCustomer, o *mOffer) {
	pending := o.status == "waiting_for_confirmation"
	var st int
	var b map[string]any
	var mine bool
	var next string
	switch kind {
	case 0:
		st, b, _ = m.do(t, owner{reseller: r.id}, r.token, "POST", "/v1/offers/"+o.id+"/withdraw", map[string]any{})
		mine, next = o.reseller == r, "withdrawn"
	case 1:
		st, b, _ = m.do(t, owner{reseller: c.reseller.id, customer: c.id}, c.token, "POST", "/v1/inbox/"+o.id+"/accept", map[string]any{})
		mine, next = o.customer == c, "accepted"
	default:
		st, b, _ = m.do(t, owner{reseller: c.reseller.id, customer: c.id}, c.token, "POST", "/v1/inbox/"+o.id+"/reject", map[string]any{"reason": "not now"})
		mine, next = o.customer == c, "rejected"
	}
	switch {
	case !mine:
		want(t, next+" of another tenant's offer", st, 404, b)
	case !pending:
		want(t, next+" of a "+o.status+" offer", st, 409, b)
	default:
		want(t, next, st, 200, b)
		if b["status"] != next {
			t.Fatalf("%s answered status %v", next, b["status"])
		}
		o.status = next
	}
}

// check compares what r's and c's queries answer with the model.
func (m *model) check(t *rapid.T, r *mReseller, c *mCustomer, o *mOffer) {
	st, v, _ := m.do(t, owner{reseller: r.id}, r.token, "GET", m.q("/v1/offers/"+o.id), nil)
	if o.reseller != r {
		want(t, "another reseller's offer", st, 404, v)
	} else if want(t, "offer", st, 200, v); v["status"] != o.status {
		t.Fatalf("offer %s is %v, the model says %s", o.id, v["status"], o.status)
	}

	st, list, _ := m.do(t, owner{reseller: r.id}, r.token, "GET", m.q("/v1/offers?limit=500"), nil)
	want(t, "offer list", st, 200, list)
	var got, wantIDs []string
	for _, it := range list["items"].([]any) {
		got = append(got, it.(map[string]any)["id"].(string))
	}
	for _, mo := range m.offers {
		if mo.reseller == r {
			wantIDs = append(wantIDs, mo.id)
		}
	}
	sameSet(t, "reseller's offers", got, wantIDs)

	st, inbox, _ := m.do(t, owner{reseller: c.reseller.id, customer: c.id}, c.token, "GET", m.q("/v1/inbox?limit=500"), nil)
	want(t, "inbox", st, 200, inbox)
	got, wantIDs = nil, nil
	for _, it := range inbox["items"].([]any) {
		e := it.(map[string]any)
		got = append(got, e["offer_id"].(string))
		for _, mo := range m.offers {
			if mo.id == e["offer_id"] && e["status"] != mo.status {
				t.Fatalf("inbox shows offer %s %v, the model says %s", mo.id, e["status"], mo.status)
			}
		}
	}
	for _, mo := range m.offers {
		if mo.customer == c {
			wantIDs = append(wantIDs, mo.id)
		}
	}
	sameSet(t, "customer's inbox", got, wantIDs)
}

func sameSet(t *rapid.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: server %v, model %v", what, got, want)
	}
}

// TestModel_TenantsAndOffers runs the model-based test: random resellers,
// customers and offers on one server, each step checked against the model.
func TestModel_TenantsAndOffers(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	owners := map[string]owner{}
	var requests atomic.Int64
	start := time.Now()
	checks, rounds := 0, 0
	for requests.Load() < 10_000 {
		rounds++
		rapid.Check(t, func(rt *rapid.T) {
			checks++
			m := &model{ts: ts, owners: owners, requests: &requests}
			for i := range rapid.IntRange(2, 3).Draw(rt, "resellers") {
				r := m.addReseller(rt, i)
				for range rapid.IntRange(1, 3).Draw(rt, "customers") {
					m.addCustomer(rt, r)
				}
			}
			pickR := func() *mReseller { return rapid.SampledFrom(m.resellers).Draw(rt, "reseller") }
			pickC := func() *mCustomer { return rapid.SampledFrom(m.customers).Draw(rt, "customer") }
			for range rapid.IntRange(50, 110).Draw(rt, "steps") {
				if len(m.offers) == 0 {
					m.sendOffer(rt, pickR(), pickC())
					continue
				}
				o := rapid.SampledFrom(m.offers).Draw(rt, "offer")
				switch rapid.IntRange(0, 9).Draw(rt, "action") {
				case 0, 1:
					m.sendOffer(rt, pickR(), pickC())
				case 2:
					m.decide(rt, 0, pickR(), nil, o)
				case 3, 4:
					m.decide(rt, 1, nil, pickC(), o)
				case 5:
					m.decide(rt, 2, nil, pickC(), o)
				case 6:
					m.addCustomer(rt, pickR())
				case 7:
					c := pickC()
					st, b, _ := m.do(rt, owner{reseller: c.reseller.id, customer: c.id}, c.token, "POST", "/v1/inbox/"+o.id+"/read", map[string]any{})
					if o.customer == c {
						want(rt, "read", st, 204, b)
					} else {
						want(rt, "read another's offer", st, 404, b)
					}
				default:
					m.check(rt, pickR(), pickC(), o)
				}
			}
		})
		if t.Failed() {
			return
		}
	}
	t.Logf("%d requests in %d checks (%d rapid.Check runs), %s", requests.Load(), checks, rounds, time.Since(start).Round(time.Millisecond))
}
