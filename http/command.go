package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// Commands is the write side as the API uses it; *command.Service satisfies
// it. Every method checks that the actor's tenant owns what it names
// (another tenant's resource is not_found) and returns domain errors with the
// codes validation_failed, not_found, version_conflict and
// invalid_transition (a refusal and a stale If-Match joined, see
// command.Execute); anything else is internal.
type Commands interface {
	RegisterReseller(ctx context.Context, m command.Meta, name string) (*domain.Reseller, command.Result, error)
	IssueToken(ctx context.Context, m command.Meta, spec domain.TokenSpec) (command.Result, error)
	// DeriveToken issues a token derived from the one recorded under
	// parent (a web UI session): unauthenticated when the parent no longer
	// authenticates. It returns the new token's actor.
	DeriveToken(ctx context.Context, m command.Meta, parent string, spec domain.TokenSpec) (domain.Actor, command.Result, error)
	// RevokeToken revokes the token issued under hash: not_found when none
	// was, invalid_transition when it was already revoked.
	RevokeToken(ctx context.Context, m command.Meta, hash string) (command.Result, error)

	AddProduct(ctx context.Context, m command.Meta, name string, kind domain.ProductKind, terms []int) (*domain.Product, command.Result, error)

	CreateTemplate(ctx context.Context, m command.Meta, name string) (*domain.Template, command.Result, error)
	Template(ctx context.Context, m command.Meta, id domain.TemplateID) (*domain.Template, uint64, error)
	AddTemplateItem(ctx context.Context, m command.Meta, id domain.TemplateID, product domain.ProductID, termMonths int, mode domain.LicenseMode, seats *int) (*domain.Template, domain.ItemID, command.Result, error)
	SetTemplateItemMode(ctx context.Context, m command.Meta, id domain.TemplateID, item domain.ItemID, mode domain.LicenseMode) (*domain.Template, command.Result, error)
	RemoveTemplateItem(ctx context.Context, m command.Meta, id domain.TemplateID, item domain.ItemID) (*domain.Template, command.Result, error)
	ArchiveTemplate(ctx context.Context, m command.Meta, id domain.TemplateID) (*domain.Template, command.Result, error)

	RegisterCustomer(ctx context.Context, m command.Meta, name, externalRef string) (*domain.Customer, command.Result, error)
	Customer(ctx context.Context, id domain.CustomerID) (*domain.Customer, uint64, error)
	SetWebhook(ctx context.Context, m command.Meta, url string, allowInsecure bool) (*domain.Customer, command.Result, error)
	RemoveWebhook(ctx context.Context, m command.Meta) (*domain.Customer, command.Result, error)
	// EraseCustomer destroys the key of a customer's texts and records
	// customer.erased; it answers the time of the first erasure.
	EraseCustomer(ctx context.Context, m command.Meta, id domain.CustomerID) (time.Time, command.Result, error)

	CreateOffer(ctx context.Context, m command.Meta, customer domain.CustomerID, template domain.TemplateID, message string, expiresAt *time.Time) (*domain.Offer, command.Result, error)
	Offer(ctx context.Context, actor domain.Actor, id domain.OfferID, asOfVersion uint64, asOf time.Time) (*domain.Offer, uint64, error)
	WithdrawOffer(ctx context.Context, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)
	RedeliverOffer(ctx context.Context, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)
	// ReviseOffer replaces an undecided offer with a new one and returns
	// the new one: not_found for an offer the actor may not see,
	// validation_failed for a bad revision, invalid_transition for an
	// offer decided, superseded or past its expiry.
	ReviseOffer(ctx context.Context, m command.Meta, id domain.OfferID, r command.Revision) (*domain.Offer, command.Result, error)
	ReadOffer(ctx context.Context, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)
	AcceptOffer(ctx context.Context, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)
	RejectOffer(ctx context.Context, m command.Meta, id domain.OfferID, reason string) (*domain.Offer, command.Result, error)

	CampaignCommands
}

// meta builds the command metadata of a request: the caller, the request id
// as correlation id, the Idempotency-Key as seed of deterministic event ids,
// and If-Match as the expected version.
func meta(r *http.Request) command.Meta {
	id := identity(r)
	m := command.Meta{Actor: id, CorrelationID: requestID(r.Context()), IfMatch: ifMatch(r)}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		sum := sha256.Sum256([]byte(string(id.Role) + "\x00" + id.Tenant + "\x00" + r.Method + "\x00" + r.URL.Path + "\x00" + key))
		m.IdempotencySeed = hex.EncodeToString(sum[:])
	}
	return m
}

// createMeta is meta for a command that creates a new resource: If-Match
// names a version of an existing resource, which a new one does not have,
// so it is ignored.
func createMeta(r *http.Request) command.Meta {
	m := meta(r)
	m.IfMatch = nil
	return m
}

// ifMatch parses If-Match: `"7"`, `W/"7"` or `7`. "*" matches any version,
// as HTTP has it. A value that is no version can match none, so it becomes
// one no stream reaches and the command answers 412 in its turn (after 404
// and 422).
func ifMatch(r *http.Request) *uint64 {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil
	}
	first, _, _ := strings.Cut(h, ",")
	first = strings.Trim(strings.TrimPrefix(strings.TrimSpace(first), "W/"), `"`)
	v, err := strconv.ParseUint(first, 10, 64)
	if err != nil {
		v = math.MaxUint64
	}
	return &v
}

// setCommandHeaders sets the headers of a successful command: the version
// as ETag (when the command's resource has one) and the log position.
func setCommandHeaders(w http.ResponseWriter, res command.Result, withETag bool) {
	if withETag {
		setETag(w, res.Version)
	}
	w.Header().Set("X-Log-Position", strconv.FormatUint(res.Position, 10))
}

func setETag(w http.ResponseWriter, version uint64) {
	w.Header().Set("ETag", `"`+strconv.FormatUint(version, 10)+`"`)
}
