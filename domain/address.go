package domain

import "net/netip"

// addressRange is a row of the address table: a prefix, whether a webhook
// may be called at the addresses in it, and where the row comes from.
type addressRange struct {
	prefix netip.Prefix
	public bool
	name   string // the registry's name of the block, and its RFC
	// embedded, when set, gives the IPv4 addresses an IPv6 address of the
	// block carries and reaches: the address is public only if they all are.
	embedded func(b [16]byte) []netip.Addr
}

// addressTable is THE table of the webhook address policy, used when a
// webhook is set (CheckWebhookURL) and on every address a webhook call
// dials: the IANA IPv4 and IPv6 Special-Purpose Address Registries (as of
// 2025), a block being public when the registry finds it "Globally
// Reachable". The most specific block holding an address decides. Four
// rows come from elsewhere, and say so: the IPv4 multicast block (not
// unicast, so never a webhook), the IPv6 Global Unicast block 2000::/3 and
// the IPv6 space around it (the IANA IPv6 Address Space registry: outside
// 2000::/3 lie only reserved, unique-local, link-local, the deprecated
// site-local and multicast addresses, and the deprecated IPv4-compatible
// ::a.b.c.d), and fec0::/10. Blocks the registries mark "N/A" are refused,
// except those that carry an IPv4 address (6to4, Teredo), which are as
// public as that address; so are the IPv4-mapped and NAT64 blocks.
//
// The table is data, never written after start-up.
var addressTable = []addressRange{
	// IPv4.
	{prefix: pfx("0.0.0.0/0"), public: true, name: "IPv4 unicast"},
	{prefix: pfx("0.0.0.0/8"), name: `"This network" (RFC 791)`},
	{prefix: pfx("0.0.0.0/32"), name: `"This host on this network" (RFC 1122)`},
	{prefix: pfx("10.0.0.0/8"), name: "Private-Use (RFC 1918)"},
	{prefix: pfx("100.64.0.0/10"), name: "Shared Address Space (RFC 6598)"},
	{prefix: pfx("127.0.0.0/8"), name: "Loopback (RFC 1122)"},
	{prefix: pfx("169.254.0.0/16"), name: "Link Local (RFC 3927)"},
	{prefix: pfx("172.16.0.0/12"), name: "Private-Use (RFC 1918)"},
	{prefix: pfx("192.0.0.0/24"), name: "IETF Protocol Assignments (RFC 6890)"},
	{prefix: pfx("192.0.0.0/29"), name: "IPv4 Service Continuity Prefix (RFC 7335)"},
	{prefix: pfx("192.0.0.8/32"), name: "IPv4 dummy address (RFC 7600)"},
	{prefix: pfx("192.0.0.9/32"), public: true, name: "Port Control Protocol Anycast (RFC 7723)"},
	{prefix: pfx("192.0.0.10/32"), public: true, name: "Traversal Using Relays around NAT Anycast (RFC 8155)"},
	{prefix: pfx("192.0.0.170/31"), name: "NAT64/DNS64 Discovery (RFC 7050)"},
	{prefix: pfx("192.0.2.0/24"), name: "Documentation (TEST-NET-1) (RFC 5737)"},
	{prefix: pfx("192.31.196.0/24"), public: true, name: "AS112-v4 (RFC 7535)"},
	{prefix: pfx("192.52.193.0/24"), public: true, name: "AMT (RFC 7450)"},
	{prefix: pfx("192.88.99.0/24"), name: "Deprecated (6to4 Relay Anycast) (RFC 7526)"},
	{prefix: pfx("192.168.0.0/16"), name: "Private-Use (RFC 1918)"},
	{prefix: pfx("192.175.48.0/24"), public: true, name: "Direct Delegation AS112 Service (RFC 7534)"},
	{prefix: pfx("198.18.0.0/15"), name: "Benchmarking (RFC 2544)"},
	{prefix: pfx("198.51.100.0/24"), name: "Documentation (TEST-NET-2) (RFC 5737)"},
	{prefix: pfx("203.0.113.0/24"), name: "Documentation (TEST-NET-3) (RFC 5737)"},
	{prefix: pfx("224.0.0.0/4"), name: "Multicast (RFC 5771; IANA Multicast registry)"},
	{prefix: pfx("240.0.0.0/4"), name: "Reserved (RFC 1112)"},
	{prefix: pfx("255.255.255.255/32"), name: "Limited Broadcast (RFC 8190)"},

	// IPv6.
	{prefix: pfx("::/0"), name: "outside Global Unicast (RFC 4291; IANA IPv6 Address Space registry)"},
	{prefix: pfx("2000::/3"), public: true, name: "Global Unicast (RFC 4291; IANA IPv6 Address Space registry)"},
	{prefix: pfx("::1/128"), name: "Loopback Address (RFC 4291)"},
	{prefix: pfx("::/128"), name: "Unspecified Address (RFC 4291)"},
	{prefix: pfx("::ffff:0:0/96"), name: "IPv4-mapped Address (RFC 4291)", embedded: lastFour},
	{prefix: pfx("64:ff9b::/96"), name: "IPv4-IPv6 Translat. (RFC 6052)", embedded: lastFour},
	{prefix: pfx("64:ff9b:1::/48"), name: "IPv4-IPv6 Translat., local use (RFC 8215)"},
	{prefix: pfx("100::/64"), name: "Discard-Only Address Block (RFC 6666)"},
	{prefix: pfx("100:0:0:1::/64"), name: "Dummy IPv6 Prefix (RFC 9780)"},
	{prefix: pfx("2001::/23"), name: "IETF Protocol Assignments (RFC 2928)"},
	{prefix: pfx("2001::/32"), name: "TEREDO (RFC 4380)", embedded: teredo},
	{prefix: pfx("2001:1::1/128"), public: true, name: "Port Control Protocol Anycast (RFC 7723)"},
	{prefix: pfx("2001:1::2/128"), public: true, name: "Traversal Using Relays around NAT Anycast (RFC 8155)"},
	{prefix: pfx("2001:1::3/128"), public: true, name: "DNS-SD Service Registration Protocol Anycast (RFC 9665)"},
	{prefix: pfx("2001:2::/48"), name: "Benchmarking (RFC 5180)"},
	{prefix: pfx("2001:3::/32"), public: true, name: "AMT (RFC 7450)"},
	{prefix: pfx("2001:4:112::/48"), public: true, name: "AS112-v6 (RFC 7535)"},
	{prefix: pfx("2001:10::/28"), name: "Deprecated (previously ORCHID) (RFC 4843)"},
	{prefix: pfx("2001:20::/28"), public: true, name: "ORCHIDv2 (RFC 7343)"},
	{prefix: pfx("2001:30::/28"), public: true, name: "Drone Remote ID Protocol Entity Tags (RFC 9374)"},
	{prefix: pfx("2001:db8::/32"), name: "Documentation (RFC 3849)"},
	{prefix: pfx("2002::/16"), name: "6to4 (RFC 3056)", embedded: sixToFour},
	{prefix: pfx("2620:4f:8000::/48"), public: true, name: "Direct Delegation AS112 Service (RFC 7534)"},
	{prefix: pfx("3fff::/20"), name: "Documentation (RFC 9637)"},
	{prefix: pfx("5f00::/16"), name: "Segment Routing (SRv6) SIDs (RFC 9602)"},
	{prefix: pfx("fc00::/7"), name: "Unique-Local (RFC 4193)"},
	{prefix: pfx("fe80::/10"), name: "Link-Local Unicast (RFC 4291)"},
	{prefix: pfx("fec0::/10"), name: "Site-Local, deprecated (RFC 3879; IANA IPv6 Address Space registry)"},
	{prefix: pfx("ff00::/8"), name: "Multicast (RFC 4291; IANA IPv6 Address Space registry)"},
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func v4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }

