package domain_test

import (
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name string
		text string
		kind domain.TextKind
		max  int
		ok   bool
	}{
		{"OK", "Musterschule GmbH", domain.SingleLine, 200, true},
		{"OKUnicode", "École Zürich – 日本語 عربي", domain.SingleLine, 200, true},
		{"OKMessageWithNewlines", "Dear admin,\r\n\nplease see\tthe offer.", domain.MultiLine, 2000, true},
		{"OKAtTheBound", strings.Repeat("ü", 200), domain.SingleLine, 200, true},
		{"ErrTooLong", strings.Repeat("ü", 201), domain.SingleLine, 200, false},
		{"ErrNUL", "Mal\x00lory", domain.SingleLine, 200, false},
		{"ErrNULInMessage", "Mal\x00lory", domain.MultiLine, 2000, false},
		{"ErrNewlineInName", "Evil\nCorp", domain.SingleLine, 200, false},
		{"ErrTabInName", "Evil\tCorp", domain.SingleLine, 200, false},
		{"ErrEscape", "\x1b[31mred", domain.MultiLine, 2000, false},
		{"ErrDEL", "a\x7fb", domain.SingleLine, 200, false},
		{"ErrC1", "a\u0085b", domain.MultiLine, 2000, false},
		{"ErrRLO", "Invoice\u202Efdp.exe", domain.SingleLine, 200, false},
		{"ErrLRE", "a\u202Ab", domain.MultiLine, 2000, false},
		{"ErrPDF", "a\u202Cb", domain.SingleLine, 200, false},
		{"ErrLRI", "a\u2066b", domain.SingleLine, 200, false},
		{"ErrPDI", "a\u2069b", domain.MultiLine, 2000, false},
		{"ErrLRM", "a\u200Eb", domain.SingleLine, 200, false},
		{"ErrRLM", "a\u200Fb", domain.SingleLine, 200, false},
		{"ErrALM", "a\u061Cb", domain.SingleLine, 200, false},
		{"ErrInvalidUTF8", "a\xffb", domain.SingleLine, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := domain.CheckText("name", tt.text, tt.kind, tt.max)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckText(%q) = %v, want ok %v", tt.text, err, tt.ok)
			}
			if err != nil && (domain.ErrorCode(err) != domain.EINVALID || domain.ErrorField(err) != "name") {
				t.Fatalf("error %v: want validation_failed on name", err)
			}
		})
	}
}

// TestText_EveryNameAndFreeText checks that the rule guards each command
// that takes text people will see.
func TestText_EveryNameAndFreeText(t *testing.T) {
	const bad = "Evil\u202Eroc"
	var (
		r  domain.Reseller
		p  domain.Product
		tm domain.Template
		c  domain.Customer
	)
	checks := map[string]func() error{
		"ResellerName": func() error { _, err := r.Register("r1", bad); return err },
		"ProductName":  func() error { _, err := p.Add("p1", "r1", bad, domain.KindModule, []int{12}); return err },
		"TemplateName": func() error { _, err := tm.Create("t1", "r1", bad); return err },
		"CustomerName": func() error { _, err := c.Register("c1", "r1", bad, ""); return err },
		"CustomerRef":  func() error { _, err := c.Register("c1", "r1", "Name", "ref\x00"); return err },
	}
	checks["OfferMessage"] = func() error {
		p := MustProduct(t, "p1", reseller1, domain.KindModule, 12)
		_, err := (&domain.Offer{}).Create(offer1, reseller1, MustCustomer(t, "c1", reseller1),
			MustTemplate(t, "t1", reseller1, p, domain.ModeAbsolute), "Hallo\n"+bad, nil, t0)
		return err
	}
	checks["RejectionReason"] = func() error {
		_, err := fold(&domain.Offer{}, after(delivered(1))(nil)...).Reject("no\x1b[2J", when, "")
		return err
	}
	for name, f := range checks {
		t.Run(name, func(t *testing.T) {
			if err := f(); domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("got %v, want validation_failed", err)
			}
		})
	}
}
