package http_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	ofhttp "github.com/offerflow/offerflow/http"
)

// clock is a settable clock for the command side.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestTokenCreate_NameAndTTL checks POST /v1/tokens with name and
// ttl_seconds: the answer shows both, the token works until it expires and
// is 401 from then on.
func TestTokenCreate_NameAndTTL(t *testing.T) {
	clk := newClock()
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.Now = clk.Now })
	reseller, _ := ts.NewReseller(t, "R")
	op := ts.Operator()

	got := op.Must(t, 201, "POST", "/v1/tokens", map[string]any{"role": "reseller", "tenant": reseller, "name": " Anna Admin ", "ttl_seconds": 3600}).Map(t)
	if got["name"] != "Anna Admin" {
		t.Fatalf("name %v, want the trimmed name", got["name"])
	}
	exp, err := time.Parse(time.RFC3339Nano, str(t, got, "expires_at"))
	if err != nil || !exp.Equal(clk.Now().Add(time.Hour).Truncate(time.Nanosecond)) {
		t.Fatalf("expires_at %v (%v), want an hour after %v", got["expires_at"], err, clk.Now())
	}
	tok := ts.As(str(t, got, "token"))
	tok.Must(t, 200, "GET", "/v1/products", nil)
	clk.Advance(time.Hour - time.Second)
	tok.Must(t, 200, "GET", "/v1/products", nil)
	clk.Advance(time.Second)
	if r := tok.Do(t, "GET", "/v1/products", nil); r.Status != 401 || r.Code() != "unauthenticated" {
		t.Fatalf("an expired token: %s, want 401", r)
	}

	plain := op.Must(t, 201, "POST", "/v1/tokens", map[string]any{"role": "reseller", "tenant": reseller}).Map(t)
	if plain["name"] != nil || plain["expires_at"] != nil {
		t.Fatalf("a token without name or ttl: %v, want both null", plain)
	}

	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"role": "reseller", "tenant": reseller, "ttl_seconds": 0}, "ttl_seconds"},
		{map[string]any{"role": "reseller", "tenant": reseller, "ttl_seconds": -5}, "ttl_seconds"},
		{map[string]any{"role": "reseller", "tenant": reseller, "ttl_seconds": "60"}, "ttl_seconds"},
		{map[string]any{"role": "reseller", "tenant": reseller, "name": strings.Repeat("n", 201)}, "name"},
		{map[string]any{"role": "reseller", "tenant": reseller, "name": "Anna\u202Enimda"}, "name"},
		{map[string]any{"role": "reseller", "tenant": reseller, "name": "Anna\x00"}, "name"},
	} {
		head := ts.Head(t)
		r := op.Do(t, "POST", "/v1/tokens", tc.body)
		var p struct{ Code, Field string }
		r.Decode(t, &p)
		if r.Status != 422 || p.Field != tc.field || ts.Head(t) != head {
			t.Fatalf("%v: %s, want 422 on %s writing nothing", tc.body, r, tc.field)
		}
	}
}

