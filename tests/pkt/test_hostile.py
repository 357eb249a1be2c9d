# SPDX-License-Identifier: BSD-3-Clause
"""What the Internet sends a VIP that no genuine client does (issue 7):
sources that cannot be real (RFC 1812 5.3.7, RFC 1122 3.2.1.3, BCP 38), TCP
flags and ports that start nothing, bytes after the datagram, frames above
the MTU (af_packet's kernel reassembly), ARP conflicts (RFC 5227 2.4), and
source ranges narrowed under open flows. Mirrors tests/unit/test_dp_guard.c
on the real binary."""

import re
import time

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from scapy.layers.inet import IP, UDP, fragment   # noqa: E402
from scapy.layers.l2 import Ether                 # noqa: E402
from scapy.packet import Raw                      # noqa: E402

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402
from pktharness import tcp_match, tcp_open   # noqa: E402

EXT_MAC, INT_MAC = F.PCAP_MACS
EXT_LBD, INT_LBD = H.LIVE_LBD_MACS
C = "203.0.113.7"


def ext_syn(src=C, dst=F.VIP, dport=80, sport=1000, flags="S", smac=F.CLIENT_MAC):
    return F.tcp(src, sport, dst, dport, flags, smac=smac, dmac=EXT_MAC)


# reason -> frames on the external port, each dropped for that reason only
HOSTILE_EXT = {
    "martian_source": [ext_syn(src=a) for a in (
        "0.0.0.0", "127.0.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
        "192.0.2.255")] + [F.echo("127.0.0.1", F.VIP, dmac=EXT_MAC)],
    "own_source": [ext_syn(src=F.VIP), ext_syn(src=F.EXT_ADDR), ext_syn(src=F.SNAT_ADDRS[0]),
                   F.echo(F.VIP_POD, F.VIP, dmac=EXT_MAC)],
    # From outside, a target's address or the internal subnet: a DNAT SYN
    # spoofing the pod used to leave lbd with source == destination.
    "spoofed_source": [ext_syn(src=F.NODES[0]), ext_syn(src=F.PODS[0], dst=F.VIP_POD, dport=8080),
                       ext_syn(src="198.51.100.77"), F.echo(F.NODES[1], F.VIP, dmac=EXT_MAC)],
    "bad_src_mac": [ext_syn(smac=F.BCAST), ext_syn(smac="01:00:5e:00:00:fb")],
    "own_src_mac": [ext_syn(smac=EXT_MAC), ext_syn(smac=INT_MAC)],
    "bad_tcp_flags": [ext_syn(flags=fl, sport=2000 + i, dst=vip, dport=port)
                      for i, fl in enumerate(("SF", "SR", "", "F", "P", "FPU"))
                      for vip, port in ((F.VIP, 80), (F.VIP_POD, 8080))],
    "zero_port": [ext_syn(sport=0), ext_syn(dport=0),
                  F.udp(C, 0, F.VIP, 53, b"q", dmac=EXT_MAC)],
}
HOSTILE_INT = {
    "martian_source": [F.tcp("127.0.0.1", 30080, F.SNAT_ADDRS[0], 20001, "SA",
                             smac=F.NEIGH_MACS[F.NODES[0]], dmac=INT_MAC)],
    "own_source": [F.echo(F.INT_ADDR, F.SNAT_ADDRS[0], smac=F.NEIGH_MACS[F.NODES[0]],
                          dmac=INT_MAC)],
}


def test_hostile_sources_flags_ports(pcap_lbd):
    """Every kind is dropped with its reason: no flow, no frame out (but the
    startup announcements)."""
    lb = pcap_lbd()
    ext_in = [fr for frs in HOSTILE_EXT.values() for fr in frs]
    int_in = [fr for frs in HOSTILE_INT.values() for fr in frs]
    want = {}
    for table in (HOSTILE_EXT, HOSTILE_INT):
        for reason, frs in table.items():
            want[reason] = want.get(reason, 0) + len(frs)
    st = lb.feed(ext=ext_in, int_=int_in)
    lb.finish()
    t = st["total"]
    assert H.drops_of(t) == want, H.brief(st)
    assert (t["tx"], t["to_control"], t["flows_created"]) == (0, 0, 0), H.brief(st)
    assert lb.frames("ext") == [] and lb.frames("int") == []


