package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/offerflow/offerflow/domain"
)

// A tiny model of the offer lifecycle, written from the contract text
// (shared/api.md) rather than from the domain code, and a property test that
// drives random command sequences against both and finds no disagreement.

type verb string

const (
	vDeliver   verb = "deliver"
	vFail      verb = "fail_delivery"
	vRedeliver verb = "redeliver"
	vAccept    verb = "accept"
	vReject    verb = "reject"
	vWithdraw  verb = "withdraw"
	vExpire    verb = "expire"
)

// transitions is the contract's table: which commands a status allows and
// where they lead. Anything missing is invalid_transition. Read is not here:
// it changes no status and depends only on delivery.
func transitions() map[domain.OfferStatus]map[verb]domain.OfferStatus {
	const (
		waiting   = domain.StatusWaiting
		pending   = domain.StatusWaitingForConfirmation
		failed    = domain.StatusDeliveryFailed
		accepted  = domain.StatusAccepted
		rejected  = domain.StatusRejected
		withdrawn = domain.StatusWithdrawn
		expired   = domain.StatusExpired
	)
	return map[domain.OfferStatus]map[verb]domain.OfferStatus{
		// Sent; the delivery process delivers it or gives up. The reseller
		// may withdraw; its expiry time may pass.
		waiting: {vDeliver: pending, vFail: failed, vWithdraw: withdrawn, vExpire: expired},
		// In the inbox: the customer decides; the reseller may still withdraw.
		pending: {vAccept: accepted, vReject: rejected, vWithdraw: withdrawn, vExpire: expired},
		// Delivery failed: redeliver (back to waiting) or withdraw.
		failed: {vRedeliver: waiting, vWithdraw: withdrawn, vExpire: expired},
		// Final.
		accepted: {}, rejected: {}, withdrawn: {}, expired: {},
	}
}

// model is what the contract says an offer is.
type model struct {
	exists    bool
	status    domain.OfferStatus
	dispatch  int
	delivered bool
	opened    bool
	expiresAt *time.Time
	failed    bool // the last round of delivery failed and none began since
}

// outcome is what the model expects of one command.
type outcome struct {
	code  string // "" when accepted
	types []string
	next  model
}

func refuse(code string) outcome { return outcome{code: code} }

// step returns what m expects of verb v. dispatch is the round a delivery
// command names, at the time an expiry is attempted, reason the rejection's.
func (m model) step(v verb, dispatch int, at time.Time, reason string) outcome {
	if !m.exists {
		return refuse(domain.ENOTFOUND)
	}
	switch v {
	case vAccept, vReject:
		// Not yet delivered: it does not exist for the customer.
		if !m.delivered {
			return refuse(domain.ENOTFOUND)
		}
		if v == vReject && len([]rune(strings.TrimSpace(reason))) > domain.MaxReasonLen {
			return refuse(domain.EINVALID)
		}
	case vDeliver, vFail:
		// Only the current round of delivery may complete it.
		if dispatch != m.dispatch {
			return refuse(domain.ECONFLICT)
		}
	case vExpire:
		if m.expiresAt == nil || at.Before(*m.expiresAt) {
			return refuse(domain.ECONFLICT)
		}
	}
	next, ok := transitions()[m.status][v]
	if !ok {
		return refuse(domain.ECONFLICT)
	}
	// A decision holds the deadline by itself, expired or not yet.
	if (v == vAccept || v == vReject) && m.expiresAt != nil && !at.Before(*m.expiresAt) {
		return refuse(domain.ECONFLICT)
	}
	n := m
	n.status = next
	switch v {
	case vDeliver:
		n.delivered = true
	case vFail:
		n.failed = true
	case vRedeliver:
		n.dispatch, n.failed = m.dispatch+1, false
	}
	types := map[verb]string{vDeliver: domain.TypeOfferDelivered, vFail: domain.TypeOfferDeliveryFailed,
		vRedeliver: domain.TypeOfferDispatched, vAccept: domain.TypeOfferAccepted, vReject: domain.TypeOfferRejected,
		vWithdraw: domain.TypeOfferWithdrawn, vExpire: domain.TypeOfferExpired}
	return outcome{types: []string{types[v]}, next: n}
}

