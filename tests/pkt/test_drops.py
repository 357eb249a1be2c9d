# SPDX-License-Identifier: BSD-3-Clause
"""Every drop has its reason counter (ARCHITECTURE.md invariant 6), and
malformed input never hurts lbd (invariant 4). Mirrors test_drops and
test_counters_add_up in tests/unit/test_dp.c.

Each kind of frame runs through its own lbd (pcap: byte-exact input, no
kernel in between), three copies of it: exactly that reason moves, by three,
nothing else moves and nothing but the startup ARP announcements leaves."""

import random
import struct

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from scapy.layers.inet import ICMP, IP, TCP, UDP   # noqa: E402
from scapy.layers.inet6 import IPv6                # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether      # noqa: E402
from scapy.packet import Raw                       # noqa: E402

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

EXT_MAC, INT_MAC = F.PCAP_MACS
C = "203.0.113.7"
NODE = F.NODES[0]
NODE_MAC = F.NEIGH_MACS[NODE]
COPIES = 3


def ext_ip(payload=None, dst=F.VIP, **ip):
    """Client -> dst IPv4 frame on the external port (payload: scapy layers)."""
    p = Ether(src=F.CLIENT_MAC, dst=EXT_MAC) / IP(src=C, dst=dst, **ip)
    return bytes(p / payload if payload is not None else p)


def int_ip(payload, dst, **ip):
    return bytes(Ether(src=NODE_MAC, dst=INT_MAC) / IP(src=NODE, dst=dst, **ip) / payload)


def syn(dst=F.VIP, dport=80, **kw):
    return F.tcp(C, 1000, dst, dport, "S", dmac=EXT_MAC, **kw)


def patch(frame, off, data):
    b = bytearray(frame)
    b[off:off + len(data)] = data
    return bytes(b)


def fix_ip_csum(frame, off=14):
    ihl = (frame[off] & 15) * 4
    b = bytearray(frame)
    b[off + 10:off + 12] = b"\0\0"
    b[off + 10:off + 12] = struct.pack("!H", F.inet_csum(bytes(b[off:off + ihl])))
    return bytes(b)


def icmp_err_with_quote(quote):
    return ext_ip(ICMP(type=3, code=4, nexthopmtu=1400) / Raw(quote))


MACS = bytes.fromhex(EXT_MAC.replace(":", "")) + bytes.fromhex(F.CLIENT_MAC.replace(":", ""))
QUOTE = bytes(IP(src=F.VIP, dst=C) / TCP(sport=80, dport=1000))[:28]

