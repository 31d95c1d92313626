package domain_test

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// sampleEvents returns one event of every type with every field set, so that
// a round trip through JSON exercises each of them.
func sampleEvents() []domain.Event {
	at := time.Date(2025, 3, 1, 12, 30, 15, 123456789, time.UTC)
	until := domain.AddMonths(at, 12)
	item := domain.Item{ID: "i1", ProductID: "p1", ProductName: "Erste Hilfe", Kind: domain.KindModule,
		TermMonths: 12, LicenseMode: domain.ModeRelative, Seats: ptr(30)}
	return []domain.Event{
		&domain.ResellerRegistered{ResellerID: "r1", Name: "Lernwerk"},
		&domain.ProductAdded{ProductID: "p1", ResellerID: "r1", Name: "Erste Hilfe", Kind: domain.KindCourse, LicenseTermsMonths: []int{12, 24}},
		&domain.CustomerRegistered{CustomerID: "c1", ResellerID: "r1", Name: "Stadtwerke", ExternalRef: "KD-1"},
		&domain.CustomerWebhookSet{CustomerID: "c1", URL: "https://hooks.example.com/", Secret: "whsec_x"},
		&domain.CustomerWebhookRemoved{CustomerID: "c1"},
		&domain.CustomerErased{CustomerID: "c1", At: at},
		&domain.TemplateCreated{TemplateID: "t1", ResellerID: "r1", Name: "Grundpaket"},
		&domain.TemplateItemAdded{TemplateID: "t1", Item: item},
		&domain.TemplateItemModeChanged{TemplateID: "t1", ItemID: "i1", LicenseMode: domain.ModeAbsolute},
		&domain.TemplateItemRemoved{TemplateID: "t1", ItemID: "i1"},
		&domain.TemplateArchived{TemplateID: "t1"},
		&domain.OfferCreated{OfferID: "o1", ResellerID: "r1", CustomerID: "c1", TemplateID: "t1",
			Items: []domain.Item{item}, Message: "Grüße 😀", ExpiresAt: ptr(at.Add(time.Hour)), CampaignID: "k1", At: at, Supersedes: "o0"},
		&domain.OfferDispatched{OfferID: "o1", Dispatch: 2, At: at},
		&domain.OfferDelivered{OfferID: "o1", Dispatch: 2, At: at},
		&domain.OfferDeliveryFailed{OfferID: "o1", Dispatch: 2, Error: "503 Service Unavailable", Attempts: 8, At: at},
		&domain.OfferRead{OfferID: "o1", At: at, By: "Anna"},
		&domain.OfferAccepted{OfferID: "o1", At: at, By: "Anna"},
		&domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Code: "price", Text: "zu teuer"}, At: at, By: "Anna"},
		&domain.OfferWithdrawn{OfferID: "o1", At: at},
		&domain.OfferExpired{OfferID: "o1", At: at},
		&domain.OfferSuperseded{OfferID: "o1", SupersededBy: "o2", TemplateID: "t1", Items: []domain.Item{item},
			Message: "Neu 😀", ExpiresAt: ptr(at.Add(time.Hour)), At: at},
		&domain.OfferReminded{OfferID: "o1", ExpiresAt: at.Add(time.Hour), At: at},
		&domain.LicensesGranted{OfferID: "o1", CustomerID: "c1", ResellerID: "r1", Licenses: []domain.License{{
			OfferID: "o1", ItemID: "i1", ProductID: "p1", ProductName: "Erste Hilfe", Kind: domain.KindModule, TermMonths: 12,
			LicenseMode: domain.ModeAbsolute, Seats: ptr(30), GrantedAt: at, ValidUntil: &until}}},
		&domain.CampaignStarted{CampaignID: "k1", ResellerID: "r1", TemplateID: "t1", Items: []domain.Item{item}, Message: "Hallo",
			ExpiresAt: ptr(at.Add(time.Hour)), Offers: []domain.CampaignOffer{{CustomerID: "c1", OfferID: "o1"}}, At: at},
		&domain.TokenIssued{TokenID: "k1", Hash: "9f86d081", Role: domain.RoleAuditor, Tenant: "*", Name: "Audit",
			Parent: "0a1b", Depth: 1, ExpiresAt: &at, IdleSeconds: 3600},
		&domain.TokenRevoked{TokenID: "k1"},
		&domain.TokenExtended{TokenID: "k1", ExpiresAt: at},
		&domain.NameReserved{ResellerID: "r1", Kind: domain.NameOfProduct, Name: "Erste Hilfe", Holder: "p1", At: at},
	}
}

