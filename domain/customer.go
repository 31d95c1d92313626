package domain

import (
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// CustomerRegistered records a customer instance (tenant) of a reseller.
type CustomerRegistered struct {
	CustomerID  CustomerID `json:"customer_id"`
	ResellerID  ResellerID `json:"reseller_id"`
	Name        string     `json:"name"`
	ExternalRef string     `json:"external_ref,omitempty"`
}

func (CustomerRegistered) EventType() string { return TypeCustomerRegistered }

// CustomerWebhookSet records where the customer's own system wants new offers
// delivered, and the secret that signs the notifications.
type CustomerWebhookSet struct {
	CustomerID CustomerID `json:"customer_id"`
	URL        string     `json:"url"`
	Secret     string     `json:"secret"`
}

func (CustomerWebhookSet) EventType() string { return TypeCustomerWebhookSet }

// CustomerWebhookRemoved records that the customer no longer wants webhook
// notifications.
type CustomerWebhookRemoved struct {
	CustomerID CustomerID `json:"customer_id"`
}

func (CustomerWebhookRemoved) EventType() string { return TypeCustomerWebhookRemoved }

// CustomerErased records that the texts people wrote about or for the
// customer (its name and external reference, its offers' messages, its
// rejection reasons) were erased: the key they are sealed with in the log is
// destroyed, so they read as null from then on. The events stay.
type CustomerErased struct {
	CustomerID CustomerID `json:"customer_id"`
	At         time.Time  `json:"at"`
}

func (CustomerErased) EventType() string { return TypeCustomerErased }

// Customer is a customer instance (tenant) served by a reseller.
type Customer struct {
	id          CustomerID
	reseller    ResellerID
	name        string
	externalRef string
	webhookURL  string
	secret      string
	erasedAt    *time.Time
}

// ErasedAt returns when the customer's texts were erased; nil while they
// were not.
func (c *Customer) ErasedAt() *time.Time { return cloneTime(c.erasedAt) }

// Erase records the erasure of the customer's texts at now. Erasing again
// records nothing: the first erasure stands (ErasedAt tells when).
func (c *Customer) Erase(now time.Time) ([]Event, error) {
	if !c.Exists() {
		return nil, ErrCustomerNotFound
	}
	if c.erasedAt != nil {
		return nil, nil
	}
	return []Event{&CustomerErased{CustomerID: c.id, At: now.UTC()}}, nil
}

// ID returns the customer's id, empty until it is registered.
func (c *Customer) ID() CustomerID { return c.id }

// Reseller returns the reseller that serves the customer.
func (c *Customer) Reseller() ResellerID { return c.reseller }

// Name returns the customer's name.
func (c *Customer) Name() string { return c.name }

// ExternalRef returns the reseller's own reference for the customer.
func (c *Customer) ExternalRef() string { return c.externalRef }

// Webhook returns the customer's webhook URL and secret; url is empty when
// none is set.
func (c *Customer) Webhook() (url, secret string) { return c.webhookURL, c.secret }

// Exists reports whether the customer has been registered.
func (c *Customer) Exists() bool { return c.id != "" }

// Register records a new customer of reseller.
func (c *Customer) Register(id CustomerID, reseller ResellerID, name, externalRef string) ([]Event, error) {
	if c.Exists() {
		return nil, ErrCustomerExists
	}
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	externalRef = strings.TrimSpace(externalRef)
	if err := CheckText("external_ref", externalRef, SingleLine, MaxExternalRef); err != nil {
		return nil, err
	}
	return []Event{&CustomerRegistered{CustomerID: id, ResellerID: reseller, Name: name, ExternalRef: externalRef}}, nil
}

// SetWebhook records the customer's webhook. Unless allowInsecure, only https
// URLs are accepted, and a host given as an address that the address table
// (IsPublicAddr) does not find public is refused (names are checked against
// the same table after DNS resolution when the notification is sent).
func (c *Customer) SetWebhook(rawURL, secret string, allowInsecure bool) ([]Event, error) {
	if !c.Exists() {
		return nil, ErrCustomerNotFound
	}
	if err := CheckWebhookURL(rawURL, allowInsecure); err != nil {
		return nil, err
	}
	if secret == "" {
		return nil, Invalid("secret", "secret is required")
	}
	return []Event{&CustomerWebhookSet{CustomerID: c.id, URL: rawURL, Secret: secret}}, nil
}

// RemoveWebhook records that the customer's webhook is removed.
func (c *Customer) RemoveWebhook() ([]Event, error) {
	if !c.Exists() {
		return nil, ErrCustomerNotFound
	}
	if c.webhookURL == "" {
		return nil, ErrWebhookNotSet
	}
	return []Event{&CustomerWebhookRemoved{CustomerID: c.id}}, nil
}

// CheckWebhookURL validates a webhook URL as SetWebhook does.
func CheckWebhookURL(rawURL string, allowInsecure bool) error {
	if rawURL == "" {
		return Invalid("url", "url is required")
	}
	if len(rawURL) > 2048 {
		return Invalid("url", "url must be at most 2048 bytes")
	}
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" {
		return Invalid("url", "url must be an absolute URL without credentials or fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	default:
		return Invalid("url", "url must use https")
	}
	if allowInsecure {
		return nil
	}
	// A trailing dot names the same host fully qualified: "localhost." is
	// still loopback.
	host := strings.TrimSuffix(u.Hostname(), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return Invalid("url", "url must name a public address")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if r, ok := addrPolicy(addr); !ok {
			return Invalid("url", "url must name a public address, not one of %s", r.name)
		}
	}
	if _, err := netip.ParseAddr(host); err != nil && numericHost(host) {
		// Resolvers read "127.1", "2130706433", "0x7f000001" or
		// "0177.0.0.1" as IPv4 addresses (inet_aton's forms), which
		// ParseAddr refuses: refuse them too, or they would name loopback
		// and private addresses unseen.
		return Invalid("url", "url must write an IP address as four decimal numbers")
	}
	return nil
}

// numericHost reports whether host's last label is a number (decimal,
// or hexadecimal after 0x). No top-level domain is numeric, so such a host
// is an IP address, however it is written.
func numericHost(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		last = l[2:]
		return strings.Trim(last, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// Apply folds an event into the customer.
func (c *Customer) Apply(e Event) {
	switch ev := e.(type) {
	case *CustomerRegistered:
		c.id, c.reseller, c.name, c.externalRef = ev.CustomerID, ev.ResellerID, ev.Name, ev.ExternalRef
	case *CustomerWebhookSet:
		c.webhookURL, c.secret = ev.URL, ev.Secret
	case *CustomerWebhookRemoved:
		c.webhookURL, c.secret = "", ""
	case *CustomerErased:
		c.name, c.externalRef, c.erasedAt = "", "", timePtr(ev.At)
	}
}