// lastFour is the IPv4 address in the last 32 bits (IPv4-mapped, NAT64).
func lastFour(b [16]byte) []netip.Addr { return []netip.Addr{v4(b[12:16])} }

// sixToFour is the IPv4 address of a 6to4 site, 2002:AABB:CCDD::/48.
func sixToFour(b [16]byte) []netip.Addr { return []netip.Addr{v4(b[2:6])} }

// teredo is a Teredo address's server (bits 32-63) and its client, whose
// address is stored inverted in the last 32 bits.
func teredo(b [16]byte) []netip.Addr {
	client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
	return []netip.Addr{v4(b[4:8]), netip.AddrFrom4(client)}
}

// IsPublicAddr reports whether a webhook may be called at addr: the
// address table finds its block public, and every IPv4 address it carries
// (IPv4-mapped, NAT64, 6to4, Teredo) is public too. A zone is ignored.
func IsPublicAddr(addr netip.Addr) bool {
	_, ok := addrPolicy(addr)
	return ok
}

// addrPolicy returns the block that decides about addr (for a refused
// IPv6 address that carries a refused IPv4 address, the IPv4 address's)
// and whether a webhook may be called at addr.
func addrPolicy(addr netip.Addr) (addressRange, bool) {
	if !addr.IsValid() {
		return addressRange{name: "not an address"}, false
	}
	addr = addr.WithZone("")
	var best addressRange
	for _, r := range addressTable {
		if r.prefix.Contains(addr) && r.prefix.Bits() >= best.prefix.Bits() {
			best = r
		}
	}
	if best.embedded == nil {
		return best, best.public
	}
	for _, inner := range best.embedded(addr.As16()) {
		if r, ok := addrPolicy(inner); !ok {
			return r, false
		}
	}
	return best, true
}
