package process_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections/process"
)

// expiringCalls returns the webhook calls of type offer.expiring.
func expiringCalls(t *testing.T, h *hookServer) []hookCall {
	t.Helper()
	var out []hookCall
	for _, c := range h.Calls() {
		var n struct{ Type string }
		if err := json.Unmarshal(c.body, &n); err != nil {
			t.Fatal(err)
		}
		if n.Type == process.ExpiringEventType {
			out = append(out, c)
		}
	}
	return out
}

// TestReminder_OnceInsideTheWindow: an undecided offer with a deadline is
// reminded once its time left falls below the window, and its customer's
// webhook told, signed, once; an offer decided before, or without a
// deadline, is not; and a redelivery of the whole log reminds nobody twice.
func TestReminder_OnceInsideTheWindow(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	hook := newHookServer(t, func(int) int { return 204 })
	hook.setSecret(e.setWebhook(t, hook.URL))
	cfg := fastRetries(3)
	cfg.Now = clock.Now
	cfg.ReminderBefore = 72 * time.Hour
	p, stop := e.startStoppable(t, cfg)

	exp := clock.Now().Add(100 * time.Hour)
	due := e.createOffer(t, &exp)
	accepted := e.createOffer(t, &exp)
	never := e.createOffer(t, nil)
	e.deliverAndAccept(t, accepted)
	e.waitStatus(t, due, domain.StatusWaitingForConfirmation, eventually)
	e.waitStatus(t, never, domain.StatusWaitingForConfirmation, eventually)
	e.waitIdle(t, p)

	// 28 hours on, 72 are left: not yet.
	clock.Advance(28 * time.Hour)
	if n, err := p.Reminder().RemindDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("RemindDue at the window's edge = %d, %v; want 0, nil", n, err)
	}
	clock.Advance(time.Minute)
	processWait(t, eventually, func() bool { return e.offer(t, due).RemindedAt != nil }, "the reminder")
	if at := e.offer(t, due).RemindedAt; !at.Equal(clock.Now()) {
		t.Errorf("reminded_at %v, want %v", at, clock.Now())
	}
	reminded := e.ofType(t, domain.OfferStream(due), domain.TypeOfferReminded)
	if len(reminded) != 1 {
		t.Fatalf("%d offer.reminded events, want 1", len(reminded))
	}
	if a := reminded[0].Metadata.Actor; a.Role != domain.RoleSystem || a.Subject != "reminder" {
		t.Errorf("reminded by %+v, want the system's reminder process", a)
	}
	if want := command.DeterministicID("remind:"+string(due), domain.OfferStream(due), 0); reminded[0].ID != want {
		t.Errorf("offer.reminded id %s, want the deterministic %s", reminded[0].ID, want)
	}
	processWait(t, eventually, func() bool { return len(expiringCalls(t, hook)) == 1 }, "the offer.expiring notification")
	call := expiringCalls(t, hook)[0]
	if !call.verified || call.id != reminded[0].ID {
		t.Errorf("notification verified %v, webhook-id %s; want a valid signature and the reminder's id %s", call.verified, call.id, reminded[0].ID)
	}
	var body struct {
		Type string
		Data struct {
			OfferID    domain.OfferID `json:"offer_id"`
			ExpiresAt  time.Time      `json:"expires_at"`
			RemindedAt time.Time      `json:"reminded_at"`
		}
	}
	if err := json.Unmarshal(call.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Data.OfferID != due || !body.Data.ExpiresAt.Equal(exp) || !body.Data.RemindedAt.Equal(clock.Now()) {
		t.Errorf("notification %s", call.body)
	}
	for _, id := range []domain.OfferID{accepted, never} {
		if v := e.offer(t, id); v.RemindedAt != nil {
			t.Errorf("offer %s (%s) was reminded", id, v.Status)
		}
	}

	// The whole log again, and passes well after: nothing more. The notice
	// must be recorded as sent first: one stopped between the webhook's
	// answer and that record is sent again on the next start, by design
	// (at least once), and CI's load made that window real.
	processWait(t, eventually, func() bool {
		n, err := p.Reminder().Notices(context.Background())
		return err == nil && n["done/notified"] == 1
	}, "the notice to be recorded as sent")
	stop()
	e.resetCheckpoint(t, process.ReminderConsumerGroup)
	p = e.start(t, cfg)
	processWait(t, eventually, func() bool { return e.checkpoint(t, process.ReminderConsumerGroup) >= reminded[0].Position },
		"the reminder group to read the log again")
	clock.Advance(time.Hour)
	if _, err := p.Reminder().RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.ofType(t, domain.OfferStream(due), domain.TypeOfferReminded)); n != 1 {
		t.Errorf("%d offer.reminded events after the redelivery, want 1", n)
	}
	notices, err := p.Reminder().Notices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if notices["done/notified"] != 1 || len(notices) != 1 {
		t.Errorf("notices %v, want one notified", notices)
	}
	if n := len(expiringCalls(t, hook)); n != 1 {
		t.Errorf("%d offer.expiring calls after the redelivery, want 1", n)
	}
}

// TestReminder_NotificationRetried: a failing webhook is tried again with
// the same webhook-id until it answers; a customer without a webhook is
// reminded all the same.
func TestReminder_NotificationRetried(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	hook := newHookServer(t, func(int) int { return 204 })
	hook.setSecret(e.setWebhook(t, hook.URL))
	cfg := fastRetries(4)
	cfg.Now = clock.Now
	cfg.ReminderBefore = time.Hour
	p := e.start(t, cfg)

	exp := clock.Now().Add(2 * time.Hour)
	id := e.createOffer(t, &exp)
	e.waitStatus(t, id, domain.StatusWaitingForConfirmation, eventually)
	e.waitIdle(t, p)
	failing := 2
	hook.setStatus(func(n int) int {
		if n <= 1+failing { // the first call was the delivery
			return 503
		}
		return 204
	})
	clock.Advance(90 * time.Minute)
	processWait(t, eventually, func() bool { return len(expiringCalls(t, hook)) >= 1 }, "the first try")
	// The retries wait for the backoff on the test's clock.
	processWait(t, eventually, func() bool {
		clock.Advance(time.Second)
		n, err := p.Reminder().Notices(context.Background())
		return err == nil && n["done/notified"] == 1
	}, "the notification to get through")
	calls := expiringCalls(t, hook)
	if len(calls) != failing+1 {
		t.Fatalf("%d calls, want %d", len(calls), failing+1)
	}
	for _, c := range calls {
		if c.id != calls[0].id || !c.verified {
			t.Errorf("call webhook-id %s (verified %v), want %s on every try", c.id, c.verified, calls[0].id)
		}
	}
}
