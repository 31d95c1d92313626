package http

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are offerflow's Prometheus metrics. The HTTP layer feeds the
// command, request and stream metrics itself; the counters that other parts
// of the program feed (delivery, append conflicts) are exported for them to
// increment, and the log and projector positions are read at scrape time
// from the functions given to SetLogSources.
type Metrics struct {
	registry *prometheus.Registry

	// CommandDuration observes each command's latency in seconds, by
	// command name and outcome ("ok" or the error code).
	CommandDuration *prometheus.HistogramVec
	// Requests counts HTTP requests by route and status.
	Requests *prometheus.CounterVec
	// AppendConflicts counts appends refused because a concurrent command
	// got to the stream first.
	AppendConflicts prometheus.Counter
	// DeliveryAttempts counts attempts to deliver an offer (webhook calls
	// included); DeliveryFailures those that failed.
	DeliveryAttempts prometheus.Counter
	DeliveryFailures prometheus.Counter
	// Deliveries counts rounds of delivery by how they ended: "delivered",
	// "failed", "skipped" or "poisoned".
	Deliveries *prometheus.CounterVec
	// Expired counts offers recorded as expired.
	Expired prometheus.Counter
	// Poisoned counts log messages a process manager set aside after its
	// retries, by handler: each one needs an operator's look.
	Poisoned *prometheus.CounterVec
	// TamperProblems counts what the tree over the log found wrong: a
	// recorded tree head the log no longer extends, a witness mismatch.
	TamperProblems prometheus.Counter
	// StreamConnections is the number of open /v1/stream connections.
	StreamConnections prometheus.Gauge
	// RateLimited counts requests refused 429 by which limit refused them:
	// "token", "address", "auth_failures" or "streams"; and connections
	// closed over the per-address cap ("connections").
	RateLimited *prometheus.CounterVec
	// CommandsShed counts commands refused 503 because
	// Config.MaxCommandsInFlight were in progress.
	CommandsShed prometheus.Counter

	mu         sync.Mutex
	inFlight   func() int64
	head       func(context.Context) (uint64, error)
	projectors func(context.Context) map[string]uint64
	parked     func(context.Context) (int, error)
}

// NewMetrics registers offerflow's metrics in reg; a nil reg gets a new
// registry with the Go runtime and process collectors.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{
		registry: reg,
		CommandDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offerflow_command_duration_seconds",
			Help:    "Latency of commands by command and outcome (ok or the error code).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"command", "outcome"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offerflow_http_requests_total",
			Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		AppendConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_append_conflicts_total",
			Help: "Appends refused because the stream had moved on (optimistic concurrency).",
		}),
		DeliveryAttempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_delivery_attempts_total",
			Help: "Attempts to deliver an offer, webhook calls included.",
		}),
		DeliveryFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_delivery_failures_total",
			Help: "Delivery attempts that failed.",
		}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offerflow_deliveries_total",
			Help: "Rounds of offer delivery by outcome (delivered, failed, skipped, poisoned).",
		}, []string{"outcome"}),
		Expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_offers_expired_total",
			Help: "Offers recorded as expired by the expiry process.",
		}),
		TamperProblems: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_tamper_evidence_problems_total",
			Help: "Problems the Merkle tree over the log found: recorded tree heads the log no longer extends, witness mismatches.",
		}),
		Poisoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offerflow_poisoned_messages_total",
			Help: "Log messages a process manager set aside after its retries, and events the read models parked (handler projection.read_models), by handler.",
		}, []string{"handler"}),
		StreamConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "offerflow_stream_connections",
			Help: "Open Server-Sent Events connections on /v1/stream.",
		}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offerflow_rate_limited_total",
			Help: "Requests refused 429 by limit (token, address, auth_failures, streams), and connections closed over the per-address cap (connections).",
		}, []string{"limit"}),
		CommandsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "offerflow_commands_shed_total",
			Help: "Commands refused 503 unavailable, writing nothing, because the server had its bound of commands in progress (serve --max-commands-in-flight).",
		}),
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "offerflow_commands_in_flight",
		Help: "Commands in progress on this server (counted only while serve --max-commands-in-flight bounds them).",
	}, func() float64 {
		m.mu.Lock()
		f := m.inFlight
		m.mu.Unlock()
		if f == nil {
			return 0
		}
		return float64(f())
	})
	reg.MustRegister(m.CommandDuration, m.Requests, m.AppendConflicts, m.DeliveryAttempts, m.DeliveryFailures,
		m.Deliveries, m.Expired, m.Poisoned, m.TamperProblems, m.StreamConnections, m.RateLimited, m.CommandsShed,
		inFlight, positionCollector{m}, parkedCollector{m})
	return m
}

