package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestDecodeFlat holds the hand-written decoding of the delivery events to
// json.Unmarshal: what it takes decodes to the same value, json.Marshal's
// own output is taken, and anything off its exact layout is left to
// json.Unmarshal (which decodes or refuses it as before).
func TestDecodeFlat(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.FixedZone("", 3600))
	canonical := []Event{
		&OfferDispatched{OfferID: "o-1", Dispatch: 3, At: at},
		&OfferDelivered{OfferID: "o-1", Dispatch: 0, At: at.UTC()},
		&OfferDeliveryFailed{OfferID: "o-1", Dispatch: -2, Error: "the customer's webhook answered 503", Attempts: 8, At: at},
		&OfferRead{OfferID: "o-1", At: at},
		&OfferRead{OfferID: "o-1", At: at, By: "phone"},
	}
	for _, e := range canonical {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("marshalled "+string(data), func(t *testing.T) { checkFlat(t, e.EventType(), data, true) })
	}
	tests := []struct {
		typ  string
		data string
		fast bool // taken by decodeFlat
	}{
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":12,"at":"2026-12-02T10:00:00Z"}`, true},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":-0,"at":"2026-12-02T10:00:00Z"}`, true},
		{TypeOfferDispatched, `{"offer_id":"","dispatch":0,"at":"2026-12-02T10:00:00+01:00"}`, true},
		{TypeOfferDispatched, `{"dispatch":12,"offer_id":"o","at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o", "dispatch":12,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":12,"at":"2026-12-02T10:00:00Z"} `, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":12,"at":"2026-12-02T10:00:00Z"}x`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":012,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1.5,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1e3,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":-,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":99999999999999999999,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":null,"dispatch":1,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o\u00e9","dispatch":1,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, "{\"offer_id\":\"o\xc3\xa9\",\"dispatch\":1,\"at\":\"2026-12-02T10:00:00Z\"}", false},
		{TypeOfferDispatched, "{\"offer_id\":\"o\xff\",\"dispatch\":1,\"at\":\"2026-12-02T10:00:00Z\"}", false},
		{TypeOfferDispatched, "{\"offer_id\":\"o\t\",\"dispatch\":1,\"at\":\"2026-12-02T10:00:00Z\"}", false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1,"at":"2026-12-02 10:00:00"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1,"at":"2026-13-02T10:00:00Z"}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1,"at":"2026-12-02T10:00:00Z","extra":1}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1}`, false},
		{TypeOfferDispatched, `{"offer_id":"o","dispatch":1,"at":"2026-12-02T10:00:00Z"`, false},
		{TypeOfferDispatched, `{"OFFER_ID":"o","dispatch":1,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDelivered, `{"offer_id":"o","dispatch":1,"at":"2026-12-02T10:00:00.5Z"}`, true},
		{TypeOfferDeliveryFailed, `{"offer_id":"o","dispatch":1,"error":"503","attempts":8,"at":"2026-12-02T10:00:00Z"}`, true},
		{TypeOfferDeliveryFailed, `{"offer_id":"o","dispatch":1,"error":"a \"quote\"","attempts":8,"at":"2026-12-02T10:00:00Z"}`, false},
		{TypeOfferDeliveryFailed, `{"offer_id":"o","dispatch":1,"error":"<b>","attempts":8,"at":"2026-12-02T10:00:00Z"}`, true},
		{TypeOfferRead, `{"offer_id":"o","at":"2026-12-02T10:00:00Z","by":"tablet"}`, true},
		{TypeOfferRead, `{"offer_id":"o","at":"2026-12-02T10:00:00Z","by":""}`, true},
		{TypeOfferRead, `{"offer_id":"o","at":"2026-12-02T10:00:00Z","by":null}`, false},
		{TypeOfferCreated, `{"offer_id":"o"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.data, func(t *testing.T) { checkFlat(t, tt.typ, []byte(tt.data), tt.fast) })
	}
}

// checkFlat decodes data of type typ with decodeFlat and with
// json.Unmarshal, and fails when they differ or fast is not whether
// decodeFlat took it.
func checkFlat(t *testing.T, typ string, data []byte, fast bool) {
	t.Helper()
	got, _ := NewEvent(typ)
	took := decodeFlat(got, data)
	if took != fast {
		t.Fatalf("decodeFlat took it: %v, want %v", took, fast)
	}
	if !took {
		return
	}
	want, _ := NewEvent(typ)
	if err := json.Unmarshal(data, want); err != nil {
		t.Fatalf("decodeFlat took what json.Unmarshal refuses: %v", err)
	}
	if !json.Valid(data) {
		t.Fatal("decodeFlat took invalid JSON")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeFlat %+v, json.Unmarshal %+v", got, want)
	}
}

// FuzzDecodeFlat holds decodeFlat to json.Unmarshal on whatever it takes.
func FuzzDecodeFlat(f *testing.F) {
	types := []string{TypeOfferDispatched, TypeOfferDelivered, TypeOfferDeliveryFailed, TypeOfferRead}
	for i := range types {
		for _, data := range []string{`{"offer_id":"o","dispatch":12,"at":"2026-12-02T10:00:00Z"}`,
			`{"offer_id":"o","dispatch":1,"error":"503","attempts":8,"at":"2026-12-02T10:00:00.000000001+14:00"}`,
			`{"offer_id":"o","at":"2026-12-02T10:00:00Z","by":"tablet"}`} {
			f.Add(uint8(i), []byte(data))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		got, _ := NewEvent(typ)
		if !decodeFlat(got, data) {
			return
		}
		want, _ := NewEvent(typ)
		if err := json.Unmarshal(data, want); err != nil {
			t.Fatalf("decodeFlat took %q, which json.Unmarshal refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeFlat %+v, json.Unmarshal %+v", data, got, want)
		}
	})
}
