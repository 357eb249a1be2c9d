# SPDX-License-Identifier: BSD-3-Clause
"""ICMP errors about tracked flows are translated like the packet they quote
(path MTU discovery through lbd). Mirrors test_icmp_errors in
tests/unit/test_dp.c, live, because the quoted packet must be the one lbd sent
(with the SNAT port it chose)."""

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from scapy.layers.inet import IP       # noqa: E402
from scapy.layers.l2 import Ether      # noqa: E402

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402
from pktharness import LIVE_LBD_MACS, tcp_open   # noqa: E402

EXT_LBD, INT_LBD = LIVE_LBD_MACS
ROUTER_MAC = F.NEIGH_MACS[F.INT_ROUTER]


translated = F.icmp_translated
is_icmp_to = F.is_icmp_to


QUOTES = (28, 40, None)   # IP header + 8 bytes (RFC 792), + a whole TCP header, everything


def test_frag_needed_from_target_side(live):
    """A router on the cluster side says a FullNAT packet lbd sent (SNAT ->
    target) was too big: the client gets it from the VIP, about its own packet
    to the VIP, MTU kept, all checksums valid (the quoted TCP checksum too,
    when the whole segment is quoted)."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.70", 43000)
    sent, fwd = f.send_fwd("PA", b"x" * 600)
    q = F.ip_bytes(fwd)
    # the client's datagram as lbd forwarded it, translated back (TTL stays)
    back = F.ip_bytes(F.rewrite(fwd, src=f.client, dst=f.vip, sport=f.cport, dport=f.vport,
                                ttl_dec=0))
    for n, qlen in enumerate(QUOTES):
        qlen = qlen or len(q)
        err = F.icmp_error(F.INT_ROUTER, f.saddr, q[:qlen], ROUTER_MAC, INT_LBD, mtu=1280 + n)
        live.int.send(err)
        out = live.ext.expect(is_icmp_to(f.client), what="translated frag-needed (%d)" % qlen)
        F.assert_frame(out, translated(err, EXT_LBD, f.cmac, f.vip, f.client, back[:qlen]),
                       "frag-needed quoting %d bytes" % qlen)
    assert back[20 + 16:20 + 18] == F.ip_bytes(sent)[20 + 16:20 + 18], \
        "the quoted TCP checksum is back to the client's"
    # the same from a node itself (time exceeded, say): translated alike
    err = F.icmp_error(f.target, f.saddr, q[:28], F.NEIGH_MACS[f.target], INT_LBD, type_=11, code=0)
    live.int.send(err)
    out = live.ext.expect(is_icmp_to(f.client), what="translated time-exceeded")
    F.assert_frame(out, translated(err, EXT_LBD, f.cmac, f.vip, f.client, back[:28]))
    st = lbd.wait_counters()
    assert st["total"]["icmp_errors"] == len(QUOTES) + 1 and H.drops_of(st["total"]) == {}


def test_frag_needed_from_client_side(live):
    """A router on the client side says a packet lbd sent to the client (VIP
    -> client) was too big: the target gets it as if about its own packet to
    the SNAT address, from the SNAT address."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.71", 43001)
    sent, rev = f.send_rev("PA", b"y" * 700)
    q = F.ip_bytes(rev)
    back = F.ip_bytes(F.rewrite(rev, src=f.target, dst=f.saddr, sport=f.tport, dport=f.sport,
                                ttl_dec=0))
    for qlen in QUOTES:
        qlen = qlen or len(q)
        err = F.icmp_error(F.EXT_ROUTER, f.vip, q[:qlen], F.CLIENT_MAC, EXT_LBD, mtu=1400)
        live.ext.send(err)
        out = live.int.expect(is_icmp_to(f.target), what="translated frag-needed (%d)" % qlen)
        F.assert_frame(out, translated(err, INT_LBD, F.NEIGH_MACS[f.target], f.saddr, f.target,
                                       back[:qlen]), "frag-needed quoting %d bytes" % qlen)
    st = lbd.wait_counters()
    assert st["total"]["icmp_errors"] == len(QUOTES) and H.drops_of(st["total"]) == {}


def test_dnat_icmp_error_from_pod_side(live):
    """DNAT: an error about a packet to a pod (client -> pod) is addressed to
    the client already; lbd rewrites the pod back to the VIP inside."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.72", 43002, vip=F.VIP_POD, vport=8080)
    sent, fwd = f.send_fwd("PA", b"z" * 300)
    q = F.ip_bytes(fwd)
    back = F.ip_bytes(F.rewrite(fwd, dst=f.vip, dport=f.vport, ttl_dec=0))
    err = F.icmp_error(F.INT_ROUTER, f.client, q, ROUTER_MAC, INT_LBD, mtu=1300)
    live.int.send(err)
    out = live.ext.expect(is_icmp_to(f.client), what="translated frag-needed")
    F.assert_frame(out, translated(err, EXT_LBD, f.cmac, f.vip, f.client, back))
    assert lbd.wait_counters()["total"]["icmp_errors"] == 1


def test_icmp_error_without_flow(live):
    """Errors about packets lbd has no flow for are dropped and counted."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.73", 43003)
    # a SNAT port nobody uses, and a client port lbd never saw
    stray = F.ip_bytes(F.tcp(f.saddr, f.sport + 1, f.target, f.tport, "A"))
    live.int.send(F.icmp_error(F.INT_ROUTER, f.saddr, stray, ROUTER_MAC, INT_LBD))
    stray = F.ip_bytes(F.tcp(f.vip, 80, f.client, f.cport + 1, "A"))
    live.ext.send(F.icmp_error(F.EXT_ROUTER, f.vip, stray, F.CLIENT_MAC, EXT_LBD))
    st = lbd.wait_counters(pred=lambda s: sum(s["total"]["drops"].values()) >= 2)
    assert H.drops_of(st["total"]) == {"icmp_error_no_flow": 2}
    live.ext.quiet(is_icmp_to(f.client))
    live.int.quiet(lambda fr: F.Parsed(fr).proto == 1)


