package http_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Fixtures built through the API, as a client would.

// NewToken has the operator issue a token and returns a client holding it.
func (ts *TestServer) NewToken(tb testing.TB, role, tenant string) Client {
	tb.Helper()
	r := ts.Operator().Must(tb, 201, "POST", "/v1/tokens", map[string]string{"role": role, "tenant": tenant})
	var tok struct{ Token string }
	r.Decode(tb, &tok)
	return ts.As(tok.Token)
}

// NewReseller registers a reseller and returns its id and a reseller client.
func (ts *TestServer) NewReseller(tb testing.TB, name string) (string, Client) {
	tb.Helper()
	r := ts.Operator().Must(tb, 201, "POST", "/v1/resellers", map[string]string{"name": name})
	id := str(tb, r.Map(tb), "id")
	return id, ts.NewToken(tb, "reseller", id)
}

// CreateProduct adds a module sold in terms and returns its id.
func (c Client) CreateProduct(tb testing.TB, name string, terms ...int) string {
	tb.Helper()
	r := c.Must(tb, 201, "POST", "/v1/products", map[string]any{"name": name, "kind": "module", "license_terms_months": terms})
	return str(tb, r.Map(tb), "id")
}

// CreateTemplate creates a template and returns its id.
func (c Client) CreateTemplate(tb testing.TB, name string) string {
	tb.Helper()
	r := c.Must(tb, 201, "POST", "/v1/templates", map[string]string{"name": name})
	return str(tb, r.Map(tb), "id")
}

// AddItem adds product to template and returns the new item's id.
func (c Client) AddItem(tb testing.TB, template, product string, term int) string {
	tb.Helper()
	r := c.Must(tb, 201, "POST", "/v1/templates/"+template+"/items", map[string]any{"product_id": product, "term_months": term})
	items := r.Map(tb)["items"].([]any)
	return str(tb, items[len(items)-1].(map[string]any), "id")
}

// CreateCustomer registers a customer and returns its id and a customer
// client.
func (c Client) CreateCustomer(tb testing.TB, name string) (string, Client) {
	tb.Helper()
	r := c.Must(tb, 201, "POST", "/v1/customers", map[string]string{"name": name})
	id := str(tb, r.Map(tb), "id")
	return id, c.ts.NewToken(tb, "customer", id)
}

// SendOffer sends an offer of template to customer and returns its id.
func (c Client) SendOffer(tb testing.TB, customer, template, message string) string {
	tb.Helper()
	r := c.Must(tb, 202, "POST", "/v1/customers/"+customer+"/offers", map[string]string{"template_id": template, "message": message})
	return str(tb, r.Map(tb), "id")
}

// WaitStatus waits until the offer has status.
func (c Client) WaitStatus(tb testing.TB, offer, status string) map[string]any {
	tb.Helper()
	var last map[string]any
	// 404 is "not yet": an offer a campaign names is made by the campaign
	// process after the 202, and read models follow the log.
	Eventually(tb, 10*time.Second, fmt.Sprintf("offer %s to be %s", offer, status), func() bool {
		got := c.Do(tb, "GET", "/v1/offers/"+offer, nil)
		if got.Status == 404 {
			return false
		}
		if got.Status != 200 {
			tb.Fatalf("GET /v1/offers/%s: %s", offer, got)
		}
		last = got.Map(tb)
		return last["status"] == status
	})
	return last
}

// Position returns the X-Log-Position of a command response.
func (r Response) Position(tb testing.TB) uint64 {
	tb.Helper()
	p, err := strconv.ParseUint(r.Header.Get("X-Log-Position"), 10, 64)
	if err != nil || p == 0 {
		tb.Fatalf("X-Log-Position %q of %s", r.Header.Get("X-Log-Position"), r)
	}
	return p
}

func str(tb testing.TB, m map[string]any, key string) string {
	tb.Helper()
	s, ok := m[key].(string)
	if !ok || s == "" {
		tb.Fatalf("%q missing from %v", key, m)
	}
	return s
}

// World is two resellers with customers, templates and delivered offers,
// and a client for every kind of caller the authorization table names.
type World struct {
	ts *TestServer

	Reseller, OtherReseller           string // ids
	Customer, SiblingCustomer         string // customers of Reseller
	ForeignCustomer                   string // a customer of OtherReseller
	Product, Template, Item           string // of Reseller
	Offer, SiblingOffer, ForeignOffer string // delivered offers to the three customers

	Operator, ResellerC, OtherResellerC           Client
	CustomerC, SiblingCustomerC, ForeignCustomerC Client
	Auditor, AuditorAll, OtherAuditor             Client
	BadToken, NoToken                             Client
}

