package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// applied records what Fold applies, in order.
type applied []domain.Event

func (a *applied) Apply(e domain.Event) { *a = append(*a, e) }

// TestFold folds envelopes as the command side and the event log read
// them: each decoded at its schema version and upcast, in order, stopping
// at the first that does not decode.
func TestFold(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env := func(typ string, version int, data string) domain.Envelope {
		return domain.Envelope{Stream: "offer-o1", Type: typ, SchemaVersion: version, Data: json.RawMessage(data)}
	}
	read := env(domain.TypeOfferRead, 1, `{"offer_id":"o1","at":"2025-03-01T12:00:00Z"}`)
	rejectedV1 := env(domain.TypeOfferRejected, 1, `{"offer_id":"o1","reason":"zu teuer","at":"2025-03-01T12:00:00Z"}`)
	cases := []struct {
		name    string
		envs    []domain.Envelope
		want    applied
		wantErr bool
	}{
		{"none", nil, nil, false},
		{"in order, upcast", []domain.Envelope{read, rejectedV1}, applied{
			&domain.OfferRead{OfferID: "o1", At: at},
			&domain.OfferRejected{OfferID: "o1", Reason: domain.RejectionReason{Text: "zu teuer"}, At: at}}, false},
		{"unknown type stops the fold", []domain.Envelope{read, env("offer.unheard_of", 1, `{}`), rejectedV1},
			applied{&domain.OfferRead{OfferID: "o1", At: at}}, true},
		{"data that does not decode", []domain.Envelope{env(domain.TypeOfferRead, 1, `"o1"`)}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got applied
			err := domain.Fold(&got, c.envs)
			if (err != nil) != c.wantErr {
				t.Fatalf("Fold error = %v, want error %v", err, c.wantErr)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
		})
	}
}