# name: (reason, port, frame)
KINDS = {
    "non_vip_destination": ("not_local", "ext", syn(dst="192.0.2.99")),
    "target_address_from_outside": ("not_local", "ext", syn(dst=NODE)),
    "vip_on_internal_port": ("not_local", "int", int_ip(TCP(dport=80), F.VIP)),
    "reply_without_flow": ("not_local", "int", int_ip(TCP(sport=8080, dport=1000, flags="A"), C)),
    "wrong_port_on_vip": ("no_frontend", "ext", syn(dport=81)),
    "udp_port_without_frontend": ("no_frontend", "ext", F.udp(C, 1000, F.VIP, 54, b"q",
                                                              dmac=EXT_MAC)),
    "acl_denied_source": ("acl_denied", "ext", F.tcp("198.18.0.1", 1000, F.VIP_ACL, 80, "S",
                                                     dmac=EXT_MAC)),
    "ttl_1": ("ttl_expired", "ext", syn(ttl=1)),
    "ttl_0": ("ttl_expired", "ext", syn(ttl=0)),
    "runt_l2": ("malformed_l2", "ext", MACS[:10]),
    "empty_frame": ("malformed_l2", "ext", b""),
    "truncated_vlan_tag": ("malformed_l2", "ext", MACS + b"\x81\x00\x00"),
    "stacked_vlan_tags": ("malformed_l2", "ext", bytes(
        Ether(src=F.CLIENT_MAC, dst=EXT_MAC) / Dot1Q(vlan=0) / Dot1Q(vlan=5) / IP(dst=F.VIP))),
    "ipv4_ihl_4": ("malformed_ip", "ext", patch(syn(), 14, b"\x44")),
    "ipv4_version_6": ("malformed_ip", "ext", patch(syn(), 14, b"\x65")),
    "ipv4_total_length_past_frame": ("malformed_ip", "ext", patch(syn(), 16, b"\x05\xdc")),
    "ipv4_total_length_below_header": ("malformed_ip", "ext", patch(syn(), 16, b"\x00\x13")),
    "ipv4_header_truncated": ("malformed_ip", "ext", syn()[:14 + 19]),
    "bad_ip_checksum": ("bad_ip_checksum", "ext", patch(syn(), 24, b"\xde\xad")),
    "truncated_tcp_header": ("malformed_l4", "ext", ext_ip(Raw(b"\0\x50" * 5), proto=6)),
    "tcp_data_offset_4": ("malformed_l4", "ext", ext_ip(TCP(dport=80, dataofs=4))),
    "tcp_data_offset_past_end": ("malformed_l4", "ext", ext_ip(TCP(dport=80, dataofs=8))),
    "udp_length_past_packet": ("malformed_l4", "ext", ext_ip(UDP(dport=5000, len=40) / Raw(b"q"))),
    "udp_length_below_8": ("malformed_l4", "ext", ext_ip(UDP(dport=5000, len=7) / Raw(b"q"))),
    "truncated_udp_header": ("malformed_l4", "ext", ext_ip(Raw(b"\0\x35\x13\x88"), proto=17)),
    "truncated_icmp_header": ("malformed_l4", "ext", ext_ip(Raw(b"\x08\0\0\0"), proto=1)),
    "icmp_error_inner_truncated": ("malformed_icmp_inner", "ext", icmp_err_with_quote(QUOTE[:26])),
    "icmp_error_inner_not_ipv4": ("malformed_icmp_inner", "ext",
                                  icmp_err_with_quote(b"\x65" + QUOTE[1:])),
    "icmp_error_inner_options_cut": ("malformed_icmp_inner", "ext",
                                     icmp_err_with_quote(b"\x46" + QUOTE[1:])),
    "ip_fragment_first": ("ip_fragment", "ext", ext_ip(TCP(dport=80) / Raw(b"a" * 16), flags="MF")),
    "ip_fragment_later": ("ip_fragment", "ext", ext_ip(Raw(b"a" * 16), proto=6, frag=3)),
    "wrong_vlan": ("vlan_mismatch", "ext", F.tcp(C, 1000, F.VIP, 80, "S", dmac=EXT_MAC, vlan=7)),
    "vlan_0_on_untagged_port": ("vlan_mismatch", "ext",
                                F.tcp(C, 1000, F.VIP, 80, "S", dmac=EXT_MAC, vlan=0)),
    "unicast_to_other_mac": ("not_our_mac", "ext", F.tcp(C, 1000, F.VIP, 80, "S",
                                                         dmac=F.OTHER_MAC)),
    "tcp_to_external_address": ("local_unsupported", "ext", syn(dst=F.EXT_ADDR)),
    "udp_to_internal_address": ("local_unsupported", "int", int_ip(UDP(dport=53), F.INT_ADDR)),
    "gre_to_snat_address": ("local_unsupported", "int", int_ip(Raw(b"\0" * 8), F.SNAT_ADDRS[0],
                                                               proto=47)),
    "frontend_without_targets": ("no_target", "ext", syn(dst=F.VIP_EMPTY)),
    "ipv6": ("unsupported_ethertype", "ext", bytes(
        Ether(src=F.CLIENT_MAC, dst=EXT_MAC) / IPv6(dst="2001:db8::10") / TCP(dport=80))),
    "qinq_outer_tag": ("unsupported_ethertype", "ext", MACS + b"\x88\xa8\x00\x05\x08\x00" +
                       bytes(IP(dst=F.VIP) / TCP(dport=80))),
    "gre_to_vip": ("unsupported_l4", "ext", ext_ip(Raw(b"\0" * 8), proto=47)),
    "ack_without_flow": ("no_flow", "ext", F.tcp(C, 1000, F.VIP, 80, "A", dmac=EXT_MAC)),
    "rst_without_flow_dnat": ("no_flow", "ext", F.tcp(C, 1000, F.VIP_POD, 8080, "R",
                                                      dmac=EXT_MAC)),
    "snat_port_without_flow": ("no_flow", "int", int_ip(TCP(sport=30080, dport=20001, flags="SA"),
                                                        F.SNAT_ADDRS[0])),
    "snat_address_port_outside_range": ("no_flow", "int",
                                        int_ip(TCP(sport=30080, dport=19999), F.SNAT_ADDRS[1])),
    "icmp_timestamp_to_vip": ("icmp_unsupported", "ext", ext_ip(ICMP(type=13))),
    "icmp_error_about_nothing": ("icmp_error_no_flow", "ext", icmp_err_with_quote(QUOTE)),
    "arp_hardware_length_8": ("malformed_arp", "ext", bytes(
        Ether(src=F.CLIENT_MAC, dst=F.BCAST) / ARP(hwlen=8, hwsrc=F.CLIENT_MAC + ":00:00",
                                                   hwdst="00:00:00:00:00:00:00:00",
                                                   psrc=C, pdst=F.VIP))),
    "arp_truncated": ("malformed_arp", "ext", F.arp_request(F.CLIENT_MAC, C, F.VIP, pad=False)[:40]),
    "arp_for_stranger": ("arp_ignored", "ext", F.arp_request(F.CLIENT_MAC, C, "192.0.2.99")),
}


