package process

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDeliveryDialControl(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14:443", true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", true},
		{"127.0.0.1:443", false},
		{"[::1]:443", false},
		{"10.1.2.3:443", false},
		{"172.16.0.1:443", false},
		{"192.168.1.1:80", false},
		{"169.254.169.254:80", false}, // cloud metadata
		{"[fe80::1]:443", false},
		{"0.0.0.0:443", false},
		{"[::]:443", false},
		{"224.0.0.1:443", false},
		{"100.64.0.1:443", false},          // carrier-grade NAT
		{"[::ffff:127.0.0.1]:443", false},  // IPv4-mapped loopback
		{"[64:ff9b::a00:1]:443", false},    // NAT64 of 10.0.0.1
		{"[64:ff9b::5db8:d70e]:443", true}, // NAT64 of a public address
		{"[fd00::1]:443", false},           // unique local
		// Issue 8, defect 10: the IANA special-purpose blocks.
		{"0.0.0.1:443", false},
		{"[::127.0.0.1]:443", false},
		{"[2002:7f00:1::1]:443", false}, // 6to4 of 127.0.0.1
		{"[64:ff9b:1::a00:1]:443", false},
		{"[fec0::1]:443", false},
		{"198.18.0.1:443", false},
		{"240.0.0.1:443", false},
		{"255.255.255.255:443", false},
		{"[2001:0:4136:e378:8000:63bf:80ff:fffe]:443", false}, // Teredo, client 127.0.0.1
		{"[2002:5db8:d70e::1]:443", true},                     // 6to4 of a public address
		{"not-an-address", false},
	} {
		err := deliveryDialControl("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want allowed %v", tc.addr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrWebhookAddressPolicy) {
			t.Errorf("%s: err %v does not match ErrWebhookAddressPolicy", tc.addr, err)
		}
	}
}

// The example of the Standard Webhooks specification.
func TestDeliverySignature_StandardWebhooksExample(t *testing.T) {
	key, err := deliverySecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := deliverySignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"} {
		if _, err := deliverySecretKey(bad); err == nil {
			t.Errorf("secret %q accepted", bad)
		}
	}
}

func TestDeliveryPost_TimeoutAndBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
			return
		}
		// An endless answer: only the cap ends reading it.
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()

	slow := newDeliveryHTTPClient(true, 100*time.Millisecond)
	err := deliveryPost(context.Background(), slow, srv.URL+"/slow", "id", []byte("k"), []byte("{}"), time.Now(), 1024)
	var we *deliveryWebhookError
	if !errors.As(err, &we) || we.outcome() != "transport_error" || err.Error() != "webhook request failed: timeout" {
		t.Errorf("slow webhook: err = %v, want a transport timeout", err)
	}

	client := newDeliveryHTTPClient(true, 5*time.Second)
	start := time.Now()
	if err := deliveryPost(context.Background(), client, srv.URL, "id", []byte("k"), []byte("{}"), time.Now(), 1024); err != nil {
		t.Errorf("a 2xx with an endless body: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("an endless body kept the call for %v; the read is not capped", d)
	}
}