def test_nothing_after_the_datagram(pcap_lbd):
    """A trailer after the IPv4 datagram, or padding that is not zero, is not
    sent on: forwarded frames, echo replies and ARP replies end with their
    datagram (ARP: its 28 bytes, zero-padded to 60)."""
    lb = pcap_lbd()
    syn = F.tcp(C, 1000, F.VIP, 80, "S", payload=b"x" * 20, dmac=EXT_MAC)
    ack = F.tcp(C, 1000, F.VIP, 80, "A", seq=1001, dmac=EXT_MAC)   # 54 bytes
    ping = F.echo(C, F.VIP, dmac=EXT_MAC)
    arp = F.arp_request(F.CLIENT_MAC, C, F.VIP, pad=False)
    trailer = b"\xee" * 32
    st = lb.feed(ext=[syn + trailer, ack + b"\xee" * 6, ping + trailer,
                      arp + b"\xaa" * 18])
    lb.finish()
    assert H.drops_of(st["total"]) == {}
    fwd = lb.frames("int")
    assert len(fwd) == 2
    p = F.Parsed(fwd[0])
    F.assert_frame(fwd[0], F.rewrite(syn, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src,
                                     dst=p.dst, sport=p.sport, dport=p.dport), "SYN")
    # the ACK came in a 60-byte frame: 54 bytes of it, zero padding
    exp = F.rewrite(ack, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src, dst=p.dst,
                    sport=p.sport, dport=p.dport)
    F.assert_frame(fwd[1], exp + b"\0" * 6, "ACK")
    rep = lb.frames("ext")
    assert len(rep) == 1 and len(rep[0]) == len(ping), F.describe(rep[0])
    arp_rep = [fr for fr in lb.frames("ext", arp=True) if F.Parsed(fr).arp_op == 2]
    assert len(arp_rep) == 1 and len(arp_rep[0]) == 60 and arp_rep[0][42:] == b"\0" * 18


def test_arp_conflict_defended(pcap_lbd):
    """Another station claims the VIP, then the SNAT address: lbd logs the
    conflict, counts it and announces the VIP again (RFC 5227 2.4); a worker
    passes one conflict per second to the control thread and drops the rest
    (arp_conflict)."""
    lb = pcap_lbd()
    thief = "02:00:00:00:66:66"
    ext_in = [F.arp_request(thief, F.VIP, F.VIP), F.arp_reply(thief, F.VIP, EXT_MAC, C, EXT_MAC),
              F.arp_request(thief, F.VIP, "192.0.2.99")]
    int_in = [F.arp_request(F.NEIGH_MACS[F.NODES[0]], F.SNAT_ADDRS[0], F.SNAT_ADDRS[0])]
    st = lb.feed(ext=ext_in, int_=int_in)
    st = lb.lbd.wait_counters(pred=lambda s: s["control"]["arp_defences"] == 1)
    lb.finish()
    t = st["total"]
    assert t["to_control"] == 1 and H.drops_of(t) == {"arp_conflict": 3}, H.brief(st)
    assert {k: st["control"][k] for k in ("arp_conflicts", "arp_defences")} == \
        {"arp_conflicts": 1, "arp_defences": 1}, st["control"]
    log = lb.lbd.stderr_text()
    assert re.search(r"ARP conflict on port (ext|int): .* claims (VIP 192\.0\.2\.10|SNAT "
                     r"address 198\.51\.100\.2)", log), log[-2000:]
    # the neighbour table never learnt lbd's own SNAT address
    garps = [F.Parsed(fr) for fr in lb.frames("ext", arp=True) + lb.frames("int", arp=True)]
    defended = [g for g in garps if g.spa == g.tpa and g.spa in (F.VIP, F.SNAT_ADDRS[0])]
    # one at startup each, and one defence
    assert len(defended) == 3, defended


