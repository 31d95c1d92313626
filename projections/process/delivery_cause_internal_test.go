package process

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeResolver is a DNS server on loopback UDP that answers every query
// with rcode (3: NXDOMAIN, 2: SERVFAIL), so that the resolver's real errors,
// which name the server's address, can be produced without a network.
func fakeResolver(t *testing.T, rcode byte) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The query back, as a response (QR, RD, RA) with rcode and
			// no answers.
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x81
			resp[3] = 0x80 | rcode
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// TestDeliveryCause checks the delivery_error of every kind of failed
// webhook call over real errors, made by real calls: it keeps the cause
// and drops what is internal (addresses, ports, the resolver, DNS names).
func TestDeliveryCause(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) }))
	t.Cleanup(slow.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(hangUp.Close)
	selfSigned := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(selfSigned.Close)
	wantsClientCert := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	wantsClientCert.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	wantsClientCert.StartTLS()
	t.Cleanup(wantsClientCert.Close)
	trusting := newDeliveryHTTPClient(true, 2*time.Second)
	trusting.Transport.(*http.Transport).TLSClientConfig = wantsClientCert.Client().Transport.(*http.Transport).TLSClientConfig
	notTLS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = notTLS.Close() })
	go func() {
		for {
			c, err := notTLS.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			_ = c.Close()
		}
	}()
	// A port nothing listens on any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/hook"
	_ = l.Close()

	withResolver := func(r *net.Resolver) *http.Client {
		c := newDeliveryHTTPClient(true, 2*time.Second)
		c.Transport.(*http.Transport).DialContext = (&net.Dialer{Resolver: r}).DialContext
		return c
	}
	nxdomain, servfail := fakeResolver(t, 3), fakeResolver(t, 2)

	for _, tc := range []struct {
		name, url string
		client    *http.Client
		want      string
	}{
		{"refused", closed, newDeliveryHTTPClient(true, 2*time.Second), "webhook request failed: connection refused"},
		{"timeout", slow.URL, newDeliveryHTTPClient(true, 50*time.Millisecond), "webhook request failed: timeout"},
		{"address policy", failing.URL, newDeliveryHTTPClient(false, 2*time.Second), "webhook request failed: address not allowed"},
		{"no such host", "https://hooks.customer.example/hook", withResolver(nxdomain), "webhook request failed: no such host"},
		{"resolver failure", "https://hooks.customer.example/hook", withResolver(servfail), "webhook request failed: DNS lookup failed"},
		{"hung up", hangUp.URL, newDeliveryHTTPClient(true, 2*time.Second), "webhook request failed: connection closed before an answer"},
		{"untrusted certificate", selfSigned.URL, newDeliveryHTTPClient(true, 2*time.Second), "webhook request failed: TLS certificate not accepted"},
		{"plain HTTP on https", strings.Replace(failing.URL, "http:", "https:", 1), newDeliveryHTTPClient(true, 2*time.Second), "webhook request failed: connection failed"}, // net/http's error has no type
		{"client certificate required", wantsClientCert.URL, trusting, "webhook request failed: TLS handshake failed"},
		{"not TLS", "https://" + notTLS.Addr().String() + "/hook", newDeliveryHTTPClient(true, 2*time.Second), "webhook request failed: TLS handshake failed"},
		{"HTTP 500", failing.URL, newDeliveryHTTPClient(true, 2*time.Second), "webhook answered HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := deliveryPost(context.Background(), tc.client, tc.url, "id", []byte("k"), []byte("{}"), time.Now(), 1024)
			if err == nil {
				t.Fatal("the call succeeded")
			}
			var we *deliveryWebhookError
			if !errors.As(err, &we) {
				t.Fatalf("err = %T %v, want a webhook error", err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("delivery_error = %q, want %q (from %v)", got, tc.want, we.cause)
			}
			u, _ := url.Parse(tc.url)
			for _, internal := range []string{"127.0.0.1", u.Port(), u.Hostname(), "dial", ":53"} {
				if internal != "" && strings.Contains(err.Error(), internal) {
					t.Errorf("delivery_error %q shows %q", err.Error(), internal)
				}
			}
			// The log keeps the whole story.
			if tc.name == "no such host" && !strings.Contains(we.cause.Error(), ":53: no such host") {
				t.Errorf("the logged cause %q lost the resolver's answer", we.cause)
			}
		})
	}
}