def test_udp_port_unreachable(live):
    """A node answers a FullNAT UDP datagram with port unreachable quoting all
    of it: the client gets it about its own datagram, whose UDP checksum
    (updated incrementally by lbd) verifies."""
    lbd = live.start()
    c, cp = "203.0.113.74", 5353
    q = F.udp(c, cp, F.VIP, 5000, b"is anyone there?", dmac=EXT_LBD)
    live.ext.send(q)
    fwd = live.int.expect(lambda fr: F.Parsed(fr).proto == 17, what="the datagram at the node")
    p = F.Parsed(fwd)
    err = F.icmp_error(p.dst, p.src, F.ip_bytes(fwd), F.NEIGH_MACS[p.dst], INT_LBD, code=3)
    live.int.send(err)
    out = live.ext.expect(is_icmp_to(c), what="translated port unreachable")
    back = F.ip_bytes(F.rewrite(fwd, src=c, dst=F.VIP, sport=cp, dport=5000, ttl_dec=0))
    F.assert_frame(out, translated(err, EXT_LBD, F.CLIENT_MAC, F.VIP, c, back))
    assert back[20:] == F.ip_bytes(q)[20:], "the quoted datagram is the client's, byte for byte"
    assert lbd.wait_counters()["total"]["icmp_errors"] == 1


def test_dnat_icmp_error_from_client_side(live):
    """DNAT: a router before the client says lbd's packet VIP -> client was
    too big; the pod gets it about its own packet pod -> client."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.75", 43005, vip=F.VIP_POD, vport=8080)
    _, rev = f.send_rev("PA", b"w" * 500)
    q = F.ip_bytes(rev)
    back = F.ip_bytes(F.rewrite(rev, src=f.target, sport=f.tport, ttl_dec=0))
    err = F.icmp_error(F.EXT_ROUTER, f.vip, q, F.CLIENT_MAC, EXT_LBD, mtu=1200)
    live.ext.send(err)
    out = live.int.expect(is_icmp_to(f.target), what="translated frag-needed")
    # the pod sees it come from the client it was talking to
    F.assert_frame(out, translated(err, INT_LBD, F.NEIGH_MACS[f.target], f.client, f.target,
                                   back))
    assert lbd.wait_counters()["total"]["icmp_errors"] == 1


def test_ip_options(live):
    """IPv4 options (IHL 6) are carried through NAT both ways and inside a
    translated ICMP error; every checksum still verifies."""
    from scapy.layers.inet import IPOption_NOP
    lbd = live.start()
    f = tcp_open(live, "203.0.113.76", 43006)
    opts = [IPOption_NOP()] * 4

    def with_opts(frame):
        e = Ether(frame)
        e[IP].options = opts
        del e[IP].ihl, e[IP].len, e[IP].chksum
        return bytes(e)
    fr = with_opts(f.to_lbd_ext("PA", b"options please"))
    live.ext.send(fr)
    fwd = live.int.expect(H.tcp_match(seq=f.cseq, dport=f.tport), what="the packet at the node")
    assert fwd[14] == 0x46
    F.assert_frame(fwd, F.rewrite(fr, smac=INT_LBD, dmac=F.NEIGH_MACS[f.target], src=f.saddr,
                                  dst=f.target, sport=f.sport, dport=f.tport))
    rp = with_opts(f.to_lbd_int("PA", b"fine"))
    live.int.send(rp)
    back = live.ext.expect(H.tcp_match(seq=f.tseq, dst=f.client), what="the reply")
    F.assert_frame(back, F.rewrite(rp, smac=EXT_LBD, dmac=f.cmac, src=f.vip, dst=f.client,
                                   sport=80, dport=f.cport))
    q = F.ip_bytes(fwd)
    err = F.icmp_error(F.INT_ROUTER, f.saddr, q[:32], ROUTER_MAC, INT_LBD)
    live.int.send(err)
    out = live.ext.expect(is_icmp_to(f.client), what="translated frag-needed")
    inner = F.ip_bytes(F.rewrite(fwd, src=f.client, dst=f.vip, sport=f.cport, dport=80,
                                 ttl_dec=0))[:32]
    F.assert_frame(out, translated(err, EXT_LBD, f.cmac, f.vip, f.client, inner))
    assert H.drops_of(lbd.wait_counters()["total"]) == {}
