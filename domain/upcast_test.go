package domain_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestDecodeEvent_Upcast decodes offer.rejected as stored at each schema
// version, legal and not.
func TestDecodeEvent_Upcast(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		version int
		data    string
		want    *domain.OfferRejected // nil: refused
	}{
		{"v1", 1, `{"offer_id":"o1","reason":"zu teuer","at":"2025-03-01T12:00:00Z","by":"Anna"}`,
			&domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Text: "zu teuer"}, At: at, By: "Anna"}},
		{"v1 without a reason", 1, `{"offer_id":"o1","at":"2025-03-01T12:00:00Z"}`,
			&domain.OfferRejected{OfferID: "o1", At: at}},
		{"v1 with an empty reason", 1, `{"offer_id":"o1","reason":"","at":"2025-03-01T12:00:00Z"}`,
			&domain.OfferRejected{OfferID: "o1", At: at}},
		{"version 0 counts as 1", 0, `{"offer_id":"o1","reason":"no","at":"2025-03-01T12:00:00Z"}`,
			&domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Text: "no"}, At: at}},
		{"v2", 2, `{"offer_id":"o1","reason":{"code":"price","text":"zu teuer"},"at":"2025-03-01T12:00:00Z"}`,
			&domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Code: "price", Text: "zu teuer"}, At: at}},
		{"v1 with a reason that is not a string", 1, `{"offer_id":"o1","reason":5,"at":"2025-03-01T12:00:00Z"}`, nil},
		{"v1 that is not an object", 1, `"o1"`, nil},
		{"v2 in the old shape", 2, `{"offer_id":"o1","reason":"no","at":"2025-03-01T12:00:00Z"}`, nil},
		{"v3, newer than this code", 3, `{"offer_id":"o1","reason":{"text":"no"},"at":"2025-03-01T12:00:00Z"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := domain.DecodeEvent(domain.TypeOfferRejected, c.version, []byte(c.data))
			if c.want == nil {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSchemaVersion: only the types whose shape changed are past 1.
func TestSchemaVersion(t *testing.T) {
	for _, typ := range domain.EventTypes() {
		want := 1
		if typ == domain.TypeOfferRejected {
			want = 2
		}
		if got := domain.SchemaVersion(typ); got != want {
			t.Errorf("SchemaVersion(%s) = %d, want %d", typ, got, want)
		}
	}
}