func TestEventTypes(t *testing.T) {
	types := domain.EventTypes()
	name := regexp.MustCompile(`^[a-z]+\.[a-z0-9_]+$`)
	seen := map[string]bool{}
	for _, typ := range types {
		if seen[typ] {
			t.Errorf("%s listed twice", typ)
		}
		seen[typ] = true
		if !name.MatchString(typ) {
			t.Errorf("%s is not of the form aggregate.past_tense", typ)
		}
		e, ok := domain.NewEvent(typ)
		if !ok {
			t.Errorf("NewEvent(%s) knows no such type", typ)
			continue
		}
		if e.EventType() != typ {
			t.Errorf("NewEvent(%s) returns a %T of type %s", typ, e, e.EventType())
		}
	}
	var sampled []string
	for _, e := range sampleEvents() {
		sampled = append(sampled, e.EventType())
	}
	if diff := cmp.Diff(types, sampled); diff != "" {
		t.Errorf("sampleEvents does not cover EventTypes (-types +samples):\n%s", diff)
	}
}

func TestDecodeEvent(t *testing.T) {
	for _, e := range sampleEvents() {
		t.Run(e.EventType(), func(t *testing.T) {
			if f := zeroField(reflect.ValueOf(e).Elem()); f != "" {
				t.Fatalf("sample leaves %s unset: the round trip would not test it", f)
			}
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := domain.DecodeEvent(e.EventType(), domain.SchemaVersion(e.EventType()), data)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(e) {
				t.Fatalf("decoded a %T, want %T", got, e)
			}
			if diff := cmp.Diff(e, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("UnknownType", func(t *testing.T) {
		if _, err := domain.DecodeEvent("offer.teleported", 1, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "offer.teleported") {
			t.Fatalf("error %v, want one naming the unknown type", err)
		}
		if _, ok := domain.NewEvent("offer.teleported"); ok {
			t.Fatalf("NewEvent knows offer.teleported")
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		if _, err := domain.DecodeEvent(domain.TypeOfferAccepted, 1, []byte(`{"at": 5}`)); err == nil {
			t.Fatalf("decoded a number as a time")
		}
	})
	// Changes are additive: data written by a newer version, with fields
	// this one does not know, still decodes.
	t.Run("UnknownFieldsTolerated", func(t *testing.T) {
		got, err := domain.DecodeEvent(domain.TypeOfferRejected, 1, []byte(`{"offer_id":"o1","reason":"no","at":"2025-03-01T12:00:00Z","channel":"mobile"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := &domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Text: "no"}, At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}

// zeroField returns the path of the first zero-valued field in v, or "".
func zeroField(v reflect.Value) string {
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		if f.IsZero() || (f.Kind() == reflect.Slice && f.Len() == 0) {
			return name
		}
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
			if sub := zeroField(f); sub != "" {
				return name + "." + sub
			}
		}
		if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct {
			if sub := zeroField(f.Index(0)); sub != "" {
				return name + "[0]." + sub
			}
		}
	}
	return ""
}

// TestEventsDocumented keeps the event catalog whole: every type has a
// section in docs/events.md ("### `type`") that names each field of its data.
func TestEventsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatalf("read the event catalog: %v", err)
	}
	sections := map[string]string{}
	for _, part := range strings.Split(string(doc), "\n### `")[1:] {
		typ, body, _ := strings.Cut(part, "`")
		sections[typ] = body
	}
	for _, e := range sampleEvents() {
		typ := e.EventType()
		body, ok := sections[typ]
		if !ok {
			t.Errorf("docs/events.md has no section ### `%s`", typ)
			continue
		}
		if end := strings.Index(body, "\n## "); end >= 0 {
			body = body[:end]
		}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			if !strings.Contains(body, "`"+f+"`") {
				t.Errorf("docs/events.md, %s: field `%s` not described", typ, f)
			}
		}
	}
	for typ := range sections {
		if _, ok := domain.NewEvent(typ); !ok {
			t.Errorf("docs/events.md describes %s, which the domain does not know", typ)
		}
	}
}
