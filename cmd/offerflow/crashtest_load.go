package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ack is a command the server acknowledged with 2xx: what the log must
// show afterwards.
type ack struct {
	op       string // the op's key, also its Idempotency-Key
	offer    string // the offer it created or decided
	event    string // the type of the last event it wrote
	position uint64 // its X-Log-Position
	sigterm  bool   // acknowledged during the SIGTERM phase
}

// ledger is what the load learnt: every acknowledged command, and the ops
// whose outcome it never learnt (their connection died with the server).
type ledger struct {
	mu      sync.Mutex
	acks    []ack
	unknown int
	refused int
	offers  []string // created offers, for decisions to pick from
	sigterm bool     // the SIGTERM phase runs
}

func (l *ledger) acked(a ack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a.sigterm = l.sigterm
	l.acks = append(l.acks, a)
	if a.event == "offer.dispatched" {
		l.offers = append(l.offers, a.offer)
	}
}

func (l *ledger) count(unknown bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if unknown {
		l.unknown++
	} else {
		l.refused++
	}
}

func (l *ledger) pickOffer(r *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.offers) == 0 {
		return ""
	}
	// Recent offers are the ones still pending.
	n := min(len(l.offers), 20)
	return l.offers[len(l.offers)-1-r.IntN(n)]
}

// fixture is what the load acts on: one reseller with a template and a few
// customers, each with a token.
type fixture struct {
	resellerToken string
	template      string
	customers     []string
	customerToken map[string]string
}

// api sends requests to whichever child listens, with retries.
type api struct {
	srv    *child
	client *http.Client
}

// result is a definite answer to a request.
type result struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends one request, retrying with the same Idempotency-Key while the
// server is down or the connection dies, until it gets an answer or ctx
// ends. ok is false when the outcome stays unknown.
func (a *api) call(ctx context.Context, token, method, path, key string, body any) (res result, ok bool) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	for try := 0; ; try++ {
		if try > 0 && !sleepCtx(ctx, time.Duration(min(try, 10))*20*time.Millisecond) {
			return result{}, false
		}
		base, err := a.srv.base(ctx)
		if err != nil {
			return result{}, false
		}
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), method, base+path, bytes.NewReader(raw))
		if err != nil {
			return result{}, false
		}
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := a.client.Do(req)
		if err != nil {
			continue // killed under the request: ask again
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if !sleepCtx(ctx, min(time.Duration(wait)*time.Second, time.Second)) {
				return result{}, false
			}
			continue
		}
		res = result{status: resp.StatusCode, header: resp.Header}
		_ = json.Unmarshal(b, &res.body)
		return res, true
	}
}

// must sends a setup request and wants status want.
func (a *api) must(ctx context.Context, token string, want int, method, path string, body any) (map[string]any, error) {
	res, ok := a.call(ctx, token, method, path, "", body)
	if !ok || res.status != want {
		return nil, fmt.Errorf("%s %s: status %d %v, want %d", method, path, res.status, res.body, want)
	}
	return res.body, nil
}

// setup builds the fixture through the API, as the operator.
func (a *api) setup(ctx context.Context, operator string, customers int) (*fixture, error) {
	f := &fixture{customerToken: map[string]string{}}
	token := func(role, tenant string) (string, error) {
		b, err := a.must(ctx, operator, 201, "POST", "/v1/tokens", map[string]any{"role": role, "tenant": tenant})
		if err != nil {
			return "", err
		}
		return fmt.Sprint(b["token"]), nil
	}
	steps := []func() error{
		func() error {
			b, err := a.must(ctx, operator, 201, "POST", "/v1/resellers", map[string]any{"name": "Crash Reseller"})
			if err == nil {
				f.resellerToken, err = token("reseller", fmt.Sprint(b["id"]))
			}
			return err
		},
		func() error {
			p, err := a.must(ctx, f.resellerToken, 201, "POST", "/v1/products", map[string]any{"name": "Module", "kind": "module", "license_terms_months": []int{12}})
			if err != nil {
				return err
			}
			t, err := a.must(ctx, f.resellerToken, 201, "POST", "/v1/templates", map[string]any{"name": "Basics"})
			if err != nil {
				return err
			}
			f.template = fmt.Sprint(t["id"])
			_, err = a.must(ctx, f.resellerToken, 201, "POST", "/v1/templates/"+f.template+"/items", map[string]any{"product_id": p["id"], "term_months": 12})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	for i := range customers {
		c, err := a.must(ctx, f.resellerToken, 201, "POST", "/v1/customers", map[string]any{"name": fmt.Sprintf("Customer %d", i+1)})
		if err != nil {
			return nil, err
		}
		id := fmt.Sprint(c["id"])
		if f.customerToken[id], err = token("customer", id); err != nil {
			return nil, err
		}
		f.customers = append(f.customers, id)
	}
	return f, nil
}

// drive runs one client until ctx ends: it creates offers and decides
// them (accept, reject, withdraw), each command with its own
// Idempotency-Key, and records what the server acknowledged.
func (a *api) drive(ctx context.Context, client int, f *fixture, l *ledger, seed uint64) {
	r := rand.New(rand.NewPCG(seed, uint64(client)))
	for n := 0; ctx.Err() == nil; n++ {
		key := fmt.Sprintf("crash-%d-%d-%d", seed, client, n)
		offer := l.pickOffer(r)
		var res result
		var ok bool
		var want string
		switch k := r.IntN(10); {
		case k < 5 || offer == "":
			customer := f.customers[r.IntN(len(f.customers))]
			want = "offer.dispatched"
			res, ok = a.call(ctx, f.resellerToken, "POST", "/v1/customers/"+customer+"/offers", key,
				map[string]any{"template_id": f.template, "message": key})
			if ok && res.status == http.StatusAccepted {
				offer = fmt.Sprint(res.body["id"])
			}
		case k < 7:
			want = "offer.withdrawn"
			res, ok = a.call(ctx, f.resellerToken, "POST", "/v1/offers/"+offer+"/withdraw", key, map[string]any{})
		default:
			customer := a.customerOf(ctx, f, offer)
			path, typ := "/accept", "offer.accepted"
			if k == 9 {
				path, typ = "/reject", "offer.rejected"
			}
			want = typ
			res, ok = a.call(ctx, f.customerToken[customer], "POST", "/v1/inbox/"+offer+path, key, map[string]any{})
		}
		switch {
		case !ok:
			l.count(true)
		case res.status >= 200 && res.status < 300:
			pos, _ := strconv.ParseUint(res.header.Get("X-Log-Position"), 10, 64)
			l.acked(ack{op: key, offer: offer, event: want, position: pos})
		case res.status == http.StatusConflict && res.body["code"] == "idempotency_in_progress":
			// The first try's process died holding the key: its outcome
			// is unknown until the claim lapses.
			l.count(true)
		default:
			l.count(false)
		}
	}
}

// customerOf finds which customer an offer went to (the reseller's view
// names it).
func (a *api) customerOf(ctx context.Context, f *fixture, offer string) string {
	res, ok := a.call(ctx, f.resellerToken, "GET", "/v1/offers/"+offer, "", nil)
	if ok && res.status == http.StatusOK {
		if c, ok := res.body["customer_id"].(string); ok {
			return c
		}
	}
	return f.customers[0]
}

// sleepCtx pauses for d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d): // collected when it is dropped (Go 1.23+)
		return true
	case <-ctx.Done():
		return false
	}
}
