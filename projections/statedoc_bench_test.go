package projections

import (
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// BenchmarkEncodeState and BenchmarkDecodeState: the cost of an offer's
// state document per row written (every offer a batch changed, at its end)
// and per row read (every row of an inbox or offer list).
func BenchmarkEncodeState(b *testing.B) {
	v := stateDocView()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeState(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeState(b *testing.B) {
	s, err := encodeState(stateDocView())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v domain.OfferView
		if err := decodeState(s, &v); err != nil {
			b.Fatal(err)
		}
	}
}