def test_kinds_reach_intended_check():
    """The frames above are malformed only where intended: the IPv4 header
    checksum is right wherever the parser gets as far as checking it."""
    for name, (reason, _, fr) in KINDS.items():
        if reason in ("malformed_l2", "malformed_ip", "bad_ip_checksum", "unsupported_ethertype",
                      "malformed_arp", "arp_ignored") or len(fr) < 34:
            continue
        off = F.l3_offset(fr)
        ihl = (fr[off] & 15) * 4
        assert F.inet_sum(fr[off:off + ihl]) == 0xffff, name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_drop_reason(pcap_lbd, kind):
    reason, port, frame = KINDS[kind]
    lb = pcap_lbd()
    st = lb.feed(**{"ext" if port == "ext" else "int_": [frame] * COPIES})
    lb.finish()
    t = st["total"]
    assert H.drops_of(t) == {reason: COPIES}, "frame %s: %s" % (F.describe(frame), H.brief(st))
    assert (t["tx"], t["to_control"], t["flows_created"]) == (0, 0, 0)
    assert lb.frames("ext") == [] and lb.frames("int") == []


def test_acl_allows_listed_sources(pcap_lbd):
    """The same frontend forwards a source inside its ranges."""
    lb = pcap_lbd()
    ok = F.tcp("203.0.113.200", 1000, F.VIP_ACL, 80, "S", dmac=EXT_MAC)
    denied = F.tcp("203.0.114.1", 1000, F.VIP_ACL, 80, "S", dmac=EXT_MAC)
    st = lb.feed(ext=[ok, denied, ok])
    assert lb.lbd.trace("203.0.114.1", 1000, F.VIP_ACL, 80)["allowed"] is False
    assert lb.lbd.trace("203.0.113.200", 1000, F.VIP_ACL, 80)["allowed"] is True
    lb.finish()
    assert H.drops_of(st["total"]) == {"acl_denied": 1}
    out = lb.frames("int")
    assert len(out) == 2 and {F.Parsed(o).dst for o in out} == {F.NODES[0]}


def mutate(rng, frame):
    """One random mutation of a valid frame."""
    b = bytearray(frame)
    k = rng.randrange(6)
    if k == 0 and b:                      # flip a few bytes
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif k == 1:                          # cut
        del b[rng.randrange(len(b) + 1):]
    elif k == 2:                          # grow
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif k == 3 and len(b) > 34:          # a header field of IPv4/L4 set at random
        off = rng.choice([14, 15, 16, 17, 20, 21, 22, 23, 34, 35, 36, 37, 38, 39, 46, 47, 42, 43])
        if off < len(b):
            b[off] = rng.randrange(256)
        b[:] = fix_ip_csum(bytes(b)) if b[12:14] == b"\x08\x00" and len(b) >= 34 and \
            (b[14] & 15) == 5 else b
    elif k == 4 and len(b) > 34:          # a random valid-looking IPv4 total length
        b[16:18] = struct.pack("!H", rng.randrange(0, 2 * len(b)))
        b[:] = fix_ip_csum(bytes(b)) if (b[14] & 15) == 5 else b
    else:                                 # swap the ether type
        b[12:14] = rng.choice([b"\x08\x00", b"\x08\x06", b"\x81\x00", b"\x88\xa8", b"\x86\xdd"])
    return bytes(b)


