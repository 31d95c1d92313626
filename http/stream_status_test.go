package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// TestStream_StatusIsTheDomains sends every offer event type through the
// live stream, as a reseller hears it, and checks that the status each
// event carries is the one domain.Offer.Apply folds the offer into, and
// that an event that changes no status carries none (and reaches the
// reseller only when it is the reminder of an expiry). The lives below
// must cover every offer event type the domain records.
func TestStream_StatusIsTheDomains(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := at.Add(72 * time.Hour)
	const reseller, customer = domain.ResellerID("r1"), domain.CustomerID("c1")
	created := func(id domain.OfferID) domain.Event {
		return &domain.OfferCreated{OfferID: id, ResellerID: reseller, CustomerID: customer, TemplateID: "t1", ExpiresAt: &exp, At: at}
	}
	// Each life is one offer's stream, in log order.
	lives := []struct {
		name   string
		offer  domain.OfferID
		events []domain.Event
	}{
		{"delivered, read, reminded, accepted", "o1", []domain.Event{
			created("o1"), &domain.OfferDispatched{OfferID: "o1", Dispatch: 1, At: at},
			&domain.OfferDelivered{OfferID: "o1", Dispatch: 1, At: at}, &domain.OfferRead{OfferID: "o1", At: at},
			&domain.OfferReminded{OfferID: "o1", ExpiresAt: exp, At: at}, &domain.OfferAccepted{OfferID: "o1", At: at},
		}},
		{"failed, redelivered, rejected", "o2", []domain.Event{
			created("o2"), &domain.OfferDispatched{OfferID: "o2", Dispatch: 1, At: at},
			&domain.OfferDeliveryFailed{OfferID: "o2", Dispatch: 1, Error: "down", Attempts: 3, At: at},
			&domain.OfferDispatched{OfferID: "o2", Dispatch: 2, At: at},
			&domain.OfferDelivered{OfferID: "o2", Dispatch: 2, At: at},
			&domain.OfferRejected{OfferID: "o2", Reason: domain.RejectionReason{Text: "no"}, At: at},
		}},
		{"withdrawn", "o3", []domain.Event{
			created("o3"), &domain.OfferDispatched{OfferID: "o3", Dispatch: 1, At: at}, &domain.OfferWithdrawn{OfferID: "o3", At: at},
		}},
		{"expired", "o4", []domain.Event{
			created("o4"), &domain.OfferDispatched{OfferID: "o4", Dispatch: 1, At: at},
			&domain.OfferDelivered{OfferID: "o4", Dispatch: 1, At: at}, &domain.OfferExpired{OfferID: "o4", At: at},
		}},
		{"superseded", "o5", []domain.Event{
			created("o5"), &domain.OfferDispatched{OfferID: "o5", Dispatch: 1, At: at},
			&domain.OfferSuperseded{OfferID: "o5", SupersededBy: "o6", TemplateID: "t1", ExpiresAt: &exp, At: at},
		}},
	}

	// The log, and what the domain says of each event: the status it
	// leaves its offer in when that differs from the status before.
	var log []domain.Envelope
	want := map[uint64]domain.OfferStatus{}
	covered := map[string]bool{}
	for _, l := range lives {
		var o domain.Offer
		for i, ev := range l.events {
			data, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			pos := uint64(len(log) + 1)
			log = append(log, domain.Envelope{Position: pos, Stream: domain.OfferStream(l.offer), Version: uint64(i + 1),
				Type: ev.EventType(), SchemaVersion: domain.SchemaVersion(ev.EventType()), Data: data})
			before := o.Status()
			o.Apply(ev)
			if o.Status() != before {
				want[pos] = o.Status()
			}
			covered[ev.EventType()] = true
		}
	}
	for _, typ := range domain.EventTypes() {
		if strings.HasPrefix(typ, "offer.") && !covered[typ] {
			t.Errorf("no life covers %s: add it above", typ)
		}
	}

	h := newHub(nil, slog.New(slog.DiscardHandler))
	h.apply(log, nil)
	s := &Server{hub: h}
	var out bytes.Buffer
	sw := &sseWriter{w: &out}
	id := Identity{Role: domain.RoleReseller, Tenant: string(reseller)}
	for _, e := range log {
		out.Reset()
		if err := s.sendEvent(context.Background(), sw, id, e); err != nil {
			t.Fatalf("%s at %d: %v", e.Type, e.Position, err)
		}
		got, sent := streamOfferEvent(t, out.String())
		switch {
		case want[e.Position] == "" && e.Type != domain.TypeOfferReminded:
			if sent {
				t.Errorf("%s at %d changes no status, but the reseller heard %+v", e.Type, e.Position, got)
			}
		case !sent:
			t.Errorf("%s at %d: the reseller heard nothing, want status %q", e.Type, e.Position, want[e.Position])
		case got.Status != want[e.Position] || got.Event != e.Type || got.Position != e.Position || got.OfferID == "":
			t.Errorf("%s at %d: the stream says %+v, want status %q (the domain's)", e.Type, e.Position, got, want[e.Position])
		}
	}
}

// streamOfferEvent parses the one `offer` event written to the stream, if
// any.
func streamOfferEvent(t *testing.T, wire string) (offerEventJSON, bool) {
	t.Helper()
	var got offerEventJSON
	sent := false
	sc := bufio.NewScanner(strings.NewReader(wire))
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if sent {
				t.Fatalf("more than one event written: %q", wire)
			}
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			sent = true
		}
	}
	return got, sent
}
