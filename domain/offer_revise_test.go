package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestOffer_Revise covers what a revision changes and keeps, and its refusals
// in the contract's order (422 before 409). The lifecycle matrix covers the
// statuses it is allowed from.
func TestOffer_Revise(t *testing.T) {
	p := MustProduct(t, "p9", reseller1, domain.KindModule, 12)
	tpl := MustTemplate(t, "t9", reseller1, p, domain.ModeAbsolute)
	foreign := MustTemplate(t, "t8", reseller2, MustProduct(t, "p8", reseller2, domain.KindModule, 12), domain.ModeAbsolute)
	empty := MustTemplate(t, "t7", reseller1, p)
	archived := MustTemplate(t, "t6", reseller1, p, domain.ModeAbsolute)
	evs, err := archived.Archive()
	mustApply(t, archived, evs, err)
	old := created(ptr(expiresAt))[0].(*domain.OfferCreated)
	later := expiresAt.Add(24 * time.Hour)

	tests := []struct {
		name    string
		history []domain.Event
		rev     domain.Revision
		at      time.Time
		want    *domain.OfferSuperseded // nil: refused
		err     error                   // the sentinel, when not a validation error
		invalid string                  // the field of the validation error
	}{
		{name: "OK/KeepsEverything", history: after()(ptr(expiresAt)), at: when,
			want: &domain.OfferSuperseded{OfferID: offer1, SupersededBy: offer2, TemplateID: "t1", Items: old.Items,
				Message: "Hallo", ExpiresAt: ptr(expiresAt), At: when}},
		{name: "OK/NewTemplateMessageExpiry", history: after(delivered(1))(ptr(expiresAt)), at: when,
			rev: domain.Revision{Template: tpl, Message: ptr("Neu"), ExpiresAt: ptr(later.In(time.FixedZone("CET", 3600)))},
			want: &domain.OfferSuperseded{OfferID: offer1, SupersededBy: offer2, TemplateID: "t9", Items: tpl.Items(),
				Message: "Neu", ExpiresAt: ptr(later), At: when}},
		{name: "OK/EmptyMessage", history: after(failed(1))(nil), at: when, rev: domain.Revision{Message: ptr("")},
			want: &domain.OfferSuperseded{OfferID: offer1, SupersededBy: offer2, TemplateID: "t1", Items: old.Items, At: when}},
		{name: "ErrNotCreated", at: when, err: domain.ErrOfferNotFound},
		{name: "ErrForeignTemplate", history: after()(nil), at: when, rev: domain.Revision{Template: foreign}, invalid: "template_id"},
		{name: "ErrArchivedTemplate", history: after()(nil), at: when, rev: domain.Revision{Template: archived}, invalid: "template_id"},
		{name: "ErrEmptyTemplate", history: after()(nil), at: when, rev: domain.Revision{Template: empty}, invalid: "template_id"},
		{name: "ErrMessageTooLong", history: after()(nil), at: when,
			rev: domain.Revision{Message: ptr(strings.Repeat("x", domain.MaxMessageLen+1))}, invalid: "message"},
		{name: "ErrExpiryInThePast", history: after()(nil), at: when, rev: domain.Revision{ExpiresAt: ptr(when)}, invalid: "expires_at"},
		{name: "ErrExpiryTooFar", history: after()(nil), at: when,
			rev: domain.Revision{ExpiresAt: ptr(when.Add(domain.MaxExpiryAhead + time.Second))}, invalid: "expires_at"},
		{name: "ErrInvalidBeforeState", history: after(delivered(1), accepted)(nil), at: when,
			rev: domain.Revision{Template: foreign}, invalid: "template_id"},
		{name: "ErrDecided", history: after(delivered(1), accepted)(nil), at: when, err: domain.ErrOfferNotRevisable},
		{name: "ErrTwice", history: after(superseded)(nil), at: when, err: domain.ErrOfferNotRevisable},
		{name: "ErrPastExpiry", history: after(delivered(1))(ptr(expiresAt)), at: expiresAt, err: domain.ErrOfferPastExpiry},
		{name: "ErrPastExpiryEvenWithANewOne", history: after(delivered(1))(ptr(expiresAt)), at: expiresAt.Add(time.Minute),
			rev: domain.Revision{ExpiresAt: ptr(later)}, err: domain.ErrOfferPastExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fold(&domain.Offer{}, tt.history...)
			before := o.View()

			evs, err := o.Revise(offer2, tt.rev, tt.at)

			if diff := cmp.Diff(before, o.View()); diff != "" {
				t.Fatalf("Revise changed the aggregate (-before +after):\n%s", diff)
			}
			switch {
			case tt.invalid != "":
				wantInvalid(t, err, tt.invalid)
			case tt.err != nil:
				wantErr(t, err, tt.err)
			default:
				wantErr(t, err, nil)
				if diff := cmp.Diff([]domain.Event{tt.want}, evs); diff != "" {
					t.Fatalf("events (-want +got):\n%s", diff)
				}
				fold(o, evs...)
				if o.Status() != domain.StatusSuperseded || o.SupersededBy() != offer2 {
					t.Fatalf("status %s superseded by %q, want superseded by %s", o.Status(), o.SupersededBy(), offer2)
				}
				return
			}
			if evs != nil {
				t.Fatalf("events %v, want none", evs)
			}
		})
	}
}

