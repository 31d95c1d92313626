package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// The lifecycle matrix: every offer status (reached by one or more
// histories) against every command. The contract (shared/api.md): withdraw
// from waiting, waiting_for_confirmation or delivery_failed; redeliver from
// delivery_failed (back to waiting); accept or reject only from
// waiting_for_confirmation; everything else is invalid_transition. An offer
// never delivered does not exist for its customer (read, accept, reject:
// not_found); a repeated read records nothing. Delivery completes only the
// current round of dispatch; expiry needs an expiry time that has come and an
// undecided offer.

// cell is the expected outcome of one command in one history. Its zero value
// means "not specified", which fails the test: every cell must be decided.
type cell struct {
	set     bool
	err     error // the sentinel refused with; nil when allowed
	nothing bool  // allowed, records no event
	na      bool  // the history cannot exist for this column
}

func fails(err error) cell { return cell{set: true, err: err} }

var (
	ok               = cell{set: true}
	nothing          = cell{set: true, nothing: true}
	na               = cell{set: true, na: true}
	notFound         = fails(domain.ErrOfferNotDelivered)
	notWaiting       = fails(domain.ErrOfferNotWaiting)
	notPending       = fails(domain.ErrOfferNotPending)
	notWithdrawable  = fails(domain.ErrOfferNotWithdrawable)
	notRedeliverable = fails(domain.ErrOfferNotRedeliverable)
	notExpirable     = fails(domain.ErrOfferNotExpirable)
	notDue           = fails(domain.ErrOfferNotDue)
	noExpiry         = fails(domain.ErrOfferHasNoExpiry)
	notRevisable     = fails(domain.ErrOfferNotRevisable)
	notRemindable    = fails(domain.ErrOfferNotRemindable)
)

// Columns of a row, in order.
const (
	colDeliver = iota
	colDeliverOld
	colDeliverNext
	colFail
	colFailOld
	colRedeliver
	colRead
	colAccept
	colReject
	colWithdraw
	colExpireEarly
	colExpireDue
	colExpireLate
	colExpireNever
	colRevise
	colRemind
	nCols
)

type row [nCols]cell

// when is the time every command but Expire runs at.
var when = t0.Add(2 * time.Hour)

// column is one command, how to run it, and what it records when allowed.
type column struct {
	name     string
	noExpiry bool // run against the same history created without expires_at
	run      func(o *domain.Offer, dispatch int) ([]domain.Event, error)
	want     func(dispatch int) []domain.Event
	status   func(before domain.OfferStatus) domain.OfferStatus
}

func to(s domain.OfferStatus) func(domain.OfferStatus) domain.OfferStatus {
	return func(domain.OfferStatus) domain.OfferStatus { return s }
}

func same(s domain.OfferStatus) domain.OfferStatus { return s }

