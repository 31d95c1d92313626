package domain_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// sentinels lists every named rule of the domain.
func sentinels() map[string]*domain.Error {
	return map[string]*domain.Error{
		"ErrCustomerErased": domain.ErrCustomerErased,
		"ErrOfferExists":    domain.ErrOfferExists, "ErrOfferNotFound": domain.ErrOfferNotFound,
		"ErrOfferNotDelivered": domain.ErrOfferNotDelivered, "ErrOfferNotWaiting": domain.ErrOfferNotWaiting,
		"ErrOfferNotPending": domain.ErrOfferNotPending, "ErrOfferNotWithdrawable": domain.ErrOfferNotWithdrawable,
		"ErrOfferNotRedeliverable": domain.ErrOfferNotRedeliverable, "ErrOfferNotExpirable": domain.ErrOfferNotExpirable,
		"ErrOfferNotDue": domain.ErrOfferNotDue, "ErrOfferHasNoExpiry": domain.ErrOfferHasNoExpiry,
		"ErrOfferPastExpiry":          domain.ErrOfferPastExpiry,
		"ErrOfferNotRevisable":        domain.ErrOfferNotRevisable,
		"ErrOfferNotSuperseded":       domain.ErrOfferNotSuperseded,
		"ErrOfferNotRemindable":       domain.ErrOfferNotRemindable,
		"ErrOfferNotInReminderWindow": domain.ErrOfferNotInReminderWindow,
		"ErrTemplateExists":           domain.ErrTemplateExists, "ErrTemplateNotFound": domain.ErrTemplateNotFound,
		"ErrTemplateArchived": domain.ErrTemplateArchived, "ErrTemplateItemNotFound": domain.ErrTemplateItemNotFound,
		"ErrTemplateItemExists": domain.ErrTemplateItemExists, "ErrProductExists": domain.ErrProductExists,
		"ErrProductNotFound": domain.ErrProductNotFound, "ErrCustomerExists": domain.ErrCustomerExists,
		"ErrCampaignExists": domain.ErrCampaignExists, "ErrCampaignNotFound": domain.ErrCampaignNotFound,
		"ErrCustomerNotFound": domain.ErrCustomerNotFound, "ErrResellerExists": domain.ErrResellerExists,
		"ErrResellerNotFound": domain.ErrResellerNotFound, "ErrWebhookNotSet": domain.ErrWebhookNotSet,
		"ErrLicensesAlreadyGranted": domain.ErrLicensesAlreadyGranted, "ErrLicensesOfferNotAccepted": domain.ErrLicensesOfferNotAccepted,
		"ErrTokenExists": domain.ErrTokenExists, "ErrTokenNotFound": domain.ErrTokenNotFound, "ErrTokenRevoked": domain.ErrTokenRevoked,
		"ErrTokenNotValid": domain.ErrTokenNotValid, "ErrTokenTooDeep": domain.ErrTokenTooDeep, "ErrTokenNoSliding": domain.ErrTokenNoSliding,
	}
}

// TestSentinelsComplete keeps sentinels() in step with the package: every
// exported Err variable declared in domain is listed.
func TestSentinelsComplete(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	slices.Sort(declared)
	if diff := cmp.Diff(declared, slices.Sorted(maps.Keys(sentinels()))); diff != "" {
		t.Errorf("sentinels() is out of date (-declared +listed):\n%s", diff)
	}
}

func TestError_Is(t *testing.T) {
	all := sentinels()
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			cp := *s
			cp.Field = "offer_id" // a copy that carries a field still matches
			wrapped := fmt.Errorf("withdraw o1: %w", &cp)
			if !errors.Is(&cp, s) || !errors.Is(wrapped, s) || !errors.Is(s, &cp) {
				t.Fatalf("a copy of %s does not match it", name)
			}
			if domain.ErrorCode(wrapped) != s.Code || domain.ErrorMessage(wrapped) != s.Message || domain.ErrorField(wrapped) != "offer_id" {
				t.Fatalf("wrapped copy: code %q message %q field %q", domain.ErrorCode(wrapped), domain.ErrorMessage(wrapped), domain.ErrorField(wrapped))
			}
			// Every rule can be told apart from every other with errors.Is,
			// even ErrOfferNotDelivered, which reads "offer not found" on
			// purpose so that a customer cannot learn the offer exists.
			for other, o := range all {
				if other != name && (errors.Is(s, o) || errors.Is(wrapped, o)) {
					t.Errorf("%s matches %s", name, other)
				}
			}
			if errors.Is(s, io.EOF) {
				t.Errorf("%s matches a non-domain error", name)
			}
		})
	}
	t.Run("SameCodeAndSentence", func(t *testing.T) {
		// An error made afresh with a rule's code and sentence is that rule.
		if !errors.Is(domain.Errorf(domain.ENOTFOUND, "offer not found"), domain.ErrOfferNotFound) {
			t.Fatalf("Errorf(not_found, offer not found) does not match ErrOfferNotFound")
		}
		if errors.Is(domain.Errorf(domain.ECONFLICT, "offer not found"), domain.ErrOfferNotFound) {
			t.Fatalf("another code matches")
		}
	})
	t.Run("NotDeliveredLooksNotFound", func(t *testing.T) {
		a, b := domain.ErrOfferNotDelivered, domain.ErrOfferNotFound
		if a.Code != b.Code || a.Message != b.Message || a.Error() != b.Error() {
			t.Fatalf("%q and %q differ to the customer", a, b)
		}
	})
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name          string
		err           error
		code, message string
		field         string
	}{
		{"Nil", nil, "", "internal error", ""},
		{"Internal", io.ErrUnexpectedEOF, domain.EINTERNAL, "internal error", ""},
		{"WrappedInternal", fmt.Errorf("load offer-o1: %w", io.ErrUnexpectedEOF), domain.EINTERNAL, "internal error", ""},
		{"Sentinel", domain.ErrOfferNotPending, domain.ECONFLICT, "offer is not waiting for confirmation", ""},
		{"Wrapped", fmt.Errorf("accept: %w", domain.ErrOfferNotPending), domain.ECONFLICT, "offer is not waiting for confirmation", ""},
		{"Invalid", domain.Invalid("seats", "seats must be at least %d", 1), domain.EINVALID, "seats must be at least 1", "seats"},
		{"Errorf", domain.Errorf(domain.EFORBIDDEN, "role %s may not", "customer"), domain.EFORBIDDEN, "role customer may not", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
			if got := domain.ErrorMessage(tc.err); got != tc.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.message)
			}
			if got := domain.ErrorField(tc.err); got != tc.field {
				t.Errorf("ErrorField = %q, want %q", got, tc.field)
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	if got, want := domain.Invalid("message", "too long").Error(), "validation_failed: too long (message)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := domain.ErrTemplateArchived.Error(), "invalid_transition: template is archived"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