func TestOffer_CreateRevision(t *testing.T) {
	later := expiresAt.Add(time.Hour)
	old := fold(&domain.Offer{}, after(delivered(1))(ptr(expiresAt))...)
	evs, err := old.Revise(offer2, domain.Revision{Message: ptr("Neu"), ExpiresAt: ptr(later)}, when)
	mustApply(t, old, evs, err)

	t.Run("OK", func(t *testing.T) {
		got, err := (&domain.Offer{}).CreateRevision(old, when)
		wantErr(t, err, nil)
		first := created(nil)[0].(*domain.OfferCreated)
		want := []domain.Event{
			&domain.OfferCreated{OfferID: offer2, ResellerID: reseller1, CustomerID: "c1", TemplateID: "t1",
				Items: first.Items, Message: "Neu", ExpiresAt: ptr(later), At: when, Supersedes: offer1},
			&domain.OfferDispatched{OfferID: offer2, Dispatch: 1, At: when},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		n := fold(&domain.Offer{}, got...)
		if v := n.View(); v.Status != domain.StatusWaiting || v.Supersedes != offer1 {
			t.Fatalf("successor: status %s supersedes %q", v.Status, v.Supersedes)
		}
	})
	t.Run("KeepsTheCampaign", func(t *testing.T) {
		// A campaign's offer revised stays in the campaign: its counts and
		// its offers list follow the successor.
		evs := created(nil)
		evs[0].(*domain.OfferCreated).CampaignID = "k1"
		inCampaign := fold(&domain.Offer{}, evs...)
		revised, err := inCampaign.Revise(offer2, domain.Revision{Message: ptr("Neu")}, when)
		mustApply(t, inCampaign, revised, err)
		got, err := (&domain.Offer{}).CreateRevision(inCampaign, when)
		wantErr(t, err, nil)
		if c := got[0].(*domain.OfferCreated); c.CampaignID != "k1" || c.Supersedes != offer1 {
			t.Fatalf("successor created in campaign %q superseding %q, want k1 and %s", c.CampaignID, c.Supersedes, offer1)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		n := fold(&domain.Offer{}, created(nil)...)
		_, err := n.CreateRevision(old, when)
		wantErr(t, err, domain.ErrOfferExists)
	})
	t.Run("ErrNotSuperseded", func(t *testing.T) {
		_, err := (&domain.Offer{}).CreateRevision(fold(&domain.Offer{}, created(nil)...), when)
		wantErr(t, err, domain.ErrOfferNotSuperseded)
	})
}

// TestOffer_Remind covers the window and the refusals the lifecycle matrix
// does not: not yet due, past expiry, no expiry.
func TestOffer_Remind(t *testing.T) {
	const window = 72 * time.Hour
	tests := []struct {
		name    string
		history []domain.Event
		at      time.Time
		err     error
	}{
		{"OK/JustInsideTheWindow", after()(ptr(expiresAt)), expiresAt.Add(-window + time.Nanosecond), nil},
		{"OK/LastMoment", after(delivered(1))(ptr(expiresAt)), expiresAt.Add(-time.Nanosecond), nil},
		{"ErrAtTheWindowsEdge", after()(ptr(expiresAt)), expiresAt.Add(-window), domain.ErrOfferNotInReminderWindow},
		{"ErrPastExpiry", after()(ptr(expiresAt)), expiresAt, domain.ErrOfferPastExpiry},
		{"ErrNoExpiry", after()(nil), when, domain.ErrOfferNotRemindable},
		{"ErrTwice", after(reminded)(ptr(expiresAt)), when, domain.ErrOfferNotRemindable},
		{"ErrSuperseded", after(superseded)(ptr(expiresAt)), when, domain.ErrOfferNotRemindable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fold(&domain.Offer{}, tt.history...)
			evs, err := o.Remind(window, tt.at)
			wantErr(t, err, tt.err)
			if tt.err != nil {
				if evs != nil {
					t.Fatalf("events %v, want none", evs)
				}
				return
			}
			want := []domain.Event{&domain.OfferReminded{OfferID: offer1, ExpiresAt: expiresAt, At: tt.at}}
			if diff := cmp.Diff(want, evs); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOffer_ReadAfterReminder: a reminder makes an opened offer unread, the
// next opening reads it again without moving opened_at, and a further
// opening records nothing.
func TestOffer_ReadAfterReminder(t *testing.T) {
	o := fold(&domain.Offer{}, after(delivered(1), read, reminded)(ptr(expiresAt))...)
	if !o.View().Unread() {
		t.Fatal("a reminded offer is not unread")
	}
	evs, err := o.Read(when, "Anna")
	mustApply(t, o, evs, err)
	v := o.View()
	if v.Unread() || !v.ReminderRead || !v.OpenedAt.Equal(h1) || v.OpenedBy != "" {
		t.Fatalf("after reading the reminder: unread %v, reminder read %v, opened at %v by %q", v.Unread(), v.ReminderRead, v.OpenedAt, v.OpenedBy)
	}
	if evs, err := o.Read(when.Add(time.Minute), ""); evs != nil || err != nil {
		t.Fatalf("third read: events %v, error %v; want nothing", evs, err)
	}
}