@pytest.mark.parametrize("workers", [1, 2])
def test_garbage_burst(pcap_lbd, workers):
    """Thousands of random and mutated frames on both ports (fixed seed): lbd
    stays up, counts every frame, the counters add up, whatever it sends has a
    valid IPv4 header, and it exits cleanly (no sanitizer report)."""
    rng = random.Random(0x6c6264)
    ext_t = [syn(), F.tcp(C, 1001, F.VIP, 80, "PA", payload=b"data", dmac=EXT_MAC),
             F.udp(C, 1002, F.VIP, 53, b"dns", dmac=EXT_MAC),
             F.udp(C, 1003, F.VIP, 5000, b"app", dmac=EXT_MAC),
             F.tcp(C, 1004, F.VIP_POD, 8080, "A", dmac=EXT_MAC),
             F.echo(C, F.VIP, dmac=EXT_MAC), icmp_err_with_quote(QUOTE),
             F.arp_request(F.CLIENT_MAC, C, F.VIP),
             F.tcp(C, 1005, F.VIP, 80, "S", dmac=EXT_MAC, vlan=0)]
    int_t = [int_ip(TCP(sport=30080, dport=20000, flags="SA"), F.SNAT_ADDRS[0]),
             int_ip(TCP(sport=8080, dport=1004, flags="A"), C),
             int_ip(ICMP(type=3, code=4) / Raw(bytes(IP(src=F.SNAT_ADDRS[0], dst=NODE) /
                                                     TCP(sport=20000, dport=30080))[:28]),
                    F.SNAT_ADDRS[0]),
             F.arp_request(NODE_MAC, NODE, F.INT_ADDR),
             F.arp_reply(NODE_MAC, NODE, INT_MAC, F.INT_ADDR, INT_MAC),
             int_ip(ICMP(type=8) / Raw(b"ping"), F.SNAT_ADDRS[1])]

    def batch(templates, n):
        out = []
        for i in range(n):
            r = rng.random()
            if r < 0.2:
                size = rng.choice([0, 1, 13, 14, 17, 18, 33, 34, 60, 64, 128, 1514,
                                   rng.randrange(0, 1600)])
                fr = bytes(rng.randrange(256) for _ in range(size))
                if size >= 12 and rng.random() < 0.5:
                    fr = (MACS if templates is ext_t else
                          bytes.fromhex(INT_MAC.replace(":", "")) * 2) + fr[12:]
            elif r < 0.95:
                fr = mutate(rng, rng.choice(templates))
                if rng.random() < 0.3:
                    fr = mutate(rng, fr)
            else:
                fr = rng.choice(templates)
            out.append(fr)
        return out

    ext_in, int_in = batch(ext_t, 2500), batch(int_t, 1500)
    # a few frames larger than one mbuf: they arrive in several segments
    ext_in += [syn()[:14] + bytes(3000)] * 2
    lb = pcap_lbd(workers=workers)
    st = lb.feed(ext=ext_in, int_=int_in, timeout=60)
    assert not H.balance_problems(st)
    assert st["total"]["rx"] == len(ext_in) + len(int_in)
    assert st["total"]["drops"]["malformed_l2"] >= 2
    assert lb.lbd.json("status")["workers"] == workers
    lb.finish()
    for port in ("ext", "int"):
        for fr in lb.frames(port):
            if F.Parsed(fr).ethertype == 0x0800:
                off = F.l3_offset(fr)
                ihl = (fr[off] & 15) * 4
                assert F.inet_sum(fr[off:off + ihl]) == 0xffff, F.describe(fr)


