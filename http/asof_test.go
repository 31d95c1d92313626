package http_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statusOf returns the status of offer id in a list body, "" when the list
// does not hold it.
func statusOf(tb testing.TB, items []any, id string) string {
	tb.Helper()
	for _, it := range items {
		m := it.(map[string]any)
		if m["id"] == id || m["offer_id"] == id {
			return m["status"].(string)
		}
	}
	return ""
}

func asOf(v string) string { return "as_of=" + url.QueryEscape(v) }

// TestAsOf_BeforeAcceptance: the offer list, the inbox and the customer's
// page as of the position before an acceptance show the offer waiting for
// confirmation; as of the acceptance and live, accepted. By time too.
func TestAsOf_BeforeAcceptance(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	ts.Settle(t)
	before := ts.Head(t)
	time.Sleep(20 * time.Millisecond) // the acceptance's time is after beforeTime
	beforeTime := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	accepted := w.CustomerC.Must(t, 200, "POST", "/v1/inbox/"+w.Offer+"/accept", nil).Position(t)
	after := strconv.FormatUint(accepted, 10)
	b := strconv.FormatUint(before, 10)

	for _, tc := range []struct {
		name, as string
		want     string
	}{
		{"PositionBefore", b, "waiting_for_confirmation"},
		{"TimeBefore", beforeTime.Format(time.RFC3339Nano), "waiting_for_confirmation"},
		{"PositionOfAcceptance", after, "accepted"},
		{"TimeLater", time.Now().Add(time.Hour).Format(time.RFC3339), "accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.ResellerC.Must(t, 200, "GET", "/v1/offers?"+asOf(tc.as), nil)
			if got := statusOf(t, r.Map(t)["items"].([]any), w.Offer); got != tc.want {
				t.Fatalf("offer list as of %s: status %q, want %q", tc.as, got, tc.want)
			}
			if p := r.Header.Get("X-As-Of-Position"); tc.name == "PositionBefore" && p != b {
				t.Fatalf("X-As-Of-Position = %q, want %s", p, b)
			}
			inbox := w.CustomerC.Must(t, 200, "GET", "/v1/inbox?"+asOf(tc.as), nil).Map(t)["items"].([]any)
			if got := statusOf(t, inbox, w.Offer); got != tc.want {
				t.Fatalf("inbox as of %s: status %q, want %q", tc.as, got, tc.want)
			}
			c := w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer+"?"+asOf(tc.as), nil).Map(t)
			if got := statusOf(t, c["offers"].([]any), w.Offer); got != tc.want {
				t.Fatalf("customer's offers as of %s: status %q, want %q", tc.as, got, tc.want)
			}
			if n := c["offer_counts"].(map[string]any)[tc.want]; n != 1.0 {
				t.Fatalf("customer's counts as of %s: %v", tc.as, c["offer_counts"])
			}
			// The filters of the live query hold as of then.
			filtered := w.ResellerC.Must(t, 200, "GET", "/v1/offers?status=accepted&"+asOf(tc.as), nil).Map(t)["items"].([]any)
			if want := tc.want == "accepted"; (len(filtered) == 1) != want {
				t.Fatalf("accepted offers as of %s: %v", tc.as, filtered)
			}
		})
	}
	live := w.ResellerC.Must(t, 200, "GET", "/v1/offers?min_position="+after, nil)
	if got := statusOf(t, live.Map(t)["items"].([]any), w.Offer); got != "accepted" || live.Header.Get("X-As-Of-Position") != "" {
		t.Fatalf("live offer list: status %q, X-As-Of-Position %q", got, live.Header.Get("X-As-Of-Position"))
	}

	t.Run("BeforeTheFirstEvent", func(t *testing.T) {
		for _, as := range []string{"0", "2000-01-01T00:00:00Z"} {
			if items := w.AuditorAll.Must(t, 200, "GET", "/v1/offers?"+asOf(as), nil).Map(t)["items"].([]any); len(items) != 0 {
				t.Fatalf("offers as of %s: %v", as, items)
			}
			if items := w.CustomerC.Must(t, 200, "GET", "/v1/inbox?"+asOf(as), nil).Map(t)["items"].([]any); len(items) != 0 {
				t.Fatalf("inbox as of %s: %v", as, items)
			}
			// The customer did not exist yet.
			w.ResellerC.Must(t, 404, "GET", "/v1/customers/"+w.Customer+"?"+asOf(as), nil)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		var ids []string
		path := "/v1/offers?limit=1&" + asOf(b)
		for range 5 {
			m := w.ResellerC.Must(t, 200, "GET", path, nil).Map(t)
			for _, it := range m["items"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			path = "/v1/offers?limit=1&cursor=" + url.QueryEscape(next) + "&" + asOf(b)
		}
		if len(ids) != 2 || ids[0] != w.SiblingOffer || ids[1] != w.Offer {
			t.Fatalf("paged offers as of %s: %v, want %s then %s", b, ids, w.SiblingOffer, w.Offer)
		}
	})
}

// TestAsOf_TenantIsolation: as of any position, every caller sees only what
// it sees live.
func TestAsOf_TenantIsolation(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	ts.Settle(t)
	head := strconv.FormatUint(ts.Head(t), 10)

	ours := w.ResellerC.Must(t, 200, "GET", "/v1/offers?"+asOf(head), nil).Map(t)["items"].([]any)
	if len(ours) != 2 || statusOf(t, ours, w.ForeignOffer) != "" {
		t.Fatalf("reseller's offers as of the head: %v", ours)
	}
	theirs := w.OtherResellerC.Must(t, 200, "GET", "/v1/offers?"+asOf(head), nil).Map(t)["items"].([]any)
	if len(theirs) != 1 || statusOf(t, theirs, w.ForeignOffer) == "" {
		t.Fatalf("other reseller's offers as of the head: %v", theirs)
	}
	if items := w.OtherResellerC.Must(t, 200, "GET", "/v1/offers?customer_id="+w.Customer+"&"+asOf(head), nil).Map(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("another reseller's customer's offers as of the head: %v", items)
	}
	if items := w.Auditor.Must(t, 200, "GET", "/v1/offers?"+asOf(head), nil).Map(t)["items"].([]any); len(items) != 2 {
		t.Fatalf("auditor's offers as of the head: %v", items)
	}
	if items := w.AuditorAll.Must(t, 200, "GET", "/v1/offers?"+asOf(head), nil).Map(t)["items"].([]any); len(items) != 3 {
		t.Fatalf("auditor of every reseller's offers as of the head: %v", items)
	}
	inbox := w.SiblingCustomerC.Must(t, 200, "GET", "/v1/inbox?"+asOf(head), nil).Map(t)["items"].([]any)
	if len(inbox) != 1 || statusOf(t, inbox, w.SiblingOffer) == "" {
		t.Fatalf("sibling's inbox as of the head: %v", inbox)
	}
	w.OtherResellerC.Must(t, 404, "GET", "/v1/customers/"+w.Customer+"?"+asOf(head), nil)
	// The roles the live routes refuse are refused as of then too.
	w.CustomerC.Must(t, 403, "GET", "/v1/offers?"+asOf(head), nil)
	w.ResellerC.Must(t, 403, "GET", "/v1/inbox?"+asOf(head), nil)
}

// TestAsOf_BadValues: a malformed as_of, one beyond the log's head and one
// costing more than the server replays are 422 problems naming as_of; a
// customer the caller may not see is 404 first.
func TestAsOf_BadValues(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.PastMaxEvents = 1_000 })
	w := NewWorld(t, ts)
	ts.Settle(t)
	beyond := strconv.FormatUint(ts.Head(t)+1000, 10)
	for _, v := range []string{"", "abc", "-1", "1.5", "2026-13-01T00:00:00Z", "2026-12-02", "18446744073709551616", beyond} {
		for _, c := range []struct {
			client Client
			path   string
		}{
			{w.ResellerC, "/v1/offers"}, {w.CustomerC, "/v1/inbox"}, {w.ResellerC, "/v1/customers/" + w.Customer},
		} {
			r := c.client.Do(t, "GET", c.path+"?"+asOf(v), nil)
			if r.Status != 422 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") || !strings.Contains(string(r.Body), "as_of") {
				t.Fatalf("GET %s?as_of=%s: %s, want a 422 problem naming as_of", c.path, v, r)
			}
		}
	}
	w.ResellerC.Must(t, 404, "GET", "/v1/customers/"+w.ForeignCustomer+"?as_of=abc", nil)
	w.ResellerC.Must(t, 422, "GET", "/v1/offers?min_position=x&as_of=0", nil)

	t.Run("TooCostly", func(t *testing.T) {
		small := MustOpenServer(t, func(o *Options) { o.PastMaxEvents = 5 })
		sw := NewWorld(t, small)
		small.Settle(t)
		head := strconv.FormatUint(small.Head(t), 10)
		for _, v := range []string{head, time.Now().Add(time.Hour).Format(time.RFC3339)} {
			r := sw.ResellerC.Must(t, 422, "GET", "/v1/offers?"+asOf(v), nil)
			if !strings.Contains(string(r.Body), "as_of") {
				t.Fatalf("as_of=%s: %s", v, r)
			}
		}
		sw.ResellerC.Must(t, 200, "GET", "/v1/offers?as_of=3", nil)
	})
}

