package projections

import (
	"errors"
	"testing"
)

// FuzzDecodeCursor feeds the list cursor parser what a client may send as
// ?cursor=: it must answer a cursor of the named list or ErrBadCursor,
// never panic, and every cursor it accepts must encode back to one that
// decodes to the same position.
func FuzzDecodeCursor(f *testing.F) {
	for _, c := range []cursor{
		{List: "offers", Pos: 42, Idx: 3}, {List: "products", Key: "ölfarbe", ID: "p-1"}, {List: "inbox"}, {List: "x", Pos: ^uint64(0), Idx: -1},
	} {
		f.Add(c.List, c.encode())
	}
	for _, s := range []string{"", "e30", "!!!", "eyJsIjoib2ZmZXJzIn0", "eyJsIjoib2ZmZXJzIiwicCI6LTF9", "bnVsbA"} {
		f.Add("offers", s)
	}
	f.Fuzz(func(t *testing.T, list, s string) {
		c, ok, err := decodeCursor(list, s)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadCursor) || ok {
				t.Fatalf("decodeCursor(%q, %q) = %v, %v; want ErrBadCursor", list, s, ok, err)
			}
			return
		case !ok:
			if s != "" {
				t.Fatalf("decodeCursor(%q, %q): no cursor and no error", list, s)
			}
			return
		}
		if c.List != list {
			t.Fatalf("a cursor of list %q accepted for list %q", c.List, list)
		}
		again, ok, err := decodeCursor(list, c.encode())
		if err != nil || !ok || again != c {
			t.Fatalf("round trip of %+v: %+v, %v, %v", c, again, ok, err)
		}
	})
}
