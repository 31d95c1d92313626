package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// benchAPI calls the server's HTTP API to set up what the load needs.
type benchAPI struct {
	base string
	hc   *http.Client
}

// call sends body as JSON and decodes a 2xx answer into out.
func (a benchAPI) call(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// benchTenant is a reseller ready to send offers to its customers.
type benchTenant struct {
	resellerToken  string
	template       string
	customers      []string
	customerTokens []string
}

// setupTenant creates, through the API, a reseller named name with a token,
// a product, a template holding it, and customers, the first tokens of them
// with a token.
func setupTenant(ctx context.Context, a benchAPI, operator, name string, customers, tokens int) (benchTenant, error) {
	var t benchTenant
	var id struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := a.call(ctx, "POST", "/v1/resellers", operator, map[string]any{"name": name}, &id); err != nil {
		return t, err
	}
	reseller := id.ID
	if err := a.call(ctx, "POST", "/v1/tokens", operator, map[string]any{"role": "reseller", "tenant": reseller}, &id); err != nil {
		return t, err
	}
	t.resellerToken = id.Token
	if err := a.call(ctx, "POST", "/v1/products", t.resellerToken,
		map[string]any{"name": "Bench Module", "kind": "module", "license_terms_months": []int{12, 24}}, &id); err != nil {
		return t, err
	}
	product := id.ID
	if err := a.call(ctx, "POST", "/v1/templates", t.resellerToken, map[string]any{"name": "Bench Template"}, &id); err != nil {
		return t, err
	}
	t.template = id.ID
	if err := a.call(ctx, "POST", "/v1/templates/"+t.template+"/items", t.resellerToken,
		map[string]any{"product_id": product, "term_months": 12}, nil); err != nil {
		return t, err
	}
	for i := range customers {
		if err := a.call(ctx, "POST", "/v1/customers", t.resellerToken, map[string]any{"name": fmt.Sprintf("Bench Customer %d", i)}, &id); err != nil {
			return t, err
		}
		t.customers = append(t.customers, id.ID)
		if i >= tokens {
			continue
		}
		if err := a.call(ctx, "POST", "/v1/tokens", operator, map[string]any{"role": "customer", "tenant": id.ID}, &id); err != nil {
			return t, err
		}
		t.customerTokens = append(t.customerTokens, id.Token)
	}
	return t, nil
}

var (
	deliveredRe = regexp.MustCompile(`(?m)^offerflow_deliveries_total\{outcome="delivered"\} (\S+)$`)
	lagRe       = regexp.MustCompile(`(?m)^offerflow_projector_lag\{[^}]*\} (\S+)$`)
)

// progress reads from /metrics how many offers the server's delivery
// process has delivered, and how far the read models' projector furthest
// behind is from the head of the log.
func (a benchAPI) progress(ctx context.Context) (delivered int, lag float64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", a.base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics: %w", err)
	}
	if m := deliveredRe.FindSubmatch(b); m != nil {
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("metrics: deliveries: %w", err)
		}
		delivered = int(v)
	}
	for _, m := range lagRe.FindAllSubmatch(b, -1) {
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("metrics: projector lag: %w", err)
		}
		lag = max(lag, v)
	}
	return delivered, lag, nil
}

// waitSettled waits until the server has delivered at least n offers and
// its read models have applied the whole log, so that one step's work
// does not run into the next step's load: the deliveries alone were not
// enough, as after an overload the read models went on applying for
// seconds, and the send-to-inbox times measured next waited behind them
// (p50 7.5 s at 1,000 offers/s after the 7,000/s step, 90 ms alone). It
// returns how long it waited.
func (a benchAPI) waitSettled(ctx context.Context, n int, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		got, lag, err := a.progress(ctx)
		if err != nil {
			return time.Since(start), err
		}
		if got >= n && lag == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("%d of %d offers delivered, read models %.0f events behind, after %s", got, n, lag, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