// read: recorded once for an offer in the inbox; a repeat records nothing.
func (m model) read() outcome {
	switch {
	case !m.exists || !m.delivered:
		return refuse(domain.ENOTFOUND)
	case m.opened:
		return outcome{next: m}
	}
	n := m
	n.opened = true
	return outcome{types: []string{domain.TypeOfferRead}, next: n}
}

func (m model) create(expiresAt *time.Time) outcome {
	if m.exists {
		return refuse(domain.ECONFLICT)
	}
	return outcome{types: []string{domain.TypeOfferCreated, domain.TypeOfferDispatched},
		next: model{exists: true, status: domain.StatusWaiting, dispatch: 1, expiresAt: expiresAt}}
}

func TestOffer_LifecycleProperty(t *testing.T) {
	p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
	c := MustCustomer(t, "c1", reseller1)
	tpl := MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute, domain.ModeRelative)

	rapid.Check(t, func(t *rapid.T) {
		var (
			o   = &domain.Offer{}
			m   model
			log []domain.Event
			now = t0
		)
		// tick moves the clock on by a random while, sometimes not at all.
		tick := func(t *rapid.T) {
			now = now.Add(time.Duration(rapid.Int64Range(0, 36*3600).Draw(t, "advance_s")) * time.Second)
		}
		// run asks the domain, compares with the model, and on success folds
		// the events and moves the model on.
		run := func(t *rapid.T, name string, want outcome, decide func() ([]domain.Event, error)) {
			before := o.View()
			evs, err := decide()
			if diff := cmp.Diff(before, o.View()); diff != "" {
				t.Fatalf("%s: deciding changed the aggregate (-before +after):\n%s", name, diff)
			}
			if got := domain.ErrorCode(err); got != want.code {
				t.Fatalf("%s in %s (dispatch %d, delivered %v): error %v, model expects code %q",
					name, m.status, m.dispatch, m.delivered, err, want.code)
			}
			var types []string
			for _, e := range evs {
				types = append(types, e.EventType())
			}
			if diff := cmp.Diff(want.types, types); diff != "" {
				t.Fatalf("%s in %s: event types (-model +domain):\n%s", name, m.status, diff)
			}
			if err != nil {
				return
			}
			fold(o, evs...)
			log = append(log, evs...)
			m = want.next
		}

		t.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				var exp *time.Time
				if rapid.Bool().Draw(t, "expires") {
					exp = ptr(now.Add(time.Duration(rapid.Int64Range(1, 72*3600).Draw(t, "expires_in_s")) * time.Second))
				}
				run(t, "create", m.create(exp), func() ([]domain.Event, error) {
					return o.Create(offer1, reseller1, c, tpl, "", exp, now)
				})
			},
			"deliver": func(t *rapid.T) {
				tick(t)
				d := m.dispatch + rapid.IntRange(-1, 1).Draw(t, "dispatch_delta") // stale, current or future round
				run(t, "deliver", m.step(vDeliver, d, now, ""), func() ([]domain.Event, error) { return o.Deliver(d, now) })
			},
			"fail_delivery": func(t *rapid.T) {
				tick(t)
				d := m.dispatch + rapid.IntRange(-1, 1).Draw(t, "dispatch_delta")
				run(t, "fail_delivery", m.step(vFail, d, now, ""), func() ([]domain.Event, error) {
					return o.FailDelivery(d, "503", 8, now)
				})
			},
			"redeliver": func(t *rapid.T) {
				tick(t)
				run(t, "redeliver", m.step(vRedeliver, 0, now, ""), func() ([]domain.Event, error) { return o.Redeliver(now) })
			},
			"read": func(t *rapid.T) {
				tick(t)
				run(t, "read", m.read(), func() ([]domain.Event, error) { return o.Read(now, "") })
			},
			"accept": func(t *rapid.T) {
				tick(t)
				run(t, "accept", m.step(vAccept, 0, now, ""), func() ([]domain.Event, error) { return o.Accept(now, "") })
			},
			"reject": func(t *rapid.T) {
				tick(t)
				reason := rapid.SampledFrom([]string{"", " zu teuer ", strings.Repeat("ö", domain.MaxReasonLen+1)}).Draw(t, "reason")
				run(t, "reject", m.step(vReject, 0, now, reason), func() ([]domain.Event, error) { return o.Reject(reason, now, "") })
			},
			"withdraw": func(t *rapid.T) {
				tick(t)
				run(t, "withdraw", m.step(vWithdraw, 0, now, ""), func() ([]domain.Event, error) { return o.Withdraw(now) })
			},
			"expire": func(t *rapid.T) {
				// The expiry process may run early, right on time or late.
				at := now
				if m.expiresAt != nil {
					at = m.expiresAt.Add(time.Duration(rapid.Int64Range(-3600, 3600).Draw(t, "offset_s")) * time.Second)
					if rapid.Bool().Draw(t, "exactly_due") {
						at = *m.expiresAt
					}
				}
				run(t, "expire", m.step(vExpire, 0, at, ""), func() ([]domain.Event, error) { return o.Expire(at) })
			},
			"": func(t *rapid.T) {
				checkModel(t, o.View(), m)
				// The log alone, folded from scratch, gives the same offer,
				// also after a round trip through its stored JSON form.
				if diff := cmp.Diff(o.View(), fold(&domain.Offer{}, log...).View()); diff != "" {
					t.Fatalf("re-folding the log gives another offer (-live +refolded):\n%s", diff)
				}
				if diff := cmp.Diff(o.View(), fold(&domain.Offer{}, roundTrip(t, log)...).View()); diff != "" {
					t.Fatalf("re-folding the stored log gives another offer (-live +stored):\n%s", diff)
				}
			},
		})
	})
}

