package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// FuzzDecodeEvent feeds the event decoder what a damaged or foreign log
// could hold: it must refuse or decode without panicking, what it decodes
// must survive a round trip through JSON unchanged, and folding it into any
// aggregate must not panic (apply never fails).
func FuzzDecodeEvent(f *testing.F) {
	types := domain.EventTypes()
	for i := range types {
		for _, data := range []string{`{}`, `null`, `[]`, `{"offer_id":"o","at":"2026-01-02T03:04:05Z","items":[{"product_id":"p","term_months":12}]}`,
			`{"dispatch":-1,"attempts":1e3}`, `{"licenses":[{"valid_until":"x"}]}`, `{"expires_at":null,"message":"\u202e"}`} {
			f.Add(uint8(i), []byte(data))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		e, err := domain.DecodeEvent(typ, domain.SchemaVersion(typ), data)
		if err != nil {
			return
		}
		if e.EventType() != typ {
			t.Fatalf("decoded %s as %s", typ, e.EventType())
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("encode %T: %v", e, err)
		}
		e2, err := domain.DecodeEvent(typ, domain.SchemaVersion(typ), again)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed %+v into %+v", e, e2)
		}
		for _, agg := range []interface{ Apply(domain.Event) }{
			&domain.Reseller{}, &domain.Product{}, &domain.Customer{}, &domain.Template{}, &domain.Offer{}, &domain.Grant{},
		} {
			agg.Apply(e)
		}
	})
}