def test_source_ranges_narrowed_under_open_flow(live):
    """A reload narrows the guarded frontend's source ranges: the open flow's
    client is outside now, and its frames are dropped both ways (acl_denied),
    as is its echo to the VIP; a client still inside is served and answered."""
    lbd = live.start()
    f = tcp_open(live, "203.0.113.5", 40000, vip=F.VIP_ACL)
    f.send_rev("PA", b"before")
    live.ext.send(F.echo("203.0.113.5", F.VIP_ACL, dmac=EXT_LBD))
    live.ext.expect(lambda fr: F.Parsed(fr).icmp_type == 0, what="echo reply")

    conf = live.config()
    for fe in conf["frontends"]:
        if fe["name"] == "guarded":
            fe["source_ranges"] = ["203.0.113.128/25"]
    lbd.write_config(conf)
    gen = lbd.generation()
    lbd.lbctl("reload")
    assert lbd.generation() == gen + 1
    before = lbd.stats()["total"]["drops"]["acl_denied"]
    live.int.send(f.to_lbd_int("PA", b"after"))
    live.ext.send(f.to_lbd_ext("PA", b"after"))
    live.ext.send(F.echo("203.0.113.5", F.VIP_ACL, dmac=EXT_LBD))
    live.ext.send(F.echo("203.0.113.200", F.VIP_ACL, dmac=EXT_LBD, ident=7))
    live.ext.expect(lambda fr: F.Parsed(fr).icmp_type == 0 and F.Parsed(fr).dst == "203.0.113.200",
                    what="echo reply to the client still inside")
    st = lbd.wait_counters(pred=lambda s: s["total"]["drops"]["acl_denied"] == before + 3)
    live.ext.quiet(lambda fr: not F.is_arp(fr) and F.Parsed(fr).dst == "203.0.113.5")
    live.int.quiet(tcp_match(sport=f.sport))
    assert st["total"]["drops"]["acl_denied"] == before + 3


def udp_fragments(total, dmac, sport=3333):
    """A UDP datagram of `total` IP bytes to the app frontend, cut in two."""
    pay = bytes(range(256)) * ((total - 28) // 256 + 1)
    pkt = IP(src=C, dst=F.VIP, id=0x4321, flags=0) / UDP(sport=sport, dport=5000) / \
        Raw(pay[:total - 28])
    return [bytes(Ether(src=F.CLIENT_MAC, dst=dmac) / fr)
            for fr in fragment(pkt, fragsize=(total // 2 + 7) & ~7)]


def test_fragments_on_net_pcap_are_dropped(pcap_lbd):
    """net_pcap (like NICs, af_xdp, tap, memif) hands lbd the fragments as
    they came: dropped (ip_fragment)."""
    lb = pcap_lbd()
    st = lb.feed(ext=udp_fragments(1200, EXT_MAC))
    lb.finish()
    assert H.drops_of(st["total"]) == {"ip_fragment": 2}


def test_af_packet_reassembles_and_mtu_holds(live):
    """net_af_packet's socket has the kernel reassemble fragments before lbd
    sees them (PACKET_FANOUT_FLAG_DEFRAG, set by DPDK's PMD): a datagram that
    fits the outgoing port's MTU is forwarded whole; a larger one is dropped
    (mtu_exceeded) instead of being sent above the MTU."""
    lbd = live.start()
    for fr in udp_fragments(1200, EXT_LBD, sport=3333):
        live.ext.send(fr)
    out = live.int.expect(lambda fr: not F.is_arp(fr) and F.Parsed(fr).proto == 17,
                          what="the reassembled datagram")
    p = F.Parsed(out)
    assert len(F.ip_bytes(out)) == 1200 and p.dport == 30500
    for fr in udp_fragments(1800, EXT_LBD, sport=4444):
        live.ext.send(fr)
    st = lbd.wait_counters(pred=lambda s: s["total"]["drops"]["mtu_exceeded"] == 1)
    live.int.quiet(lambda fr: not F.is_arp(fr) and F.Parsed(fr).proto == 17)
    assert H.drops_of(st["total"]) == {"mtu_exceeded": 1}, H.brief(st)
    assert st["total"]["rx"] == 2   # one frame each: reassembled before lbd
