# SPDX-License-Identifier: BSD-3-Clause
"""What lbd answers by itself: ARP for its addresses, gratuitous ARP at
startup, ICMP echo. Mirrors test_arp_and_echo in tests/unit/test_dp.c."""

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from scapy.layers.inet import ICMP, IP   # noqa: E402
from scapy.layers.l2 import Dot1Q, Ether  # noqa: E402

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

EXT_MAC, INT_MAC = F.PCAP_MACS
ALL_VIPS = (F.VIP, F.VIP_POD, F.VIP_ACL, F.VIP_EMPTY)


def arp_answer(req, port_mac):
    """The reply lbd owes for an ARP request frame: same length (the padding
    stays), addressed to the requester, from the port."""
    a = F.Parsed(req)
    b = bytearray(req)
    b[0:6] = req[6:12]
    b[6:12] = bytes.fromhex(port_mac.replace(":", ""))
    o = 14
    b[o + 6:o + 8] = b"\x00\x02"
    b[o + 8:o + 14] = b[6:12]                 # sha = port MAC
    b[o + 14:o + 18] = req[o + 24:o + 28]     # spa = the address asked for
    b[o + 18:o + 24] = req[o + 8:o + 14]      # tha = requester
    b[o + 24:o + 28] = req[o + 14:o + 18]     # tpa = requester's address
    assert a.arp_op == 1
    return bytes(b)


def test_arp(pcap_lbd):
    """ARP requests for a VIP, the external address, the internal address and
    the SNAT addresses are answered on the port that owns them; anything else
    is counted as arp_ignored and not answered (someone else announcing one of
    lbd's addresses is a conflict: test_hostile.py)."""
    lb = pcap_lbd()
    c, cmac = "192.0.2.77", "02:00:00:00:02:4d"
    nb, nbmac = F.NODES[1], F.NEIGH_MACS[F.NODES[1]]
    ext_answered = [F.arp_request(cmac, c, ip) for ip in ALL_VIPS + (F.EXT_ADDR,)]
    # a unicast request (refreshing a cache entry) to lbd's MAC
    ext_answered.append(F.arp_request(cmac, c, F.VIP, dmac=EXT_MAC))
    # an unpadded 42-byte request (as seen on a host's own tap) is answered as well
    ext_answered.append(F.arp_request(cmac, c, F.VIP, pad=False))
    ext_ignored = [
        F.arp_request(cmac, c, "192.0.2.99"),           # nobody lbd knows
        F.arp_request(cmac, c, F.INT_ADDR),             # the internal side's address
        F.arp_request(cmac, c, F.SNAT_ADDRS[0]),        # lives on the internal side
        F.arp_reply(cmac, c, EXT_MAC, F.VIP, EXT_MAC),  # a reply nobody asked for
    ]
    int_answered = [F.arp_request(nbmac, nb, ip) for ip in (F.INT_ADDR,) + F.SNAT_ADDRS]
    int_ignored = [
        F.arp_request(nbmac, nb, F.VIP),                # VIPs answer on the external port only
        F.arp_request(nbmac, nb, F.NODES[2]),           # another node
        F.arp_request(nbmac, nb, F.EXT_ADDR),
    ]
    other_mac = F.arp_request(cmac, c, F.VIP, dmac=F.OTHER_MAC)
    ext_in = ext_answered + ext_ignored + [other_mac]
    int_in = int_answered + int_ignored
    st = lb.feed(ext=ext_in, int_=int_in)
    lb.finish()

    t = st["total"]
    assert H.drops_of(t) == {"arp_ignored": len(ext_ignored) + len(int_ignored), "not_our_mac": 1}
    assert t["arp_replies"] == len(ext_answered) + len(int_answered)
    assert t["tx"] == t["arp_replies"] and t["to_control"] == 0
    for port, reqs, mac in (("ext", ext_answered, EXT_MAC), ("int", int_answered, INT_MAC)):
        replies = [fr for fr in lb.frames(port, arp=True) if F.Parsed(fr).arp_op == 2]
        assert len(replies) == len(reqs), "%s: %d replies for %d requests" % (
            port, len(replies), len(reqs))
        for req, rep in zip(reqs, replies):
            F.assert_frame(rep, arp_answer(req, mac), "ARP reply for %s" % F.Parsed(req).tpa)
        assert lb.frames(port) == [], "%s: only ARP was sent" % port


def test_arp_reply_on_internal_side_goes_to_control(pcap_lbd):
    """ARP replies and announcements on the internal side feed lbd's neighbour
    table (counted as to_control), never answered."""
    lb = pcap_lbd()
    frames = [F.arp_reply("02:00:00:00:64:63", "198.51.100.99", INT_MAC, F.INT_ADDR, INT_MAC),
              F.arp_request("02:00:00:00:64:62", "198.51.100.98", "198.51.100.98")]
    st = lb.feed(int_=frames)
    lb.finish()
    assert st["total"]["to_control"] == 2 and H.drops_of(st["total"]) == {}
    assert [fr for fr in lb.frames("int", arp=True) if F.Parsed(fr).arp_op == 2] == []


