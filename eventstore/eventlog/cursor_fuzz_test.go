package eventlog

import "testing"

// FuzzDecodeCursor feeds the history cursor parser what a client may send:
// it must refuse or decode without panicking, and what it decodes must be
// the position the same cursor encodes.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor(0), encodeCursor(7), encodeCursor(^uint64(0)), "aGlzdG9yeTo", "aGlzdG9yeTotMQ", "!!", "aGlzdG9yeToxOA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := decodeCursor(s)
		if err != nil || s == "" {
			return
		}
		if again, err := decodeCursor(encodeCursor(v)); err != nil || again != v {
			t.Fatalf("round trip of position %d (from %q): %d, %v", v, s, again, err)
		}
	})
}