// TestAsOf_AfterErasure: the lists as of a position before an erasure,
// read once before it (so that the node keeps that replay) and again after
// it, show the erased customer's texts as null with "erased": true, and no
// file of the server's holds them any more, the replays' scratch files
// included.
func TestAsOf_AfterErasure(t *testing.T) {
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	const msg = "Msg-Asof-Xyzzy-Erasable"
	offer := w.ResellerC.SendOffer(t, w.Customer, w.Template, msg)
	w.ResellerC.WaitStatus(t, offer, "waiting_for_confirmation")
	ts.Settle(t)
	before := asOf(strconv.FormatUint(ts.Head(t), 10))
	secrets := []string{msg, "Customer One"}

	read := func() map[string][]byte {
		return map[string][]byte{
			"offers":   w.ResellerC.Must(t, 200, "GET", "/v1/offers?"+before, nil).Body,
			"inbox":    w.CustomerC.Must(t, 200, "GET", "/v1/inbox?"+before, nil).Body,
			"customer": w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer+"?"+before, nil).Body,
		}
	}
	for list, b := range read() {
		if !strings.Contains(string(b), msg) {
			t.Fatalf("%s as of %s before the erasure lacks the message: %s", list, before, b)
		}
	}
	beforeTime := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond) // the erasure's time is after beforeTime
	pos := w.ResellerC.Must(t, 200, "POST", "/v1/customers/"+w.Customer+"/erase", nil).Position(t)
	w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer+"?min_position="+strconv.FormatUint(pos, 10), nil)
	// No file of the server's holds the texts, the replays' scratch files
	// included: the one kept from before the erasure goes with the key,
	// not at the next query.
	scan := func() {
		t.Helper()
		dir := filepath.Join(ts.Dir, "asof")
		entries, err := os.ReadDir(dir) // flat: one file per replay and its -wal, -shm
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range secrets {
				if strings.Contains(string(b), sec) {
					t.Errorf("%s holds %q after the erasure", e.Name(), sec)
				}
			}
		}
	}
	scan()

	for list, b := range read() {
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s as of %s after the erasure shows %q: %s", list, before, sec, b)
			}
		}
	}
	c := w.ResellerC.Must(t, 200, "GET", "/v1/customers/"+w.Customer+"?"+before, nil).Map(t)
	if c["name"] != nil || c["erased"] != true {
		t.Errorf("customer as of %s after the erasure: %v", before, c)
	}
	for _, o := range c["offers"].([]any) {
		if o := o.(map[string]any); o["message"] != nil || o["erased"] != true {
			t.Errorf("customer's offer as of %s after the erasure: %v", before, o)
		}
	}
	for _, it := range w.CustomerC.Must(t, 200, "GET", "/v1/inbox?"+before, nil).Map(t)["items"].([]any) {
		if o := it.(map[string]any); o["message"] != nil || o["erased"] != true {
			t.Errorf("inbox entry as of %s after the erasure: %v", before, o)
		}
	}
	// The offer as it stood, too (folded from its stream, not replayed).
	for _, q := range []string{asOf(beforeTime), "as_of_version=1"} {
		o := w.ResellerC.Must(t, 200, "GET", "/v1/offers/"+offer+"?"+q, nil).Map(t)
		if o["message"] != nil || o["erased"] != true {
			t.Errorf("offer ?%s after the erasure: %v", q, o)
		}
	}
	scan()
}