func columns() [nCols]column {
	deliver := func(name string, delta int) column {
		return column{name: name,
			run: func(o *domain.Offer, d int) ([]domain.Event, error) { return o.Deliver(d+delta, when) },
			want: func(d int) []domain.Event {
				return []domain.Event{&domain.OfferDelivered{OfferID: offer1, Dispatch: d, At: when}}
			},
			status: to(domain.StatusWaitingForConfirmation)}
	}
	fail := func(name string, delta int) column {
		return column{name: name,
			run: func(o *domain.Offer, d int) ([]domain.Event, error) {
				return o.FailDelivery(d+delta, "connection refused", 8, when)
			},
			want: func(d int) []domain.Event {
				return []domain.Event{&domain.OfferDeliveryFailed{OfferID: offer1, Dispatch: d, Error: "connection refused", Attempts: 8, At: when}}
			},
			status: to(domain.StatusDeliveryFailed)}
	}
	expire := func(name string, at time.Time, never bool) column {
		return column{name: name, noExpiry: never,
			run:    func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Expire(at) },
			want:   func(int) []domain.Event { return []domain.Event{&domain.OfferExpired{OfferID: offer1, At: at}} },
			status: to(domain.StatusExpired)}
	}
	return [nCols]column{
		colDeliver:     deliver("Deliver(current)", 0),
		colDeliverOld:  deliver("Deliver(previous)", -1),
		colDeliverNext: deliver("Deliver(next)", +1),
		colFail:        fail("FailDelivery(current)", 0),
		colFailOld:     fail("FailDelivery(previous)", -1),
		colRedeliver: {name: "Redeliver",
			run: func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Redeliver(when) },
			want: func(d int) []domain.Event {
				return []domain.Event{&domain.OfferDispatched{OfferID: offer1, Dispatch: d + 1, At: when}}
			},
			status: to(domain.StatusWaiting)},
		colRead: {name: "Read",
			run:    func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Read(when, "") },
			want:   func(int) []domain.Event { return []domain.Event{&domain.OfferRead{OfferID: offer1, At: when}} },
			status: same},
		colAccept: {name: "Accept",
			run:    func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Accept(when, "") },
			want:   func(int) []domain.Event { return []domain.Event{&domain.OfferAccepted{OfferID: offer1, At: when}} },
			status: to(domain.StatusAccepted)},
		colReject: {name: "Reject",
			run: func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Reject("  zu teuer\n", when, "") },
			want: func(int) []domain.Event {
				return []domain.Event{&domain.OfferRejected{OfferID: offer1, Reason: domain.RejectionReason{Text: "zu teuer"}, At: when}}
			},
			status: to(domain.StatusRejected)},
		colWithdraw: {name: "Withdraw",
			run:    func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Withdraw(when) },
			want:   func(int) []domain.Event { return []domain.Event{&domain.OfferWithdrawn{OfferID: offer1, At: when}} },
			status: to(domain.StatusWithdrawn)},
		colExpireEarly: expire("Expire(before due)", expiresAt.Add(-time.Nanosecond), false),
		colExpireDue:   expire("Expire(at due)", expiresAt, false),
		colExpireLate:  expire("Expire(after due)", expiresAt.Add(time.Hour), false),
		colExpireNever: expire("Expire(no expiry)", expiresAt.Add(time.Hour), true),
		colRevise: {name: "Revise",
			run: func(o *domain.Offer, _ int) ([]domain.Event, error) {
				return o.Revise(offer2, domain.Revision{Message: ptr("neu")}, when)
			},
			want: func(int) []domain.Event {
				first := created(ptr(expiresAt))[0].(*domain.OfferCreated)
				return []domain.Event{&domain.OfferSuperseded{OfferID: offer1, SupersededBy: offer2, TemplateID: first.TemplateID,
					Items: first.Items, Message: "neu", ExpiresAt: ptr(expiresAt), At: when}}
			},
			status: to(domain.StatusSuperseded)},
		colRemind: {name: "Remind",
			run: func(o *domain.Offer, _ int) ([]domain.Event, error) { return o.Remind(72*time.Hour, when) },
			want: func(int) []domain.Event {
				return []domain.Event{&domain.OfferReminded{OfferID: offer1, ExpiresAt: expiresAt, At: when}}
			},
			status: same},
	}
}

// scenario is a history that leaves the offer in status, at round dispatch.
type scenario struct {
	name     string
	status   domain.OfferStatus
	dispatch int
	history  func(exp *time.Time) []domain.Event
	expect   row
}

// after returns the history created(exp) followed by the events of then.
func after(then ...func(exp *time.Time) domain.Event) func(exp *time.Time) []domain.Event {
	return func(exp *time.Time) []domain.Event {
		evs := created(exp)
		for _, f := range then {
			evs = append(evs, f(exp))
		}
		return evs
	}
}

var (
	h1 = t0.Add(time.Hour)

	delivered = func(d int) func(*time.Time) domain.Event {
		return func(*time.Time) domain.Event { return &domain.OfferDelivered{OfferID: offer1, Dispatch: d, At: h1} }
	}
	failed = func(d int) func(*time.Time) domain.Event {
		return func(*time.Time) domain.Event {
			return &domain.OfferDeliveryFailed{OfferID: offer1, Dispatch: d, Error: "timeout", Attempts: 8, At: h1}
		}
	}
	dispatched = func(d int) func(*time.Time) domain.Event {
		return func(*time.Time) domain.Event { return &domain.OfferDispatched{OfferID: offer1, Dispatch: d, At: h1} }
	}
	read     = func(*time.Time) domain.Event { return &domain.OfferRead{OfferID: offer1, At: h1} }
	accepted = func(*time.Time) domain.Event { return &domain.OfferAccepted{OfferID: offer1, At: h1} }
	rejected = func(*time.Time) domain.Event {
		return &domain.OfferRejected{OfferID: offer1, Reason: domain.RejectionReason{Text: "no"}, At: h1}
	}
	withdrawn  = func(*time.Time) domain.Event { return &domain.OfferWithdrawn{OfferID: offer1, At: h1} }
	expired    = func(exp *time.Time) domain.Event { return &domain.OfferExpired{OfferID: offer1, At: *exp} }
	superseded = func(exp *time.Time) domain.Event {
		return &domain.OfferSuperseded{OfferID: offer1, SupersededBy: offer2, TemplateID: "t1", Message: "neu", ExpiresAt: exp, At: h1}
	}
	reminded = func(exp *time.Time) domain.Event {
		return &domain.OfferReminded{OfferID: offer1, ExpiresAt: *exp, At: h1}
	}
)