// TestSession_EndsWithItsToken is defect 4 of issue 8: a web UI session
// (and a session begun with a session) stops working when the token it
// began with is revoked; sessions expire when left unused, and use slides
// the expiry.
func TestSession_EndsWithItsToken(t *testing.T) {
	clk := newClock()
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true; o.Now = clk.Now })
	ctx := context.Background()
	reseller, _ := ts.NewReseller(t, "R")
	root := ts.NewToken(t, "reseller", reseller)

	start := func(token string) Client {
		t.Helper()
		s, _, ok, err := ts.Sessions.Start(ctx, token)
		if !ok || err != nil {
			t.Fatalf("start session: ok %v, err %v", ok, err)
		}
		return ts.As(s)
	}
	cookie := func(c Client) Response {
		return ts.As("").Do(t, "GET", "/v1/products", nil, "Cookie", ofhttp.SessionCookie+"="+c.Token)
	}

	t.Run("RevokingTheTokenEndsItsSessions", func(t *testing.T) {
		tok := ts.NewToken(t, "reseller", reseller)
		s1 := start(tok.Token)
		s2 := start(s1.Token) // a session begun with a session
		for _, c := range []Client{tok, s1, s2} {
			c.Must(t, 200, "GET", "/v1/products", nil)
		}
		ts.Operator().Must(t, 204, "POST", "/v1/tokens/revoke", map[string]string{"token": tok.Token})
		for i, c := range []Client{tok, s1, s2} {
			if r := c.Do(t, "GET", "/v1/products", nil); r.Status != 401 {
				t.Fatalf("token %d after its root was revoked: %s, want 401", i, r)
			}
			if r := cookie(c); r.Status != 401 {
				t.Fatalf("token %d by cookie after its root was revoked: %s, want 401", i, r)
			}
		}
		if _, _, ok, err := ts.Sessions.Start(ctx, s1.Token); ok || err != nil {
			t.Fatalf("a revoked session starts another: ok %v, err %v", ok, err)
		}
	})
	t.Run("SigningOutEndsTheSessionsBegunWithIt", func(t *testing.T) {
		s1 := start(root.Token)
		s2 := start(s1.Token)
		if err := ts.Sessions.End(ctx, s1.Token); err != nil {
			t.Fatal(err)
		}
		s2.Must(t, 401, "GET", "/v1/products", nil)
		root.Must(t, 200, "GET", "/v1/products", nil)
	})
	t.Run("IdleSessionsExpire", func(t *testing.T) {
		s := start(root.Token)
		s.Must(t, 200, "GET", "/v1/products", nil)
		clk.Advance(ofhttp.DefaultSessionIdle)
		s.Must(t, 401, "GET", "/v1/products", nil)
		root.Must(t, 200, "GET", "/v1/products", nil)
	})
	t.Run("UseSlidesTheExpiry", func(t *testing.T) {
		s := start(root.Token)
		before := ts.Head(t)
		clk.Advance(ofhttp.DefaultSessionIdle / 4)
		s.Must(t, 200, "GET", "/v1/products", nil)
		if ts.Head(t) != before {
			t.Fatal("a use early in the window wrote an event")
		}
		clk.Advance(ofhttp.DefaultSessionIdle / 2)
		s.Must(t, 200, "GET", "/v1/products", nil)
		if wrote := typesAfter(t, ts, before); len(wrote) != 1 || wrote[0] != "token.extended" {
			t.Fatalf("a use past half the window wrote %v, want [token.extended]", wrote)
		}
		clk.Advance(ofhttp.DefaultSessionIdle/2 + time.Minute) // past the first expiry
		s.Must(t, 200, "GET", "/v1/products", nil)
		clk.Advance(ofhttp.DefaultSessionIdle)
		s.Must(t, 401, "GET", "/v1/products", nil)
	})
	t.Run("NeverOutlivesItsToken", func(t *testing.T) {
		short := ts.Operator().Must(t, 201, "POST", "/v1/tokens", map[string]any{"role": "reseller", "tenant": reseller, "ttl_seconds": 60}).Map(t)
		s := start(str(t, short, "token"))
		s.Must(t, 200, "GET", "/v1/products", nil)
		clk.Advance(time.Minute)
		s.Must(t, 401, "GET", "/v1/products", nil)
	})
}