def test_snat_exhausted(pcap_lbd):
    """With one SNAT address and four ports, a target takes four FullNAT
    connections at once; the fifth and sixth are dropped (snat_exhausted).
    Other targets have their own four."""
    def hook(conf):
        conf["workers"]["snat_addresses"] = [F.SNAT_ADDRS[0]]
        conf["workers"]["snat_ports"] = [20000, 20003]
        conf["frontends"] += [
            {"name": "one", "vip": "192.0.2.60", "protocol": "tcp", "port": 80,
             "targets": [{"address": NODE, "port": 30080}]},
            {"name": "two", "vip": "192.0.2.61", "protocol": "tcp", "port": 80,
             "targets": [{"address": F.NODES[1], "port": 30080}]}]
    lb = pcap_lbd(conf_hook=hook)
    one = [F.tcp("203.0.113.%d" % i, 1000, "192.0.2.60", 80, "S", dmac=EXT_MAC) for i in range(6)]
    two = [F.tcp("203.0.113.%d" % i, 1000, "192.0.2.61", 80, "S", dmac=EXT_MAC) for i in range(4)]
    st = lb.feed(ext=one + two)
    lb.finish()
    assert H.drops_of(st["total"]) == {"snat_exhausted": 2}
    out = [F.Parsed(o) for o in lb.frames("int")]
    assert len(out) == 8
    for dst in (NODE, F.NODES[1]):
        ports = sorted(o.sport for o in out if o.dst == dst)
        assert ports == [20000, 20001, 20002, 20003], "%s: %s" % (dst, ports)


def test_dnat_flow_conflict(pcap_lbd):
    """DNAT keeps the client's tuple: one client endpoint talking to the same
    pod through two VIPs would give two flows one reply tuple. The second is
    refused (flow_conflict); the first keeps working."""
    pod = F.PODS[0]

    def hook(conf):
        conf["frontends"] += [
            {"name": "d1", "vip": "192.0.2.62", "protocol": "tcp", "port": 80, "method": "dnat",
             "targets": [{"address": pod, "port": 8080}]},
            {"name": "d2", "vip": "192.0.2.63", "protocol": "tcp", "port": 80, "method": "dnat",
             "targets": [{"address": pod, "port": 8080}]}]
    lb = pcap_lbd(conf_hook=hook)
    a = F.tcp(C, 1000, "192.0.2.62", 80, "S", seq=1, dmac=EXT_MAC)
    b = F.tcp(C, 1000, "192.0.2.63", 80, "S", seq=2, dmac=EXT_MAC)
    st = lb.feed(ext=[a, b, a])
    lb.finish()
    assert H.drops_of(st["total"]) == {"flow_conflict": 1}
    out = lb.frames("int")
    assert [F.Parsed(o).seq for o in out] == [1, 1]
    assert all(F.Parsed(o).dst == pod for o in out)


def test_link_layer_broadcast_ip_is_not_forwarded(pcap_lbd):
    """IPv4 to a VIP in a broadcast or multicast Ethernet frame: a flooded or
    misaddressed frame, not for lbd. A router must not forward packets it
    received as link-layer broadcast (RFC 1812, 5.3.4), and with two
    appliances on the segment both would forward the same frame. Only ARP
    may arrive group-addressed."""
    lb = pcap_lbd()
    frames = [F.tcp(C, 1234, F.VIP, 80, "S", dmac=F.BCAST),
              F.tcp(C, 1235, F.VIP, 80, "S", dmac="01:00:5e:00:00:01"),
              F.echo(C, F.VIP, dmac=F.BCAST)]
    st = lb.feed(ext=frames)
    lb.finish()
    assert lb.frames("int") == [] and lb.frames("ext") == []
    assert H.drops_of(st["total"]) == {"not_our_mac": 3}


def test_trace_for_denied_source_names_no_target(pcap_lbd):
    """lbctl trace must predict what the data path does: a denied source's
    SYN goes nowhere (acl_denied), so trace names no target."""
    lb = pcap_lbd()
    st = lb.feed(ext=[F.tcp("198.18.0.1", 1000, F.VIP_ACL, 80, "S", dmac=EXT_MAC)])
    tr = lb.lbd.trace("198.18.0.1", 1000, F.VIP_ACL, 80)
    lb.finish()
    assert H.drops_of(st["total"]) == {"acl_denied": 1} and lb.frames("int") == []
    assert tr["allowed"] is False and "acl_denied" in tr["reason"]
    assert tr["target"] is None
