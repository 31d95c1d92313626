package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// inboxWatch follows customers' /v1/stream and records, per offer, when the
// customer was told of its delivery (the `offer` event of offer.delivered)
// and when it stood in the inbox: the `badge` event the server sends after
// that offer event only once the read models have applied its position, so
// that a query of the inbox then finds the offer.
type inboxWatch struct {
	mu        sync.Mutex
	delivered map[string]time.Time
	inbox     map[string]time.Time
}

// follow reads one customer's stream until ctx ends. ready is closed once
// the server has answered, i.e. the stream follows the log from its head.
func (w *inboxWatch) follow(ctx context.Context, base, token string, ready chan<- error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/stream", nil)
	if err != nil {
		ready <- err
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("GET /v1/stream: %s", resp.Status)
		return
	}
	ready <- nil
	var event string
	var pending []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "offer":
			var d struct {
				OfferID string `json:"offer_id"`
				Event   string `json:"event"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d) == nil && d.Event == "offer.delivered" {
				now := time.Now()
				w.mu.Lock()
				w.delivered[d.OfferID] = now
				w.mu.Unlock()
				pending = append(pending, d.OfferID)
			}
		case strings.HasPrefix(line, "data: ") && event == "badge":
			now := time.Now()
			w.mu.Lock()
			for _, id := range pending {
				w.inbox[id] = now
			}
			w.mu.Unlock()
			pending = pending[:0]
		}
	}
}

// missing counts the offers of sent not yet seen in an inbox.
func (w *inboxWatch) missing(sent []acceptedOffer) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, o := range sent {
		if _, ok := w.inbox[o.id]; !ok {
			n++
		}
	}
	return n
}

// times returns the times from the 202 of each offer of sent answered
// before until (every one when until is zero) to its offer.delivered on
// the stream and to the inbox, and how many of them never reached the
// inbox.
func (w *inboxWatch) times(sent []acceptedOffer, until time.Time) (toLog, toInbox latencies, missing int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range sent {
		if !until.IsZero() && !o.at.Before(until) {
			continue
		}
		if t, ok := w.delivered[o.id]; ok {
			toLog = append(toLog, t.Sub(o.at))
		}
		if t, ok := w.inbox[o.id]; ok {
			toInbox = append(toInbox, t.Sub(o.at))
		} else {
			missing++
		}
	}
	return toLog, toInbox, missing
}

// runInboxBench measures part 2's send-to-inbox time: offers at c.inboxRate
// to customers whose streams the bench follows.
func runInboxBench(ctx context.Context, c *benchConfig, r *benchReport, srv *benchServer, t benchTenant, disk float64) error {
	k := min(c.followed, len(t.customers))
	var prof chan error
	if c.profile != "" && c.inboxTime > 2*time.Second {
		prof = make(chan error, 1)
		go func() {
			prof <- srv.profile(ctx, c.inboxTime-time.Second, filepath.Join(c.profile, "server-cpu-inbox.pprof"))
		}()
	}
	res, w, err := watchInbox(ctx, srv, t, k, c.inboxRate, c.inboxTime, c.connections)
	if prof != nil {
		err = errors.Join(err, <-prof)
	}
	if err != nil {
		return err
	}
	c.lastInboxOffers = len(res.accepted)
	toLog, toInbox, missing := w.times(res.accepted, time.Time{})
	load := fmt.Sprintf("at %s offers/s for %s to %d customers", fmtRate(float64(c.inboxRate)), c.inboxTime, k)
	r.add("2 inbox", "202 → offer.delivered on the customer's /v1/stream, "+load,
		fmt.Sprintf("%s (%d offers)", toLog.p50p99(), len(toLog)), "-", "the delivery process; CPU and disk in the row below")
	r.add("2 inbox", "202 → in the inbox (the badge event sent once the read models hold it), "+load,
		fmt.Sprintf("%s; %d not seen within 30 s; HTTP %s, %s", toInbox.p50p99(), missing, res.lat.p50p99(), res.errorSummary()),
		"p99 < 25ms", res.win.bound(-1, disk))
	return nil
}

// watchInbox sends offers from t's reseller to its first k customers at
// rate for d while following their streams, and returns what the load
// measured and the watch, once every offer answered 202 is in its inbox or
// 30 s passed after the last.
func watchInbox(ctx context.Context, srv *benchServer, t benchTenant, k, rate int, d time.Duration, conns int) (loadResult, *inboxWatch, error) {
	followed := t
	followed.customers, followed.customerTokens = t.customers[:k], t.customerTokens[:k]
	w := &inboxWatch{delivered: map[string]time.Time{}, inbox: map[string]time.Time{}}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range k {
		ready := make(chan error, 1)
		go w.follow(sctx, srv.url, followed.customerTokens[i], ready)
		if err := <-ready; err != nil {
			return loadResult{}, nil, fmt.Errorf("follow customer %d: %w", i, err)
		}
	}
	res := sendOffers(srv, followed, rate, d, conns)
	deadline := time.Now().Add(30 * time.Second)
	for w.missing(res.accepted) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return res, w, nil
}