// WebhookAttempt counts one webhook call by its outcome ("ok" or a failure);
// it fits process.ProcessConfig.OnWebhookAttempt.
func (m *Metrics) WebhookAttempt(outcome string) {
	m.DeliveryAttempts.Inc()
	if outcome != "ok" {
		m.DeliveryFailures.Inc()
	}
}

// Delivery counts one round of delivery by how it ended; it fits
// process.ProcessConfig.OnDelivery.
func (m *Metrics) Delivery(outcome string) { m.Deliveries.WithLabelValues(outcome).Inc() }

// OfferExpired counts one offer recorded as expired; it fits
// process.ProcessConfig.OnExpired.
func (m *Metrics) OfferExpired() { m.Expired.Inc() }

// MessagePoisoned counts one message set aside by handler; it fits
// process.ProcessConfig.OnPoisoned and projections.Config.OnParked.
func (m *Metrics) MessagePoisoned(handler string) { m.Poisoned.WithLabelValues(handler).Inc() }

// rateLimited counts one request refused by limit.
func (m *Metrics) rateLimited(limit string) { m.RateLimited.WithLabelValues(limit).Inc() }

// Registry returns the registry the metrics are registered in.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// SetLogSources sets where the position gauges are read at scrape time: the
// head of the log, and each projector's checkpoint by projector name. Either
// may be nil.
func (m *Metrics) SetLogSources(head func(context.Context) (uint64, error), projectors func(context.Context) map[string]uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if head != nil {
		m.head = head
	}
	if projectors != nil {
		m.projectors = projectors
	}
}

func (m *Metrics) sources() (func(context.Context) (uint64, error), func(context.Context) map[string]uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.head, m.projectors
}

// observeCommand records one command's latency and outcome.
func (m *Metrics) observeCommand(name, outcome string, d time.Duration) {
	m.CommandDuration.WithLabelValues(name, outcome).Observe(d.Seconds())
}

var (
	headDesc = prometheus.NewDesc("offerflow_log_head_position",
		"Global position of the last event in the log.", nil, nil)
	projectorPosDesc = prometheus.NewDesc("offerflow_projector_position",
		"Last log position a projector has applied.", []string{"projector"}, nil)
	projectorLagDesc = prometheus.NewDesc("offerflow_projector_lag",
		"Log positions between the head and what a projector has applied.", []string{"projector"}, nil)
)

// positionCollector reads the log and projector positions at scrape time.
type positionCollector struct{ m *Metrics }

func (c positionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- headDesc
	ch <- projectorPosDesc
	ch <- projectorLagDesc
}

func (c positionCollector) Collect(ch chan<- prometheus.Metric) {
	headFn, projFn := c.m.sources()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var head uint64
	if headFn != nil {
		h, err := headFn(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(headDesc, err)
			return
		}
		head = h
		ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(head))
	}
	if projFn == nil {
		return
	}
	for name, p := range projFn(ctx) {
		ch <- prometheus.MustNewConstMetric(projectorPosDesc, prometheus.GaugeValue, float64(p), name)
		lag := 0.0
		if headFn != nil && head > p {
			lag = float64(head - p)
		}
		ch <- prometheus.MustNewConstMetric(projectorLagDesc, prometheus.GaugeValue, lag, name)
	}
}

// setCommandsInFlight sets where offerflow_commands_in_flight is read.
func (m *Metrics) setCommandsInFlight(f func() int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight = f
}

// SetParkedSource sets where offerflow_parked_events is read at scrape
// time: the count of events the read models parked and still lack.
func (m *Metrics) SetParkedSource(parked func(context.Context) (int, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parked = parked
}

var parkedDesc = prometheus.NewDesc("offerflow_parked_events",
	"Events the read models parked and still lack (offerflow poison list); it falls as offerflow poison retry applies them. "+
		"offerflow_poisoned_messages_total{handler=\"projection.read_models\"} counts the parkings of this process.", nil, nil)

// parkedCollector reads the parked events' count at scrape time, so that
// it also falls when another process (offerflow poison retry) applies them.
type parkedCollector struct{ m *Metrics }

func (c parkedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- parkedDesc }

func (c parkedCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	parked := c.m.parked
	c.m.mu.Unlock()
	if parked == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := parked(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(parkedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(parkedDesc, prometheus.GaugeValue, float64(n))
}