func scenarios() []scenario {
	// Columns: Deliver(current), Deliver(previous), Deliver(next), FailDelivery(current),
	// FailDelivery(previous), Redeliver, Read, Accept, Reject, Withdraw,
	// Expire(before due), Expire(at due), Expire(after due), Expire(no expiry).
	return []scenario{
		{"waiting", domain.StatusWaiting, 1, after(),
			row{ok, notWaiting, notWaiting, ok, notWaiting, notRedeliverable, notFound, notFound, notFound, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"waiting/redelivered", domain.StatusWaiting, 2, after(failed(1), dispatched(2)),
			row{ok, notWaiting, notWaiting, ok, notWaiting, notRedeliverable, notFound, notFound, notFound, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"waiting_for_confirmation", domain.StatusWaitingForConfirmation, 1, after(delivered(1)),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, ok, ok, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"waiting_for_confirmation/read", domain.StatusWaitingForConfirmation, 1, after(delivered(1), read),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, nothing, ok, ok, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"waiting_for_confirmation/redelivered", domain.StatusWaitingForConfirmation, 2, after(failed(1), dispatched(2), delivered(2)),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, ok, ok, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"accepted", domain.StatusAccepted, 1, after(delivered(1), read, accepted),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, nothing, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"accepted/unread", domain.StatusAccepted, 1, after(delivered(1), accepted),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"rejected", domain.StatusRejected, 1, after(delivered(1), rejected),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"withdrawn/undelivered", domain.StatusWithdrawn, 1, after(withdrawn),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"withdrawn/delivered", domain.StatusWithdrawn, 1, after(delivered(1), withdrawn),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"withdrawn/delivery_failed", domain.StatusWithdrawn, 1, after(failed(1), withdrawn),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"expired/undelivered", domain.StatusExpired, 1, after(expired),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, na, notRevisable, notRemindable}},
		{"expired/delivered", domain.StatusExpired, 1, after(delivered(1), read, expired),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, nothing, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, na, notRevisable, notRemindable}},
		{"expired/delivery_failed", domain.StatusExpired, 1, after(failed(1), expired),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, na, notRevisable, notRemindable}},
		{"delivery_failed", domain.StatusDeliveryFailed, 1, after(failed(1)),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, ok, notFound, notFound, notFound, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"delivery_failed/second_round", domain.StatusDeliveryFailed, 2, after(failed(1), dispatched(2), failed(2)),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, ok, notFound, notFound, notFound, ok, notDue, ok, ok, noExpiry, ok, ok}},
		{"superseded/undelivered", domain.StatusSuperseded, 1, after(superseded),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"superseded/delivered", domain.StatusSuperseded, 1, after(delivered(1), superseded),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, notPending, notPending, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"superseded/delivery_failed", domain.StatusSuperseded, 1, after(failed(1), superseded),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, notFound, notFound, notFound, notWithdrawable, notExpirable, notExpirable, notExpirable, noExpiry, notRevisable, notRemindable}},
		{"waiting/reminded", domain.StatusWaiting, 1, after(reminded),
			row{ok, notWaiting, notWaiting, ok, notWaiting, notRedeliverable, notFound, notFound, notFound, ok, notDue, ok, ok, na, ok, notRemindable}},
		{"waiting_for_confirmation/read/reminded", domain.StatusWaitingForConfirmation, 1, after(delivered(1), read, reminded),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, ok, ok, ok, ok, notDue, ok, ok, na, ok, notRemindable}},
		{"waiting_for_confirmation/read/reminded/read", domain.StatusWaitingForConfirmation, 1, after(delivered(1), read, reminded, read),
			row{notWaiting, notWaiting, notWaiting, notWaiting, notWaiting, notRedeliverable, nothing, ok, ok, ok, notDue, ok, ok, na, ok, notRemindable}},
	}
}