def garp(mac, ip):
    b = bytes(Ether(src=mac, dst=F.BCAST) / F.ARP(op=1, hwsrc=mac, psrc=ip,
                                                  hwdst="00:00:00:00:00:00", pdst=ip))
    return b + b"\0" * (60 - len(b))


def test_gratuitous_arp_at_startup(pcap_lbd):
    """At startup lbd announces (RFC 5227: request, sender = target) the
    external address and every VIP on the external port, the internal and
    SNAT addresses on the internal port: each exactly once."""
    lb = pcap_lbd()
    st = lb.feed()
    lb.finish()
    for port, mac, addrs in (("ext", EXT_MAC, (F.EXT_ADDR,) + ALL_VIPS),
                             ("int", INT_MAC, (F.INT_ADDR,) + F.SNAT_ADDRS)):
        got = sorted(lb.frames(port, arp=True))
        assert got == sorted(garp(mac, a) for a in addrs), "%s: %s" % (
            port, [F.describe(g) for g in got])
    assert st["total"]["control_tx"] == 5 + 3 and st["total"]["control_tx_failed"] == 0


def echo_answer(req, port_mac):
    p = Ether(req)
    p[Ether].dst, p[Ether].src = p[Ether].src, port_mac
    p[IP].src, p[IP].dst = p[IP].dst, p[IP].src
    p[IP].ttl = 64
    p[ICMP].type = 0
    del p[IP].chksum
    del p[ICMP].chksum
    return bytes(p)


def test_icmp_echo(pcap_lbd):
    """Echo requests to a VIP (with or without targets), to the external
    address, and on the internal side to the internal and SNAT addresses are
    answered from the address asked, TTL 64, id/seq/payload as sent."""
    lb = pcap_lbd()
    c = "203.0.113.5"
    ext_ok = [F.echo(c, F.VIP, ident=1, seq=1, dmac=EXT_MAC),
              F.echo(c, F.VIP, ident=1, seq=2, payload=b"odd-length!", dmac=EXT_MAC),
              F.echo(c, F.VIP, ident=2, seq=3, payload=bytes(range(256)) * 5, dmac=EXT_MAC,
                     smac=F.CLIENT_MAC2),
              F.echo(c, F.VIP_EMPTY, ident=3, seq=1, dmac=EXT_MAC),
              F.echo(c, F.EXT_ADDR, ident=4, seq=1, dmac=EXT_MAC, ttl=1)]
    n = F.NODES[0]
    int_ok = [F.echo(n, ip, ident=5, seq=i, smac=F.NEIGH_MACS[n], dmac=INT_MAC)
              for i, ip in enumerate((F.INT_ADDR,) + F.SNAT_ADDRS)]
    ext_bad = [F.echo(c, F.INT_ADDR, dmac=EXT_MAC)]                    # not_local
    int_bad = [F.echo(n, F.VIP, smac=F.NEIGH_MACS[n], dmac=INT_MAC)]   # not_local
    reply_to_vip = Ether(F.echo(c, F.VIP, dmac=EXT_MAC))
    reply_to_vip[ICMP].type = 0
    del reply_to_vip[ICMP].chksum
    ext_bad.append(bytes(reply_to_vip))                                # icmp_unsupported
    st = lb.feed(ext=ext_ok + ext_bad, int_=int_ok + int_bad)
    lb.finish()
    t = st["total"]
    assert t["icmp_echo_replies"] == len(ext_ok) + len(int_ok)
    assert H.drops_of(t) == {"not_local": 2, "icmp_unsupported": 1}
    for port, reqs, mac in (("ext", ext_ok, EXT_MAC), ("int", int_ok, INT_MAC)):
        out = lb.frames(port)
        assert len(out) == len(reqs)
        for req, rep in zip(reqs, out):
            F.assert_frame(rep, echo_answer(req, mac), "echo reply from %s" % F.Parsed(req).dst)


