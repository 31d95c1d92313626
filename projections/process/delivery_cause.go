package process

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// deliveryCause names why a webhook call failed in words that may be shown
// to the reseller and the customer as the offer's delivery_error: the
// cause, never the addresses, ports, resolver or DNS answers that the
// errors of net and net/http carry ("dial tcp 10.0.0.7:443: connect:
// connection refused", "lookup hooks.example.com on 10.0.0.53:53: no such
// host"). The whole error goes to the log.
func deliveryCause(err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		netErr  net.Error
		opErr   *net.OpError
	)
	switch {
	case errors.Is(err, ErrWebhookAddressPolicy):
		return "address not allowed"
	case errors.As(err, &dnsErr):
		switch {
		case dnsErr.IsNotFound:
			return "no such host"
		case dnsErr.IsTimeout:
			return "DNS lookup timed out"
		}
		return "DNS lookup failed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &certErr), errors.As(err, new(x509.UnknownAuthorityError)),
		errors.As(err, new(x509.HostnameError)), errors.As(err, new(x509.CertificateInvalidError)):
		return "TLS certificate not accepted"
	case errors.As(err, &opErr) && opErr.Op == "remote error", // an alert the server sent
		errors.As(err, new(tls.AlertError)), errors.As(err, new(tls.RecordHeaderError)):
		return "TLS handshake failed"
	}
	return "connection failed"
}
