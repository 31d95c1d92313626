package process

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Webhook headers of the Standard Webhooks convention.
const (
	WebhookIDHeader        = "webhook-id"
	WebhookTimestampHeader = "webhook-timestamp"
	WebhookSignatureHeader = "webhook-signature"
)

// WebhookEventType is the "type" of the notification sent to a customer's
// webhook when an offer arrives in its Updates inbox.
const WebhookEventType = "offer.received"

// ErrWebhookAddressPolicy is matched (errors.Is) by the error of a webhook
// call that was refused because the address it resolved to is not public
// (domain.IsPublicAddr: the IANA special-purpose registries).
var ErrWebhookAddressPolicy = errors.New("webhook address policy: not a public address")

// deliveryAddressError names the refused address, for the log; the
// delivery_error the reseller and the customer see does not (deliveryCause).
type deliveryAddressError struct{ addr string }

func (e *deliveryAddressError) Error() string {
	return fmt.Sprintf("webhook address policy: %s is not a public address", e.addr)
}

func (e *deliveryAddressError) Is(target error) bool { return target == ErrWebhookAddressPolicy }

// deliveryDialControl runs after DNS resolution, on the address actually
// dialed, so a name that resolves (or re-resolves, DNS rebinding) to an
// internal address is refused as surely as a literal one, by the same table
// that refused it when the webhook was set.
func deliveryDialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &deliveryAddressError{addr: address}
	}
	if addr, err := netip.ParseAddr(host); err != nil || !domain.IsPublicAddr(addr) {
		return &deliveryAddressError{addr: host}
	}
	return nil
}

// newDeliveryHTTPClient returns the client for webhook calls: no proxy (a
// proxy would hide the real destination from the address check), the address
// policy on every dial unless allowInsecure, no redirects, a total timeout.
func newDeliveryHTTPClient(allowInsecure bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowInsecure {
		dialer.Control = deliveryDialControl
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A redirect would let a public URL send us to an internal one and
		// is not an answer from the customer's system: 3xx counts as failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// webhookNotification is the JSON body of a webhook call, in the envelope
// Standard Webhooks recommends (type, timestamp, data): the data of an
// offer.received call (deliveryNotificationData) or of an offer.expiring
// one (expiringNotificationData).
type webhookNotification[D any] struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      D         `json:"data"`
}

type deliveryNotificationData struct {
	OfferID      domain.OfferID    `json:"offer_id"`
	CustomerID   domain.CustomerID `json:"customer_id"`
	ResellerID   domain.ResellerID `json:"reseller_id"`
	ResellerName string            `json:"reseller_name"`
	Dispatch     int               `json:"dispatch"`
	Items        []domain.Item     `json:"items"`
	Message      string            `json:"message"`
	ExpiresAt    *time.Time        `json:"expires_at"`
	CreatedAt    time.Time         `json:"created_at"`
}

// deliverySecretKey returns the HMAC key of a Standard Webhooks secret: the
// base64-decoded part after the "whsec_" prefix.
func deliverySecretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("webhook secret lacks the whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("webhook secret is not base64: %w", err)
	}
	return key, nil
}

// deliverySignature returns the webhook-signature header value for a message:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func deliverySignature(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// deliveryWebhookError is a failed webhook call: the customer's system did
// not answer 2xx, or could not be reached. Its text is recorded as the
// offer's delivery_error, so it carries no URL (which may hold credentials in
// its query) and nothing internal.
type deliveryWebhookError struct {
	status int // 0 for transport errors
	msg    string
	cause  error
}

func (e *deliveryWebhookError) Error() string { return e.msg }
func (e *deliveryWebhookError) Unwrap() error { return e.cause }

// outcome is the metrics label of the failure.
func (e *deliveryWebhookError) outcome() string {
	switch {
	case errors.Is(e.cause, ErrWebhookAddressPolicy):
		return "refused"
	case e.status != 0:
		return "http_error"
	}
	return "transport_error"
}

// deliveryPost sends one signed notification and reports whether the
// customer's system answered 2xx. A response body is read (at most maxBody
// bytes, so a hostile endpoint cannot make us buffer without end) only so
// the connection can be reused.
func deliveryPost(ctx context.Context, client *http.Client, rawURL, id string, key, body []byte, now time.Time, maxBody int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return &deliveryWebhookError{msg: "webhook URL is not usable", cause: err}
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "offerflow-webhook/1")
	req.Header.Set(WebhookIDHeader, id)
	req.Header.Set(WebhookTimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(WebhookSignatureHeader, deliverySignature(key, id, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return &deliveryWebhookError{msg: "webhook request failed: " + deliveryCause(err), cause: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return &deliveryWebhookError{status: resp.StatusCode,
			msg: fmt.Sprintf("webhook answered HTTP %d (redirects are not followed)", resp.StatusCode)}
	}
	return &deliveryWebhookError{status: resp.StatusCode, msg: fmt.Sprintf("webhook answered HTTP %d", resp.StatusCode)}
}
