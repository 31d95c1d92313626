package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadResult is what one step of open-model load measured.
type loadResult struct {
	rate     int
	sent     int
	accepted []acceptedOffer
	lat      latencies // of every request, failed ones included
	errors   map[string]int
	span     time.Duration // first request sent to last answer received
	win      *window
}

// acceptedOffer is an offer the server answered 202 for, and when.
type acceptedOffer struct {
	id string
	at time.Time
}

func (l loadResult) achieved() float64 { return float64(len(l.accepted)) / l.span.Seconds() }

// sustained reports whether the server kept up with the offered rate: every
// request answered 202 and the answers came at 95 % of the rate or better.
func (l loadResult) sustained() bool {
	return len(l.errors) == 0 && l.achieved() >= 0.95*float64(l.rate)
}

// shortfall says when the bench itself could not send at the rate asked
// (its CPU taken by others on a shared machine): an open model only holds
// while the arrivals keep their pace.
func (l loadResult) shortfall(d time.Duration) string {
	sent := float64(l.sent) / d.Seconds()
	if sent >= 0.95*float64(l.rate) {
		return ""
	}
	return fmt.Sprintf("; the bench sent only %s/s", fmtRate(sent))
}

func (l loadResult) errorSummary() string {
	if len(l.errors) == 0 {
		return "0 errors"
	}
	keys := slices.Collect(maps.Keys(l.errors))
	sort.Slice(keys, func(i, j int) bool { return l.errors[keys[i]] > l.errors[keys[j]] })
	n := 0
	for _, k := range keys {
		n += l.errors[k]
	}
	var parts []string
	for _, k := range keys[:min(len(keys), 3)] {
		parts = append(parts, fmt.Sprintf("%d× %s", l.errors[k], k))
	}
	return fmt.Sprintf("%d errors (%s)", n, strings.Join(parts, "; "))
}

// sendOffers sends offers from t's reseller to its customers, round robin,
// at a fixed arrival rate for d: an open model, in which a slow answer does
// not slow the arrivals down, so it shows in the latencies instead of hiding.
func sendOffers(srv *benchServer, t benchTenant, rate int, d time.Duration, conns int) loadResult {
	body := fmt.Appendf(nil, `{"template_id":%q,"message":"An offer from offerflow bench"}`, t.template)
	hdr := http.Header{"Authorization": {"Bearer " + t.resellerToken}, "Content-Type": {"application/json"}}
	var n atomic.Uint64
	targeter := func(tg *vegeta.Target) error {
		i := n.Add(1)
		tg.Method = http.MethodPost
		tg.URL = srv.url + "/v1/customers/" + t.customers[int(i%uint64(len(t.customers)))] + "/offers"
		tg.Body = body
		tg.Header = hdr
		return nil
	}
	// Arrivals keep their pace whatever the answers (vegeta starts a worker
	// for every request due); the connections are bounded, as a proxy in
	// front of the service would pool them, so an overloaded server is not
	// also handed thousands of connections (whose buffers were most of its
	// memory). A request waiting for a connection counts that wait.
	//
	// The transport is the step's own and its connections are closed when
	// the step ends: each step's attacker used to leave its 256 kept-alive
	// connections open at the server (until the server's 2 min idle
	// timeout), so later steps ran beside hundreds of idle connections of
	// the steps before (513 during the 3,500/s step of one run), each with
	// its goroutine and buffers in the server's memory, which one pool in
	// front of the service would not have left.
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr}), vegeta.Timeout(30*time.Second),
		vegeta.KeepAlive(true), vegeta.Connections(conns), vegeta.MaxConnections(conns))
	res := loadResult{rate: rate, errors: map[string]int{}}
	var first, last time.Time
	res.win = startWindow(srv.pid, srv.syncCounter())
	for r := range atk.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "offers") {
		res.sent++
		res.lat = append(res.lat, r.Latency)
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if r.End().After(last) {
			last = r.End()
		}
		if r.Code != http.StatusAccepted {
			// One key per kind of failure, not per customer's URL.
			key := urlRe.ReplaceAllString(r.Error, "POST")
			if key == "" {
				key = fmt.Sprintf("%d %s", r.Code, problemCode(r.Body))
			}
			res.errors[key]++
			continue
		}
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r.Body, &o)
		res.accepted = append(res.accepted, acceptedOffer{id: o.ID, at: r.End()})
	}
	res.win.stop()
	res.span = last.Sub(first)
	return res
}

var urlRe = regexp.MustCompile(`Post "[^"]*"`)

