package domain_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

func TestCustomer_Register(t *testing.T) {
	got, err := (&domain.Customer{}).Register("c1", reseller1, " Stadtwerke ", " KD-4711 ")
	wantErr(t, err, nil)
	want := []domain.Event{&domain.CustomerRegistered{CustomerID: "c1", ResellerID: reseller1, Name: "Stadtwerke", ExternalRef: "KD-4711"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	c := fold(&domain.Customer{}, got...)
	if !c.Exists() || c.ID() != "c1" || c.Reseller() != reseller1 || c.Name() != "Stadtwerke" || c.ExternalRef() != "KD-4711" {
		t.Fatalf("customer after register: %+v", c)
	}
	if url, _ := c.Webhook(); url != "" {
		t.Fatalf("a new customer has webhook %q", url)
	}

	t.Run("ErrCustomerExists", func(t *testing.T) {
		if _, err := c.Register("c2", reseller1, "x", ""); !errors.Is(err, domain.ErrCustomerExists) {
			t.Fatalf("error %v, want %v", err, domain.ErrCustomerExists)
		}
	})
	t.Run("NameRequired", func(t *testing.T) {
		_, err := (&domain.Customer{}).Register("c1", reseller1, " ", "")
		wantInvalid(t, err, "name")
	})
	t.Run("ExternalRefOfMaxLength", func(t *testing.T) {
		_, err := (&domain.Customer{}).Register("c1", reseller1, "x", strings.Repeat("ä", domain.MaxExternalRef))
		wantErr(t, err, nil)
	})
	t.Run("ExternalRefTooLong", func(t *testing.T) {
		_, err := (&domain.Customer{}).Register("c1", reseller1, "x", strings.Repeat("ä", domain.MaxExternalRef+1))
		wantInvalid(t, err, "external_ref")
	})
}

func TestCustomer_Webhook(t *testing.T) {
	const hook = "https://hooks.example.com/offerflow"
	c := MustCustomer(t, "c1", reseller1)

	t.Run("ErrWebhookNotSet", func(t *testing.T) {
		if _, err := c.RemoveWebhook(); !errors.Is(err, domain.ErrWebhookNotSet) {
			t.Fatalf("error %v, want %v", err, domain.ErrWebhookNotSet)
		}
	})
	t.Run("SecretRequired", func(t *testing.T) {
		_, err := c.SetWebhook(hook, "", false)
		wantInvalid(t, err, "secret")
	})
	t.Run("BadURL", func(t *testing.T) {
		_, err := c.SetWebhook("http://hooks.example.com/", "whsec_x", false)
		wantInvalid(t, err, "url")
	})

	got, err := c.SetWebhook(hook, "whsec_abc", false)
	wantErr(t, err, nil)
	if diff := cmp.Diff([]domain.Event{&domain.CustomerWebhookSet{CustomerID: "c1", URL: hook, Secret: "whsec_abc"}}, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	fold(c, got...)
	if url, secret := c.Webhook(); url != hook || secret != "whsec_abc" {
		t.Fatalf("webhook %q %q after set", url, secret)
	}

	got, err = c.RemoveWebhook()
	wantErr(t, err, nil)
	if diff := cmp.Diff([]domain.Event{&domain.CustomerWebhookRemoved{CustomerID: "c1"}}, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	fold(c, got...)
	if url, secret := c.Webhook(); url != "" || secret != "" {
		t.Fatalf("webhook %q %q after remove", url, secret)
	}

	t.Run("ErrCustomerNotFound", func(t *testing.T) {
		if _, err := (&domain.Customer{}).SetWebhook(hook, "s", false); !errors.Is(err, domain.ErrCustomerNotFound) {
			t.Fatalf("set: error %v, want %v", err, domain.ErrCustomerNotFound)
		}
		if _, err := (&domain.Customer{}).RemoveWebhook(); !errors.Is(err, domain.ErrCustomerNotFound) {
			t.Fatalf("remove: error %v, want %v", err, domain.ErrCustomerNotFound)
		}
	})
}

func TestCheckWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url              string
		secure, insecure bool // accepted without / with allowInsecure
	}{
		{"https://hooks.example.com/offerflow", true, true},
		{"https://hooks.example.com:8443/a?b=c", true, true},
		{"https://8.8.8.8/hook", true, true},
		{"https://[2001:4860:4860::8888]/hook", true, true},
		{"http://hooks.example.com/offerflow", false, true},
		{"HTTPS://hooks.example.com/", true, true}, // schemes are case-insensitive
		{"https://localhost/hook", false, true},
		{"https://LocalHost:9000/hook", false, true},
		{"https://localhost./hook", false, true},
		{"https://api.localhost/hook", false, true},
		{"http://localhost:9000/hook", false, true},
		{"https://127.0.0.1/hook", false, true},
		{"http://127.0.0.1:9000/hook", false, true},
		{"https://10.1.2.3/hook", false, true},
		{"https://172.16.0.1/hook", false, true},
		{"https://192.168.178.1/hook", false, true},
		{"https://169.254.169.254/latest/meta-data", false, true},
		{"https://100.64.0.1/hook", false, true},
		{"https://0.0.0.0/hook", false, true},
		{"https://224.0.0.1/hook", false, true},
		{"https://[::1]/hook", false, true},
		{"https://[::1]:8443/hook", false, true},
		{"https://[::ffff:127.0.0.1]/hook", false, true},
		{"https://[::ffff:10.0.0.1]/hook", false, true},
		{"https://[fe80::1]/hook", false, true},
		{"https://[fd00::1]/hook", false, true},
		{"https://[::]/hook", false, true},
		// inet_aton's other spellings of IPv4 addresses, which resolvers
		// accept: 127.0.0.1 and 10.0.0.1 in disguise.
		{"https://127.1/hook", false, true},
		{"https://2130706433/hook", false, true},
		{"https://0x7f000001/hook", false, true},
		{"https://0X7F.0.0.1/hook", false, true},
		{"https://0177.0.0.1/hook", false, true},
		{"https://10.1/hook", false, true},
		{"https://167772161./hook", false, true},
		{"https://1.2.3.4.5/hook", false, true},
		// Numbers in other labels are ordinary host names.
		{"https://127.0.0.1.example.com/hook", true, true},
		{"https://0x7f.example.com/hook", true, true},
		{"https://hooks.example.x0/hook", true, true},
		{"", false, false},
		{"hooks.example.com/offerflow", false, false},
		{"/offerflow", false, false},
		{"https://", false, false},
		{"https:///path", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"javascript:alert(1)", false, false},
		{"https://hooks.example.com/" + strings.Repeat("a", 2048), false, false},
		{"https://hooks.example.com/%zz", false, false},
	} {
		for _, insecure := range []bool{false, true} {
			want := tc.secure
			if insecure {
				want = tc.insecure
			}
			err := domain.CheckWebhookURL(tc.url, insecure)
			if want {
				if err != nil {
					t.Errorf("CheckWebhookURL(%.60q, %v) = %v, want accepted", tc.url, insecure, err)
				}
				continue
			}
			if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorField(err) != "url" {
				t.Errorf("CheckWebhookURL(%.60q, %v) = %v, want validation_failed on url", tc.url, insecure, err)
			}
		}
	}
}

func TestIsPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"1.1.1.1": true, "2606:4700::1111": true, "100.63.255.255": true, "100.128.0.0": true,
		"127.0.0.1": false, "10.0.0.1": false, "172.31.255.255": false, "192.168.0.1": false,
		"169.254.0.1": false, "100.64.0.0": false, "100.127.255.255": false, "0.0.0.0": false,
		"239.1.1.1": false, "::1": false, "::": false, "fe80::1": false, "fc00::1": false,
		"ff02::1": false, "::ffff:192.168.0.1": false, "::ffff:1.1.1.1": true,
	} {
		if got := domain.IsPublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
	if domain.IsPublicAddr(netip.Addr{}) {
		t.Errorf("the zero address is public")
	}
}
