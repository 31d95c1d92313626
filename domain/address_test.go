package domain_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// TestIsPublicAddr_SpecialPurpose is the webhook address policy over the
// IANA special-purpose registries: every address of defect 10 of issue 8
// (accepted when set, refused late or never), a few of each block, the
// IPv4 addresses carried in IPv6 ones, and public addresses that must stay
// allowed.
func TestIsPublicAddr_SpecialPurpose(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		// Defect 10, as reported.
		{"::127.0.0.1", false},    // IPv4-compatible loopback (deprecated form)
		{"0.0.0.1", false},        // "this network"
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"64:ff9b:1::1", false},   // local-use NAT64
		{"64:ff9b:1:ffff::1", false},
		{"fec0::1", false},    // site-local
		{"198.18.0.1", false}, // benchmarking
		{"198.19.255.255", false},
		{"240.0.0.1", false}, // reserved
		{"255.255.255.254", false},
		{"255.255.255.255", false}, // limited broadcast

		// The rest of IPv4.
		{"127.0.0.1", false}, {"127.255.255.254", false}, {"10.0.0.1", false}, {"172.16.0.1", false},
		{"172.31.255.255", false}, {"192.168.0.1", false}, {"169.254.169.254", false},
		{"100.64.0.0", false}, {"100.127.255.255", false}, {"0.0.0.0", false},
		{"192.0.0.1", false}, {"192.0.0.8", false}, {"192.0.0.170", false}, {"192.0.2.1", false},
		{"192.88.99.1", false}, {"198.51.100.7", false}, {"203.0.113.9", false},
		{"224.0.0.1", false}, {"239.255.255.250", false},
		{"1.1.1.1", true}, {"8.8.8.8", true}, {"93.184.215.14", true}, {"100.63.255.255", true},
		{"100.128.0.0", true}, {"172.32.0.1", true}, {"198.17.255.255", true}, {"198.20.0.0", true},
		{"223.255.255.255", true}, {"192.0.0.9", true}, {"192.0.0.10", true}, {"192.31.196.1", true},
		{"192.52.193.1", true}, {"192.175.48.1", true},

		// The rest of IPv6.
		{"::1", false}, {"::", false}, {"fe80::1", false}, {"fe80::1%eth0", false}, {"fc00::1", false},
		{"fd12:3456::1", false}, {"ff02::1", false}, {"ff0e::1", false}, {"100::1", false},
		{"100:0:0:1::1", false}, {"2001:2::1", false}, {"2001:db8::1", false}, {"3fff::1", false},
		{"2001:10::1", false}, {"5f00::1", false}, {"2001:4::1", false}, {"::8.8.8.8", false},
		{"4000::1", false}, {"1fff::1", false},
		{"2606:4700::1111", true}, {"2001:4860:4860::8888", true}, {"2a00:1450:4001:82b::200e", true},
		{"2001:1::1", true}, {"2001:3::1", true}, {"2001:4:112::1", true}, {"2001:20::1", true},
		{"2620:4f:8000::1", true},

		// IPv4 addresses carried in IPv6 ones.
		{"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"::ffff:0.0.0.1", false},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::10.0.0.1", false}, {"64:ff9b::198.18.0.1", false}, {"64:ff9b::93.184.215.14", true},
		{"2002:a00:1::1", false},                        // 6to4 of 10.0.0.1
		{"2002:c0a8:101::1", false},                     // 6to4 of 192.168.1.1
		{"2002:808:808::1", true},                       // 6to4 of 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false}, // Teredo, client 127.0.0.1
		{"2001:0:a00:1:8000:63bf:f7f7:f7f7", false},     // Teredo, server 10.0.0.1
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // RFC 4380's example: client 192.0.2.45, documentation
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true},  // server 65.54.227.120, client 8.8.8.8
	} {
		addr := netip.MustParseAddr(tc.addr)
		if got := domain.IsPublicAddr(addr); got != tc.public {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
	if domain.IsPublicAddr(netip.Addr{}) {
		t.Error("the zero address is public")
	}
}

// TestCheckWebhookURL_SpecialPurpose checks that setting a webhook at
// any of defect 10's addresses is refused at once (422 on url), naming the
// registry block, and that public addresses stay accepted.
func TestCheckWebhookURL_SpecialPurpose(t *testing.T) {
	for _, tc := range []struct {
		url   string
		ok    bool
		block string // a part of the refusal's text
	}{
		{"https://[::127.0.0.1]/hook", false, "outside Global Unicast"},
		{"https://0.0.0.1/hook", false, "This network"},
		{"https://[2002:7f00:1::1]/hook", false, "Loopback"},
		{"https://[64:ff9b:1::1]/hook", false, "local use"},
		{"https://[fec0::1]/hook", false, "Site-Local"},
		{"https://198.18.0.1/hook", false, "Benchmarking"},
		{"https://198.19.1.1:8443/hook", false, "Benchmarking"},
		{"https://240.0.0.1/hook", false, "Reserved"},
		{"https://255.255.255.255/hook", false, "Limited Broadcast"},
		{"https://[64:ff9b::a00:1]/hook", false, "Private-Use"},
		{"https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", false, "Loopback"},
		{"https://[fe80::1%25eth0]/hook", false, "Link-Local"},
		{"https://8.8.8.8/hook", true, ""},
		{"https://[2606:4700::1111]/hook", true, ""},
		{"https://[2002:808:808::1]/hook", true, ""},
		{"https://[64:ff9b::808:808]/hook", true, ""},
	} {
		err := domain.CheckWebhookURL(tc.url, false)
		if tc.ok {
			if err != nil {
				t.Errorf("CheckWebhookURL(%s) = %v, want accepted", tc.url, err)
			}
			continue
		}
		if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorField(err) != "url" || !strings.Contains(err.Error(), tc.block) {
			t.Errorf("CheckWebhookURL(%s) = %v, want validation_failed on url naming %q", tc.url, err, tc.block)
		}
		if err := domain.CheckWebhookURL(tc.url, true); err != nil {
			t.Errorf("CheckWebhookURL(%s, allowInsecure) = %v, want accepted", tc.url, err)
		}
	}
}