func TestOffer_Lifecycle(t *testing.T) {
	cols := columns()
	covered := map[domain.OfferStatus]bool{}
	for _, sc := range scenarios() {
		covered[sc.status] = true
		t.Run(sc.name, func(t *testing.T) {
			// The given history must itself be what the scenario claims.
			given := fold(&domain.Offer{}, sc.history(ptr(expiresAt))...)
			if got := given.Status(); got != sc.status || given.Dispatch() != sc.dispatch {
				t.Fatalf("given: status %s dispatch %d, want %s %d", got, given.Dispatch(), sc.status, sc.dispatch)
			}
			for i, col := range cols {
				t.Run(col.name, func(t *testing.T) {
					c := sc.expect[i]
					switch {
					case !c.set:
						t.Fatalf("no expected outcome for %s in %s", col.name, sc.name)
					case c.na:
						if !col.noExpiry {
							t.Fatalf("only a history without expiry time can be impossible (expired, reminded)")
						}
						return
					}
					exp := ptr(expiresAt)
					if col.noExpiry {
						exp = nil
					}
					o := fold(&domain.Offer{}, sc.history(exp)...)
					before := o.View()

					got, err := col.run(o, sc.dispatch)

					wantErr(t, err, c.err)
					if diff := cmp.Diff(before, o.View()); diff != "" {
						t.Fatalf("a command changed the aggregate (-before +after):\n%s", diff)
					}
					if c.err != nil || c.nothing {
						if got != nil {
							t.Fatalf("then: events %v, want none", got)
						}
						return
					}
					if diff := cmp.Diff(col.want(sc.dispatch), got); diff != "" {
						t.Fatalf("then: events (-want +got):\n%s", diff)
					}
					fold(o, got...)
					if want := col.status(sc.status); o.Status() != want {
						t.Fatalf("then: status %s, want %s", o.Status(), want)
					}
				})
			}
		})
	}
	for _, st := range domain.OfferStatuses() {
		if !covered[st] {
			t.Errorf("no scenario leaves the offer %s", st)
		}
	}
}

func TestOffer_NotCreated(t *testing.T) {
	o := &domain.Offer{}
	for name, run := range map[string]func() ([]domain.Event, error){
		"Deliver":      func() ([]domain.Event, error) { return o.Deliver(1, when) },
		"FailDelivery": func() ([]domain.Event, error) { return o.FailDelivery(1, "x", 1, when) },
		"Redeliver":    func() ([]domain.Event, error) { return o.Redeliver(when) },
		"Read":         func() ([]domain.Event, error) { return o.Read(when, "") },
		"Accept":       func() ([]domain.Event, error) { return o.Accept(when, "") },
		"Reject":       func() ([]domain.Event, error) { return o.Reject("", when, "") },
		"Withdraw":     func() ([]domain.Event, error) { return o.Withdraw(when) },
		"Expire":       func() ([]domain.Event, error) { return o.Expire(when) },
		"Revise":       func() ([]domain.Event, error) { return o.Revise(offer2, domain.Revision{}, when) },
		"Remind":       func() ([]domain.Event, error) { return o.Remind(time.Hour, when) },
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := run()
			wantErr(t, err, domain.ErrOfferNotFound)
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
		})
	}
}

func TestOffer_Read(t *testing.T) {
	t.Run("OnceOnly", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(delivered(1))(nil)...)
		evs, err := o.Read(when, "")
		mustApply(t, o, evs, err)
		if got := o.View().OpenedAt; got == nil || !got.Equal(when) {
			t.Fatalf("opened_at %v, want %v", got, when)
		}
		evs, err = o.Read(when.Add(time.Hour), "")
		if err != nil || evs != nil {
			t.Fatalf("second read: events %v, error %v; want nothing", evs, err)
		}
	})
}

