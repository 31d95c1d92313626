package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// benchOtherRate is how many offers per second the other reseller sends in
// the deliveries part: a reseller at work beside the campaign, not a load
// of its own.
const benchOtherRate = 20

// runDeliveriesBench fills the deliveries part: the delivery fairness that
// the contract asks of campaigns. One reseller sends a campaign to
// c.deliveries customers, none with a webhook (so its deliveries are
// appends, as fast as the log takes them); another reseller's offers to its
// own customers, none with a webhook either, are timed from 202 to the
// inbox while the campaign delivers, beside the same offers on the same
// server before the campaign: about a second is the contract, five at
// most. Comparing the two rows, both taken under the machine's load of the
// moment, says what the campaign costs the others.
func runDeliveriesBench(ctx context.Context, c *benchConfig, r *benchReport) error {
	operator := "bench-operator-token-0123456789"
	srv, err := startBenchServer(ctx, c.bin, filepath.Join(c.dir, "deliveries"), operator, false, false, c.serveFlags)
	if err != nil {
		return err
	}
	defer srv.stop()
	api := benchAPI{base: srv.url, hc: &http.Client{Timeout: 30 * time.Second}}
	sender, err := setupTenant(ctx, api, operator, "Bench Campaign Sender", c.deliveries, 0)
	if err != nil {
		return fmt.Errorf("set up the campaign's reseller: %w", err)
	}
	other, err := setupTenant(ctx, api, operator, "Bench Other Reseller", c.followed, c.followed)
	if err != nil {
		return fmt.Errorf("set up the other reseller: %w", err)
	}
	k := c.followed
	load := fmt.Sprintf("%d offers/s to %d customers without a webhook", benchOtherRate, k)

	res, w, err := watchInbox(ctx, srv, other, k, benchOtherRate, c.inboxTime, c.connections)
	if err != nil {
		return err
	}
	_, quiet, missing := w.times(res.accepted, time.Time{})
	r.add("D deliveries", fmt.Sprintf("another reseller's 202 → inbox, %s for %s, no campaign", load, c.inboxTime),
		fmt.Sprintf("%s (%d offers); %d not seen within 30 s", quiet.p50p99(), len(quiet), missing), "-",
		"the baseline of the row below, same server")

	var campaign struct {
		ID string `json:"id"`
	}
	sent := time.Now()
	if err := api.call(ctx, "POST", "/v1/campaigns", sender.resellerToken, map[string]any{"template_id": sender.template,
		"customer_ids": sender.customers, "message": "A campaign from offerflow bench"}, &campaign); err != nil {
		return err
	}
	accepted := time.Since(sent)
	delivered := make(chan error, 1)
	var doneAt time.Time
	go func() {
		err := api.waitCampaign(ctx, sender.resellerToken, campaign.ID, c.deliveries, 10*time.Minute)
		doneAt = time.Now()
		delivered <- err
	}()
	res, w, err = watchInbox(ctx, srv, other, k, benchOtherRate, c.inboxTime, c.connections)
	if err != nil {
		return err
	}
	if err := <-delivered; err != nil {
		return err
	}
	took := doneAt.Sub(sent)
	r.add("D campaign", fmt.Sprintf("POST /v1/campaigns to %s customers without a webhook", fmtRate(float64(c.deliveries))),
		fmt.Sprintf("202 in %s; every offer delivered %s after it (%s offers/s, as the campaign's counts show them)",
			fmtDur(accepted), fmtDur(took), fmtRate(float64(c.deliveries)/took.Seconds())),
		"-", "the log's appends, shared with the other reseller's")
	_, during, missing := w.times(res.accepted, doneAt)
	ratio := "-"
	if q := quiet.quantile(0.99); q > 0 && len(during) > 0 {
		ratio = fmt.Sprintf("%.1fx", float64(during.quantile(0.99))/float64(q))
	}
	r.add("D deliveries", fmt.Sprintf("another reseller's 202 → inbox, %s, while the campaign delivers", load),
		fmt.Sprintf("%s (%d offers sent before the campaign's last delivery); %d not seen within 30 s; p99 %s the baseline's",
			during.p50p99(), len(during), missing, ratio),
		"about 1 s, ≤ 5 s", "the delivery process's turns across resellers, and the log's appends")
	return srv.stop()
}

// waitCampaign waits until campaign's counts show n offers delivered
// (waiting for confirmation), polling its read model.
func (a benchAPI) waitCampaign(ctx context.Context, token, campaign string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var c struct {
			Counts map[string]int `json:"counts"`
		}
		// A 404 is the read models not there yet: wait on.
		err := a.call(ctx, "GET", "/v1/campaigns/"+campaign, token, nil, &c)
		if err == nil && c.Counts["waiting_for_confirmation"] >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("campaign %s: %d of %d offers delivered after %s (%v)", campaign, c.Counts["waiting_for_confirmation"], n, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