@pytest.mark.parametrize("vlan", [None, 200])
def test_arp_resolution(live, vlan):
    """Without static neighbours lbd resolves a target's MAC itself: it holds
    the first packet, asks (from its internal address), and sends the packet
    once the target answers; later packets need no new request. A target that
    never answers is asked `arp.retries` times, then its packets are dropped
    and counted (neighbour_unreachable)."""
    conf = live.config(int_neighbours=[])
    if vlan:
        conf["ports"][1]["vlan"] = vlan
    conf["arp"] = {"retries": 2, "retry_interval_ms": 100, "reachable": 60, "queue": 4}
    lbd = live.start(conf)
    ext_lbd, int_lbd = H.LIVE_LBD_MACS
    (c0, p0, _), = H.clients_for(lbd, {"%s:30080" % F.NODES[0]: 1})
    (c1, p1, _), (c2, p2, _) = H.clients_for(lbd, {"%s:30080" % F.NODES[1]: 2}, net="198.18.20")
    live.int.drain()

    def who_has(ip):
        return lambda fr: F.is_arp(fr) and F.Parsed(fr).arp_op == 1 and F.Parsed(fr).tpa == ip

    def request(ip):
        l2 = Ether(src=int_lbd, dst=F.BCAST)
        if vlan:
            l2 = l2 / Dot1Q(vlan=vlan)
        b = bytes(l2 / F.ARP(op=1, hwsrc=int_lbd, psrc=F.INT_ADDR, hwdst="00:00:00:00:00:00",
                             pdst=ip))
        return b + b"\0" * (60 - len(b))

    def tag(fr):
        return fr[:12] + bytes([0x81, 0, vlan >> 8, vlan & 255]) + fr[12:] if vlan else fr

    node, mac = F.NODES[0], F.NEIGH_MACS[F.NODES[0]]
    syn = F.tcp(c0, p0, F.VIP, 80, "S", seq=4242, dmac=ext_lbd)
    live.ext.send(syn)
    F.assert_frame(live.int.expect(who_has(node), what="ARP request for %s" % node),
                   request(node), "lbd's ARP request")
    live.int.send(tag(F.arp_reply(mac, node, int_lbd, F.INT_ADDR, int_lbd)))
    out = live.int.expect(H.tcp_match(seq=4242), what="the held SYN")
    p = F.Parsed(out)
    F.assert_frame(out, F.rewrite(syn, smac=int_lbd, dmac=mac, src=p.src, dst=node,
                                  sport=p.sport, dport=30080, vlan=vlan or "keep"))
    n = {e["address"]: e for e in lbd.json("neighbours")["neighbours"]}
    assert n[node]["mac"] == mac and n[node]["state"] == "reachable"
    live.ext.send(F.tcp(c0, p0, F.VIP, 80, "A", seq=4243, dmac=ext_lbd))
    live.int.expect(H.tcp_match(seq=4243), what="the next packet")
    live.int.quiet(who_has(node), 0.2)

    silent = F.NODES[1]
    live.ext.send(F.tcp(c1, p1, F.VIP, 80, "S", seq=5151, dmac=ext_lbd))
    live.int.expect_n(who_has(silent), 2, timeout=3, what="ARP requests for %s" % silent)
    st = lbd.wait_counters(pred=lambda s: s["neighbours"]["resolutions_failed"] == 1, timeout=5)
    live.ext.send(F.tcp(c2, p2, F.VIP, 80, "S", seq=5252, dmac=ext_lbd))
    st = lbd.wait_counters(pred=lambda s: s["total"]["drops"]["neighbour_unreachable"] == 1)
    assert H.drops_of(st["total"]) == {"neighbour_unreachable": 1}
    assert st["neighbours"]["failed"] == 1          # the held SYN
    live.int.quiet(lambda fr: H.tcp_match(seq=5151)(fr) or H.tcp_match(seq=5252)(fr), 0.2)
    live.int.quiet(who_has(silent), 0.2)            # no third request


def test_arp_updates_learned_not_static_neighbours(live):
    """An ARP announcement on the internal side moves a learned neighbour to
    its new MAC; a static neighbour keeps the configured MAC whatever the
    segment claims."""
    neigh = [n for n in F.int_neighbours() if n["address"] != F.NODES[1]]
    lbd = live.start(int_neighbours=neigh)
    ext_lbd, int_lbd = H.LIVE_LBD_MACS
    static, learned = F.NODES[0], F.NODES[1]
    picks = H.clients_for(lbd, {"%s:30080" % static: 2, "%s:30080" % learned: 2})
    by = {}
    for c, p, t in picks:
        by.setdefault(t.split(":")[0], []).append((c, p))
    # learn `learned` by answering lbd's request
    (c, p) = by[learned][0]
    live.ext.send(F.tcp(c, p, F.VIP, 80, "S", seq=1, dmac=ext_lbd))
    live.int.expect(lambda fr: F.is_arp(fr) and F.Parsed(fr).tpa == learned, what="ARP request")
    live.int.send(F.arp_reply(F.NEIGH_MACS[learned], learned, int_lbd, F.INT_ADDR, int_lbd))
    assert F.Parsed(live.int.expect(H.tcp_match(seq=1), what="held SYN")).dst_mac == \
        F.NEIGH_MACS[learned]
    # both move (announcements: sender = target)
    moved = "02:00:00:00:77:77"
    for ip in (static, learned):
        live.int.send(F.arp_request(moved, ip, ip))
    lbd.wait_counters(pred=lambda s: s["total"]["to_control"] >= 3)

    def mac_of(ip):
        return {e["address"]: e["mac"] for e in lbd.json("neighbours")["neighbours"]}.get(ip)
    H.wait_for(lambda: mac_of(learned) == moved, 3, "the learned neighbour to move")
    assert mac_of(static) == F.NEIGH_MACS[static]
    for n, (ip, want) in enumerate(((static, F.NEIGH_MACS[static]), (learned, moved))):
        c, p = by[ip][1]
        live.ext.send(F.tcp(c, p, F.VIP, 80, "S", seq=100 + n, dmac=ext_lbd))
        out = live.int.expect(H.tcp_match(seq=100 + n), what="SYN to %s" % ip)
        assert F.Parsed(out).dst_mac == want, ip