// problemCode is the code of a problem+json body, or "".
func problemCode(b []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Code
}

// runHTTPBench fills part 2 and 5 of the report: it starts the server,
// sends offers at each rate, measures the time from 202 to the inbox at
// c.inboxRate, and reads the server's fsyncs and peak memory.
func runHTTPBench(ctx context.Context, c *benchConfig, r *benchReport, disk float64) error {
	operator := "bench-operator-token-0123456789"
	srv, err := startBenchServer(ctx, c.bin, filepath.Join(c.dir, "http"), operator, c.strace, c.profile != "", c.serveFlags)
	if err != nil {
		return err
	}
	defer srv.stop()
	api := benchAPI{base: srv.url, hc: &http.Client{Timeout: 30 * time.Second}}
	tenant, err := setupTenant(ctx, api, operator, "Bench Reseller", c.customers, c.customers)
	if err != nil {
		return fmt.Errorf("set up through the API: %w", err)
	}
	syncStart, accepted := srv.syncs(), 0
	best := -1
	for _, rate := range c.rates {
		var prof chan error
		if c.profile != "" && c.rateTime > 2*time.Second {
			prof = make(chan error, 1)
			go func() {
				prof <- srv.profile(ctx, c.rateTime-time.Second, filepath.Join(c.profile, fmt.Sprintf("server-cpu-%d.pprof", rate)))
			}()
		}
		cpu0 := cpuClock(srv.pid)
		res := sendOffers(srv, tenant, rate, c.rateTime, c.connections)
		accepted += len(res.accepted)
		// The step's deliveries and read-model updates belong to it, and
		// must not load the next.
		drain, err := api.waitSettled(ctx, accepted, 2*time.Minute)
		if err != nil {
			return fmt.Errorf("after %d offers/s: %w", rate, err)
		}
		// The server's CPU for the step and its deliveries, per offer: what
		// a rate on these cores costs, however the machine's other users
		// stretched the wall-clock figures (the waiting for deliveries polls
		// the server, a few requests a second, counted in).
		perOffer := "-"
		if n := len(res.accepted); n > 0 {
			perOffer = fmt.Sprintf("%.3f", float64((cpuClock(srv.pid)-cpu0).Microseconds())/1000/float64(n))
		}
		if prof != nil {
			if err := <-prof; err != nil {
				return err
			}
		}
		target := "-"
		if rate >= 5000 {
			target = "≥ 5,000/s, p99 < 50ms"
		}
		r.add("2 HTTP", fmt.Sprintf("POST offers at %s/s for %s", fmtRate(float64(rate)), c.rateTime),
			fmt.Sprintf("%s offers/s, %s, %s; deliveries and read models done %s after; server CPU %s ms per offer%s", fmtRate(res.achieved()), res.lat.p50p99(), res.errorSummary(), fmtDur(drain), perOffer, res.shortfall(c.rateTime)),
			target, res.win.bound(-1, disk))
		if res.sustained() && (best < 0 || res.achieved() > float64(best)) {
			best = int(res.achieved())
		}
	}
	if best >= 0 && disk > 0 {
		r.add("2 HTTP", "highest rate sustained (all 202, ≥ 95 % of the offered rate)",
			fmt.Sprintf("%s offers/s = %.2fx the disk's %s durable transactions/s", fmtRate(float64(best)), float64(best)/disk, fmtRate(disk)),
			"≥ 1.8x", "the steps above")
	}
	if c.inboxRate > 0 {
		if err := runInboxBench(ctx, c, r, srv, tenant, disk); err != nil {
			return err
		}
		accepted += c.lastInboxOffers
	}
	if srv.traceOut != "" && accepted > 0 {
		n := srv.syncs() - syncStart
		r.add("5 fsync", "fsync + fdatasync per offer, HTTP steps and their deliveries",
			fmt.Sprintf("%.2f (%d calls for %d offers)", float64(n)/float64(accepted), n, accepted), "< 1",
			"strace -f -e trace=fsync,fdatasync on the server, counted per call")
	}
	if c.profile != "" {
		if err := srv.heapProfile(ctx, filepath.Join(c.profile, "server-heap.pprof")); err != nil {
			return err
		}
	}
	rss, err := srv.peakRSS()
	if err != nil {
		return err
	}
	r.add("5 memory", "server peak RSS (VmHWM) during part 2", fmt.Sprintf("%d MB", rss>>20), "< 150 MB", "/proc/PID/status of the server process")
	return srv.stop()
}