// checkModel asserts that the offer's state is the model's.
func checkModel(t *rapid.T, v domain.OfferView, m model) {
	if !m.exists {
		if v.ID != "" {
			t.Fatalf("offer exists, model has none")
		}
		return
	}
	got := struct {
		Status                                     domain.OfferStatus
		Dispatch                                   int
		Delivered, Opened, Decided, Withdrawn, Exp bool
		Failed                                     bool
	}{v.Status, v.Dispatch, v.Delivered, v.OpenedAt != nil, v.DecidedAt != nil, v.WithdrawnAt != nil, v.ExpiredAt != nil, v.DeliveryError != ""}
	want := got
	want.Status, want.Dispatch, want.Delivered, want.Opened, want.Failed = m.status, m.dispatch, m.delivered, m.opened, m.failed
	want.Decided = m.status == domain.StatusAccepted || m.status == domain.StatusRejected
	want.Withdrawn = m.status == domain.StatusWithdrawn
	want.Exp = m.status == domain.StatusExpired
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("offer differs from the model (-model +offer):\n%s", diff)
	}
	if (v.DeliveredAt != nil) != m.delivered {
		t.Fatalf("delivered_at %v, model delivered %v", v.DeliveredAt, m.delivered)
	}
	if !cmp.Equal(v.ExpiresAt, m.expiresAt) {
		t.Fatalf("expires_at %v, model %v", v.ExpiresAt, m.expiresAt)
	}
}

// roundTrip returns log as the store would give it back: encoded to JSON and
// decoded by type.
func roundTrip(t *rapid.T, log []domain.Event) []domain.Event {
	out := make([]domain.Event, len(log))
	for i, e := range log {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("encode %s: %v", e.EventType(), err)
		}
		if out[i], err = domain.DecodeEvent(e.EventType(), domain.SchemaVersion(e.EventType()), data); err != nil {
			t.Fatalf("decode %s: %v", e.EventType(), err)
		}
	}
	return out
}