// typesAfter returns the types of the events after position after.
func typesAfter(tb testing.TB, ts *TestServer, after uint64) []string {
	tb.Helper()
	evs, err := ts.Store.ReadAll(context.Background(), after, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestTokenName_RecordedAsActor checks that a token's name is recorded as
// actor.name of what it does, and that the reseller sees who opened and
// who decided an offer; a token without a name leaves them null.
func TestTokenName_RecordedAsActor(t *testing.T) {
	ts := MustOpenServer(t)
	_, r := ts.NewReseller(t, "R")
	cust, _ := r.CreateCustomer(t, "C")
	tmpl := r.CreateTemplate(t, "T")
	r.AddItem(t, tmpl, r.CreateProduct(t, "P", 12), 12)
	named := ts.As(str(t, ts.Operator().Must(t, 201, "POST", "/v1/tokens",
		map[string]any{"role": "customer", "tenant": cust, "name": "Anna Admin"}).Map(t), "token"))
	anonymous := ts.NewToken(t, "customer", cust)

	offer := r.SendOffer(t, cust, tmpl, "")
	r.WaitStatus(t, offer, "waiting_for_confirmation")
	named.Must(t, 204, "POST", "/v1/inbox/"+offer+"/read", nil)
	pos := named.Must(t, 200, "POST", "/v1/inbox/"+offer+"/accept", nil).Position(t)
	got := r.Must(t, 200, "GET", "/v1/offers/"+offer+"?min_position="+strconv.FormatUint(pos, 10), nil).Map(t)
	if got["opened_by"] != "Anna Admin" || got["decided_by"] != "Anna Admin" {
		t.Fatalf("opened_by %v, decided_by %v, want Anna Admin", got["opened_by"], got["decided_by"])
	}
	var hist struct {
		Items []struct {
			Type  string
			Actor map[string]any
		}
	}
	r.Must(t, 200, "GET", "/v1/offers/"+offer+"/history", nil).Decode(t, &hist)
	names := map[string]any{}
	for _, e := range hist.Items {
		names[e.Type] = e.Actor["name"]
	}
	if names["offer.read"] != "Anna Admin" || names["offer.accepted"] != "Anna Admin" || names["offer.created"] != nil {
		t.Fatalf("actor names by event %v", names)
	}
	// The name is part of the hashed envelope, and the chains still verify.
	if _, err := eventstore.VerifyAll(context.Background(), ts.Store, nil); err != nil {
		t.Fatalf("verify the log with named actors: %v", err)
	}

	other := r.SendOffer(t, cust, tmpl, "")
	r.WaitStatus(t, other, "waiting_for_confirmation")
	pos = anonymous.Must(t, 200, "POST", "/v1/inbox/"+other+"/reject", map[string]string{"reason": "no"}).Position(t)
	got = r.Must(t, 200, "GET", "/v1/offers/"+other+"?min_position="+strconv.FormatUint(pos, 10), nil).Map(t)
	if v, ok := got["decided_by"]; !ok || v != nil || got["opened_by"] != nil {
		t.Fatalf("a token without a name: opened_by %v, decided_by %v (present %v), want null", got["opened_by"], v, ok)
	}
}

// TestTokenCache_RevocationOnTheNextRequest waits until the server's token
// cache is in use, warms it with the token, and revokes the token: the very
// next request is 401, and so is one with a session derived from it.
func TestTokenCache_RevocationOnTheNextRequest(t *testing.T) {
	ts := MustOpenServer(t, func(o *Options) { o.NoProcesses = true })
	reseller, _ := ts.NewReseller(t, "R")
	tok := ts.NewToken(t, "reseller", reseller)
	session, _, ok, err := ts.Sessions.Start(context.Background(), tok.Token)
	if !ok || err != nil {
		t.Fatalf("start session: %v %v", ok, err)
	}
	head := ts.Head(t)
	Eventually(t, 5*time.Second, "the token cache to follow the log", func() bool {
		pos, live := ts.Service.TokenCacheFollowed()
		return live && pos >= head
	})
	for range 3 {
		tok.Must(t, 200, "GET", "/v1/products", nil)
		ts.As(session).Must(t, 200, "GET", "/v1/products", nil)
	}
	ts.Operator().Must(t, 204, "POST", "/v1/tokens/revoke", map[string]string{"token": tok.Token})
	tok.Must(t, 401, "GET", "/v1/products", nil)
	ts.As(session).Must(t, 401, "GET", "/v1/products", nil)
}