func TestOffer_Reject(t *testing.T) {
	long := strings.Repeat("ü", domain.MaxReasonLen+1)
	t.Run("ReasonOfMaxLength", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(delivered(1))(nil)...)
		reason := strings.Repeat("ü", domain.MaxReasonLen)
		evs, err := o.Reject(reason, when, "")
		wantErr(t, err, nil)
		if got := evs[0].(*domain.OfferRejected).Reason.Text; got != reason {
			t.Fatalf("reason of %d code points, want %d", len([]rune(got)), domain.MaxReasonLen)
		}
	})
	t.Run("ReasonTooLong", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(delivered(1))(nil)...)
		_, err := o.Reject(long, when, "")
		if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorField(err) != "reason" {
			t.Fatalf("error %v, want validation_failed on reason", err)
		}
	})
	// The contract answers a bad body (422) before a wrong state (409), and
	// a missing resource (404) before both.
	t.Run("ReasonTooLongBeatsDecided", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(delivered(1), accepted)(nil)...)
		_, err := o.Reject(long, when, "")
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("error %v, want validation_failed", err)
		}
	})
	t.Run("NotDeliveredBeatsReasonTooLong", func(t *testing.T) {
		o := fold(&domain.Offer{}, after()(nil)...)
		_, err := o.Reject(long, when, "")
		wantErr(t, err, domain.ErrOfferNotDelivered)
	})
}

func TestOffer_FailDelivery(t *testing.T) {
	o := fold(&domain.Offer{}, after()(nil)...)
	t.Run("DefaultReason", func(t *testing.T) {
		evs, err := o.FailDelivery(1, "", 3, when)
		wantErr(t, err, nil)
		if got := evs[0].(*domain.OfferDeliveryFailed).Error; got != "delivery failed" {
			t.Fatalf("error %q, want the default", got)
		}
	})
	t.Run("ReasonTruncated", func(t *testing.T) {
		evs, err := o.FailDelivery(1, strings.Repeat("é", 1500), 3, when)
		wantErr(t, err, nil)
		if got := len([]rune(evs[0].(*domain.OfferDeliveryFailed).Error)); got != 1000 {
			t.Fatalf("error of %d code points, want 1000", got)
		}
	})
	t.Run("RedeliverClearsError", func(t *testing.T) {
		o := fold(&domain.Offer{}, after(failed(1))(nil)...)
		if o.View().DeliveryError != "timeout" {
			t.Fatalf("delivery_error %q, want timeout", o.View().DeliveryError)
		}
		evs, err := o.Redeliver(when)
		mustApply(t, o, evs, err)
		if v := o.View(); v.DeliveryError != "" || v.Status != domain.StatusWaiting || v.Dispatch != 2 {
			t.Fatalf("after redeliver: %+v", v)
		}
	})
}

// TestOffer_DecisionDeadline checks that accept and reject hold the
// deadline by themselves, whether or not the expiry process has run: at or
// after expires_at both are refused, just before it both are allowed, and
// an offer without expiry can be decided at any time.
func TestOffer_DecisionDeadline(t *testing.T) {
	decisions := map[string]func(o *domain.Offer, now time.Time) ([]domain.Event, error){
		"Accept": func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Accept(now, "") },
		"Reject": func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Reject("too dear", now, "") },
	}
	tests := []struct {
		name string
		exp  *time.Time
		now  time.Time
		want error
	}{
		{"OKJustBefore", &expiresAt, expiresAt.Add(-time.Nanosecond), nil},
		{"ErrAtTheDeadline", &expiresAt, expiresAt, domain.ErrOfferPastExpiry},
		{"ErrAfter", &expiresAt, expiresAt.Add(time.Minute), domain.ErrOfferPastExpiry},
		{"ErrLongAfter", &expiresAt, expiresAt.Add(30 * 24 * time.Hour), domain.ErrOfferPastExpiry},
		{"OKNoExpiry", nil, expiresAt.Add(365 * 24 * time.Hour), nil},
	}
	for dname, decide := range decisions {
		for _, tt := range tests {
			t.Run(dname+"/"+tt.name, func(t *testing.T) {
				o := fold(&domain.Offer{}, after(delivered(1))(tt.exp)...)
				evs, err := decide(o, tt.now)
				wantErr(t, err, tt.want)
				if err == nil && len(evs) != 1 {
					t.Fatalf("recorded %d events, want 1", len(evs))
				}
				if err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
					t.Fatalf("code %s, want %s (409)", domain.ErrorCode(err), domain.ECONFLICT)
				}
			})
		}
	}
}