// NewWorld builds a World and waits for its offers to be delivered.
func NewWorld(tb testing.TB, ts *TestServer) *World {
	tb.Helper()
	w := &World{ts: ts, Operator: ts.Operator(), BadToken: ts.As("ofr_not-a-token-anyone-issued"), NoToken: ts.As("")}
	w.Reseller, w.ResellerC = ts.NewReseller(tb, "Reseller A")
	w.OtherReseller, w.OtherResellerC = ts.NewReseller(tb, "Reseller B")
	w.Product = w.ResellerC.CreateProduct(tb, "Module A", 12, 24)
	w.Template = w.ResellerC.CreateTemplate(tb, "Basics")
	w.Item = w.ResellerC.AddItem(tb, w.Template, w.Product, 12)
	w.Customer, w.CustomerC = w.ResellerC.CreateCustomer(tb, "Customer One")
	w.SiblingCustomer, w.SiblingCustomerC = w.ResellerC.CreateCustomer(tb, "Customer Two")

	op := w.OtherResellerC.CreateProduct(tb, "Module B", 6)
	ot := w.OtherResellerC.CreateTemplate(tb, "Other basics")
	w.OtherResellerC.AddItem(tb, ot, op, 6)
	w.ForeignCustomer, w.ForeignCustomerC = w.OtherResellerC.CreateCustomer(tb, "Customer Three")

	w.Auditor = ts.NewToken(tb, "auditor", w.Reseller)
	w.AuditorAll = ts.NewToken(tb, "auditor", "*")
	w.OtherAuditor = ts.NewToken(tb, "auditor", w.OtherReseller)

	w.Offer = w.ResellerC.SendOffer(tb, w.Customer, w.Template, "for you")
	w.SiblingOffer = w.ResellerC.SendOffer(tb, w.SiblingCustomer, w.Template, "for your sibling")
	w.ForeignOffer = w.OtherResellerC.SendOffer(tb, w.ForeignCustomer, ot, "from elsewhere")
	w.ResellerC.WaitStatus(tb, w.Offer, "waiting_for_confirmation")
	w.ResellerC.WaitStatus(tb, w.SiblingOffer, "waiting_for_confirmation")
	w.OtherResellerC.WaitStatus(tb, w.ForeignOffer, "waiting_for_confirmation")
	// The offer's own answer comes from the log; the lists and inboxes
	// are read models, which follow it a little later.
	w.ResellerC.WaitListed(tb, w.Customer, w.Offer, "waiting_for_confirmation")
	w.ResellerC.WaitListed(tb, w.SiblingCustomer, w.SiblingOffer, "waiting_for_confirmation")
	w.OtherResellerC.WaitListed(tb, w.ForeignCustomer, w.ForeignOffer, "waiting_for_confirmation")
	w.CustomerC.WaitInbox(tb, w.Offer)
	w.SiblingCustomerC.WaitInbox(tb, w.SiblingOffer)
	w.ForeignCustomerC.WaitInbox(tb, w.ForeignOffer)
	return w
}

// WaitListed waits until the reseller's list of customer's offers shows
// offer with status.
func (c Client) WaitListed(tb testing.TB, customer, offer, status string) {
	tb.Helper()
	Eventually(tb, 10*time.Second, fmt.Sprintf("offer %s listed as %s", offer, status), func() bool {
		var l struct{ Items []map[string]any }
		c.Must(tb, 200, "GET", "/v1/offers?customer_id="+customer, nil).Decode(tb, &l)
		return slices.ContainsFunc(l.Items, func(e map[string]any) bool { return e["id"] == offer && e["status"] == status })
	})
}

// WaitInbox waits until offer stands in the customer's inbox and returns
// its entry.
func (c Client) WaitInbox(tb testing.TB, offer string) map[string]any {
	tb.Helper()
	var entry map[string]any
	Eventually(tb, 10*time.Second, fmt.Sprintf("offer %s in the inbox", offer), func() bool {
		var l struct{ Items []map[string]any }
		c.Must(tb, 200, "GET", "/v1/inbox", nil).Decode(tb, &l)
		i := slices.IndexFunc(l.Items, func(e map[string]any) bool { return e["id"] == offer })
		if i >= 0 {
			entry = l.Items[i]
		}
		return i >= 0
	})
	return entry
}
