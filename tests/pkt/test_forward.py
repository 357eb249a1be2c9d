# SPDX-License-Identifier: BSD-3-Clause
"""Forwarding: FullNAT and DNAT, both directions, TCP and UDP, VLAN tags.

Mirrors tests/unit/test_dp.c (test_fullnat_flow, test_udp, test_dnat,
test_vlan) on the real binary."""

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402
from pktharness import tcp_open   # noqa: E402

EXT_MAC, INT_MAC = F.PCAP_MACS
GET = b"GET / HTTP/1.1\r\nHost: web\r\n\r\n"


def test_fullnat_tcp_flows(pcap_lbd):
    """SYN, ACK, data and FIN of 24 connections: every packet leaves the
    internal port rewritten to the target lbctl trace predicts, from one SNAT
    address:port per connection, TTL - 1, checksums valid, payload as sent."""
    lb = pcap_lbd()
    conns = [("203.0.113.%d" % i, 40000 + 7 * i) for i in range(1, 25)]
    frames, owner = [], []
    for stage in ("S", "A", "PA", "FA"):
        for n, (c, p) in enumerate(conns):
            isn = H.isn_of(c, p)
            seq = isn if stage == "S" else isn + 1 if stage in ("A", "PA") else isn + 1 + len(GET)
            frames.append(F.tcp(c, p, F.VIP, 80, stage, seq=seq & 0xffffffff,
                                ack=0 if stage == "S" else 777, payload=GET if stage == "PA" else b"",
                                ttl=64 - n % 3, dmac=EXT_MAC, ip_id=n))
            owner.append((c, p))
    st = lb.feed(ext=frames)
    trace = {cp: lb.lbd.trace(cp[0], cp[1], F.VIP, 80) for cp in conns}
    flows = lb.lbd.json("flows", "-n", "1000")
    lb.finish()

    t = st["total"]
    assert H.drops_of(t) == {}
    assert (t["rx"], t["tx"], t["fwd"], t["flows_created"]) == (len(frames),) * 3 + (len(conns),)
    out = lb.frames("int")
    assert len(out) == len(frames), "one frame out per frame in"
    assert lb.frames("ext") == [], "nothing but ARP announcements on the client side"
    seen = {}
    # one worker, one tx queue: frames leave in the order they came in
    for fin, fout, cp in zip(frames, out, owner):
        p = F.Parsed(fout)
        tr = trace[cp]
        assert tr["frontend"] == "web" and tr["allowed"] and tr["owner_worker"] == 0
        assert "%s:%d" % (p.dst, p.dport) == tr["target"], "target differs from lbctl trace"
        assert p.src in F.SNAT_ADDRS and H.snat_owner(p.sport, 1) == 0
        nat = seen.setdefault(cp, (p.src, p.sport, p.dst))
        assert (p.src, p.sport, p.dst) == nat, "a later packet of %s:%d changed NAT" % cp
        F.assert_frame(fout, F.rewrite(fin, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src,
                                       dst=p.dst, sport=p.sport, dport=30080),
                       "flow %s:%d" % cp)
    assert len(set(seen.values())) == len(conns), "two connections share a SNAT endpoint"
    assert {v[2] for v in seen.values()} == set(F.NODES), "24 connections, all 3 targets used"
    # lbctl flows reports what the wire showed
    sample = {(s["client"], s["vip"]): s for s in flows["sample"]}
    assert flows["count"] == len(conns)
    for cp, (sa, sp, tgt) in seen.items():
        s = sample["%s:%d" % cp, F.VIP + ":80"]
        assert (s["target"], s["snat"], s["protocol"]) == (tgt + ":30080", "%s:%d" % (sa, sp), "tcp")


def test_fullnat_udp(pcap_lbd):
    """UDP through a FullNAT frontend, including a datagram without checksum
    (0 must stay 0) and one whose UDP length is shorter than the IP payload."""
    lb = pcap_lbd()
    c = "203.0.113.9"
    frames = [F.udp(c, 5353, F.VIP, 5000, b"query-%d" % i, dmac=EXT_MAC) for i in range(3)]
    frames.append(F.udp(c, 5353, F.VIP, 5000, b"nocsum", dmac=EXT_MAC, no_csum=True))
    lb.feed(ext=frames)
    tr = lb.lbd.trace(c, 5353, F.VIP, 5000, "udp")
    lb.finish()
    out = lb.frames("int")
    assert len(out) == 4
    p0 = F.Parsed(out[0])
    assert "%s:%d" % (p0.dst, p0.dport) == tr["target"]
    for fin, fout in zip(frames, out):
        p = F.Parsed(fout)
        assert (p.src, p.sport, p.dst) == (p0.src, p0.sport, p0.dst)
        F.assert_frame(fout, F.rewrite(fin, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src,
                                       dst=p.dst, sport=p.sport, dport=30500))
    assert out[3][14 + 20 + 6:14 + 20 + 8] == b"\0\0", "a zero UDP checksum stays zero"


def test_return_path(live):
    """Replies from targets to SNAT address:port go back to the client from
    the VIP, to the MAC the client's packets came from (two routers), and
    follow the client side when its router changes."""
    lbd = live.start()
    flows = []
    for i in range(6):
        cmac = F.CLIENT_MAC if i % 2 else F.CLIENT_MAC2
        f = tcp_open(live, "203.0.113.%d" % (60 + i), 41000 + i, cmac=cmac)
        tr = lbd.trace(f.client, f.cport, F.VIP, 80)
        assert "%s:%d" % (f.target, f.tport) == tr["target"]
        assert f.saddr in F.SNAT_ADDRS
        flows.append(f)
    for f in flows:
        f.send_fwd("PA", GET)
        f.send_rev("PA", b"HTTP/1.1 200 OK\r\n\r\n" + bytes(range(256)) * 4)
    # flow 0's client now comes through the other router: replies follow it
    f = flows[0]
    f.send_fwd("PA", b"more", smac=F.CLIENT_MAC)
    f.cmac = F.CLIENT_MAC
    f.send_rev("PA", b"ok")
    for f in flows:
        f.send_fwd("FA")
        f.send_rev("FA")
    st = lbd.wait_counters()
    t = st["total"]
    assert H.drops_of(t) == {}
    assert t["fwd"] == 6 * 4 + 1 and t["rev"] == 6 * 3 + 1
    assert len({(f.saddr, f.sport) for f in flows}) == 6


def test_dnat_tcp(live):
    """DNAT: only the destination is rewritten on the way in (the pod sees the
    client), and the pod's reply to the client leaves from the VIP."""
    lbd = live.start()
    for i in range(4):
        c, cp = "203.0.113.%d" % (80 + i), 42000 + i
        f = tcp_open(live, c, cp, vip=F.VIP_POD, vport=8080)
        assert (f.saddr, f.sport) == (c, cp), "DNAT keeps the client's address and port"
        assert f.target in F.PODS and f.tport == 8080
        assert "%s:%d" % (f.target, f.tport) == lbd.trace(c, cp, F.VIP_POD, 8080)["target"]
        f.send_fwd("PA", GET)
        f.send_rev("PA", b"hello from the pod")
        s = {(x["client"], x["vip"]): x for x in lbd.json("flows", "-n", "100")["sample"]}
        s = s["%s:%d" % (c, cp), "%s:8080" % F.VIP_POD]
        assert (s["target"], s["snat"], s["state"]) == ("%s:8080" % f.target, None, "established")
    t = lbd.wait_counters()["total"]
    assert H.drops_of(t) == {} and t["flows_created"] == 4


def test_dnat_udp(live):
    """A DNS query through the DNAT frontend and the pod's answer."""
    lbd = live.start()
    c, cp = "203.0.113.90", 5300
    q = F.udp(c, cp, F.VIP, 53, b"\x12\x34query", dmac=H.LIVE_LBD_MACS[0])
    live.ext.send(q)
    out = live.int.expect(lambda fr: F.Parsed(fr).proto == 17 and F.Parsed(fr).sport == cp,
                          what="the query at the pod")
    pod = F.Parsed(out).dst
    assert "%s:53" % pod == lbd.trace(c, cp, F.VIP, 53, "udp")["target"]
    F.assert_frame(out, F.rewrite(q, smac=H.LIVE_LBD_MACS[1], dmac=F.NEIGH_MACS[pod], dst=pod))
    a = F.udp(pod, 53, c, cp, b"\x12\x34answer", smac=F.NEIGH_MACS[pod], dmac=H.LIVE_LBD_MACS[1])
    live.int.send(a)
    back = live.ext.expect(lambda fr: F.Parsed(fr).proto == 17 and F.Parsed(fr).dport == cp,
                           what="the answer at the client")
    F.assert_frame(back, F.rewrite(a, smac=H.LIVE_LBD_MACS[0], dmac=F.CLIENT_MAC, src=F.VIP))


def test_vlan_pop_and_push(pcap_lbd):
    """External port on VLAN 100, internal on VLAN 200: the tag is replaced
    on the way through; ARP and echo on the external side answer tagged."""
    lb = pcap_lbd(ext_opts={"vlan": 100}, int_opts={"vlan": 200})
    c = "203.0.113.33"
    syn = F.tcp(c, 40033, F.VIP, 80, "S", seq=99, dmac=EXT_MAC, vlan=100, payload=b"tagged")
    ping = F.echo(c, F.VIP, dmac=EXT_MAC, vlan=100)
    untagged = F.tcp(c, 40034, F.VIP, 80, "S", seq=99, dmac=EXT_MAC)
    st = lb.feed(ext=[syn, ping, untagged])
    lb.finish()
    assert H.drops_of(st["total"]) == {"vlan_mismatch": 1}
    (out,) = lb.frames("int")
    p = F.Parsed(out)
    assert p.vlan == 200
    F.assert_frame(out, F.rewrite(syn, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src,
                                  dst=p.dst, sport=p.sport, dport=30080, vlan=200))
    (reply,) = lb.frames("ext")
    assert F.Parsed(reply).vlan == 100 and F.Parsed(reply).icmp_type == 0
    garps = [F.Parsed(a) for a in lb.frames("ext", arp=True)]
    assert garps and all(a.vlan == 100 for a in garps)
    assert all(F.Parsed(a).vlan == 200 for a in lb.frames("int", arp=True))


def test_session_affinity(pcap_lbd):
    """session_affinity client_ip: every connection of a client goes to the
    target trace names for that client, whatever its port."""
    sticky = {"name": "sticky", "vip": "192.0.2.30", "protocol": "tcp", "port": 443,
              "session_affinity": "client_ip", "affinity_timeout": 600,
              "targets": [{"address": a, "port": 30443} for a in F.NODES]}
    lb = pcap_lbd(fes=F.frontends() + [sticky])
    clients = ["203.0.113.%d" % i for i in (11, 12, 13, 14, 15, 16)]
    frames = [F.tcp(c, 30000 + 17 * k, "192.0.2.30", 443, "S", seq=k, dmac=EXT_MAC)
              for k in range(8) for c in clients]
    st = lb.feed(ext=frames)
    tr = {c: lb.lbd.trace(c, 1, "192.0.2.30", 443) for c in clients}
    lb.finish()
    t = st["total"]
    assert H.drops_of(t) == {} and t["flows_created"] == len(frames)
    assert t["affinity_hits"] == len(frames) - len(clients)
    out = lb.frames("int")
    for fin, fout in zip(frames, out):
        c = F.Parsed(fin).src
        p = F.Parsed(fout)
        assert tr[c]["affinity"] is True
        assert "%s:%d" % (p.dst, p.dport) == tr[c]["target"], c
        F.assert_frame(fout, F.rewrite(fin, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], src=p.src,
                                       dst=p.dst, sport=p.sport, dport=30443))
    assert len({tr[c]["target"] for c in clients}) > 1, "six clients, one target: no spread"


def test_closed_tuple_reused_is_a_new_connection(pcap_lbd):
    """A SYN on the tuple of a connection that ended (FIN or RST) starts a new
    flow, picked afresh; a SYN retransmitted on a live connection does not."""
    lb = pcap_lbd()
    c, p = "203.0.113.44", 40444
    f = [F.tcp(c, p, F.VIP, 80, "S", seq=100, dmac=EXT_MAC),
         F.tcp(c, p, F.VIP, 80, "S", seq=100, dmac=EXT_MAC),        # retransmission
         F.tcp(c, p, F.VIP, 80, "FA", seq=101, ack=9, dmac=EXT_MAC),
         F.tcp(c, p, F.VIP, 80, "S", seq=5000, dmac=EXT_MAC),       # new connection
         F.tcp(c, p, F.VIP, 80, "R", seq=5001, dmac=EXT_MAC),
         F.tcp(c, p, F.VIP, 80, "S", seq=9000, dmac=EXT_MAC)]       # and another
    st = lb.feed(ext=f)
    lb.finish()
    assert H.drops_of(st["total"]) == {} and st["total"]["flows_created"] == 3
    out = [F.Parsed(o) for o in lb.frames("int")]
    assert len(out) == len(f)
    snat = [(o.src, o.sport) for o in out]
    assert snat[0] == snat[1] == snat[2] and snat[3] == snat[4]
    assert len({snat[0], snat[3], snat[5]}) == 3, "each new connection gets its own SNAT port"


@pytest.mark.parametrize("ext_vlan,int_vlan", [(100, None), (None, 200), (100, 200)])
def test_vlan_both_directions(live, ext_vlan, int_vlan):
    """Tagged ports, live: the tag is pushed, popped or replaced both ways;
    ARP and echo are answered on the tagged side with the tag."""
    conf = live.config()
    for port, vlan in zip(conf["ports"], (ext_vlan, int_vlan)):
        if vlan:
            port["vlan"] = vlan
    lbd = live.start(conf)
    for i in range(3):
        f = tcp_open(live, "203.0.113.%d" % (120 + i), 43100 + i, ext_vlan=ext_vlan,
                     int_vlan=int_vlan)
        f.send_fwd("PA", GET)
        f.send_rev("PA", b"tagged reply")
    req = F.arp_request(F.CLIENT_MAC, "192.0.2.77", F.VIP)
    if ext_vlan:
        req = req[:12] + bytes([0x81, 0, 0, ext_vlan]) + req[12:]
    live.ext.send(req)
    rep = live.ext.expect(lambda fr: F.is_arp(fr) and F.Parsed(fr).arp_op == 2, what="ARP reply")
    assert F.Parsed(rep).vlan == ext_vlan and F.Parsed(rep).spa == F.VIP
    live.ext.send(F.echo("203.0.113.9", F.VIP, dmac=H.LIVE_LBD_MACS[0], vlan=ext_vlan))
    rep = live.ext.expect(lambda fr: F.Parsed(fr).icmp_type == 0, what="echo reply")
    assert F.Parsed(rep).vlan == ext_vlan and F.checksum_problems(rep) == []
    assert H.drops_of(lbd.wait_counters()["total"]) == {}


def test_target_behind_gateway(pcap_lbd):
    """A target outside the internal subnet is reached through the internal
    port's gateway: destination IP the target, destination MAC the gateway's."""
    far = "10.99.0.5"

    def hook(conf):
        conf["frontends"].append({"name": "far", "vip": "192.0.2.70", "protocol": "tcp",
                                  "port": 80, "targets": [{"address": far, "port": 8443}]})
    lb = pcap_lbd(int_opts={"gateway": F.INT_ROUTER}, conf_hook=hook)
    syn = F.tcp("203.0.113.50", 40050, "192.0.2.70", 80, "S", dmac=EXT_MAC, payload=b"far away")
    st = lb.feed(ext=[syn])
    lb.finish()
    assert H.drops_of(st["total"]) == {}
    (out,) = lb.frames("int")
    p = F.Parsed(out)
    F.assert_frame(out, F.rewrite(syn, smac=INT_MAC, dmac=F.NEIGH_MACS[F.INT_ROUTER], src=p.src,
                                  dst=far, sport=p.sport, dport=8443))


def test_dnat_mid_stream_pickup(pcap_lbd):
    """DNAT keeps the client's tuple, so a connection whose flow lbd does not
    have (another appliance, a restart) is picked up mid-stream on the same
    target the Maglev pick gives a new one; FullNAT cannot do that (no_flow)."""
    lb = pcap_lbd()
    c = "203.0.113.66"
    frames = [F.tcp(c, 40000 + i, F.VIP_POD, 8080, "A", seq=10 + i, ack=5, payload=b"mid",
                    dmac=EXT_MAC) for i in range(6)]
    frames.append(F.tcp(c, 40100, F.VIP, 80, "A", seq=1, dmac=EXT_MAC))
    st = lb.feed(ext=frames)
    tr = [lb.lbd.trace(c, 40000 + i, F.VIP_POD, 8080) for i in range(6)]
    lb.finish()
    t = st["total"]
    assert H.drops_of(t) == {"no_flow": 1}
    assert t["flows_picked_up"] == 6 and t["flows_created"] == 6
    for fin, fout, trace in zip(frames, lb.frames("int"), tr):
        p = F.Parsed(fout)
        assert "%s:%d" % (p.dst, p.dport) == trace["target"]
        F.assert_frame(fout, F.rewrite(fin, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst], dst=p.dst,
                                       dport=8080))


def test_target_order_does_not_matter(pcap_lbd):
    """Invariant 2: two lbd instances given the same targets in another order
    send every connection to the same target (Maglev hashes the targets'
    identity, not their position)."""
    conns = [("198.18.%d.%d" % (i % 7, 1 + i % 200), 10000 + i) for i in range(600)]
    frames = [F.tcp(c, p, F.VIP, 80, "S", seq=i, dmac=EXT_MAC) for i, (c, p) in enumerate(conns)]
    maps = []
    for order in (F.NODES, F.NODES[::-1], F.NODES[1:] + F.NODES[:1]):
        lb = pcap_lbd(fes=F.frontends(web_targets=order))
        lb.feed(ext=frames)
        lb.finish()
        maps.append({F.Parsed(o).seq: F.Parsed(o).dst for o in lb.frames("int")})
    assert len(maps[0]) == len(frames)
    assert maps[0] == maps[1] == maps[2]
    assert set(maps[0].values()) == set(F.NODES)


def test_dnat_reply_without_flow(pcap_lbd):
    """A DNAT target's reply that finds no flow (the connection was forwarded
    statelessly under flood, its flow expired or was evicted, or another lbd
    instance carried it until ECMP moved it here) leaves the external port
    from the VIP:port of the target's DNAT frontend, routed through the
    external port's gateway; a reply from a target of no DNAT frontend is not
    lbd's (not_local)."""
    gw_mac = "02:00:00:00:02:aa"
    lb = pcap_lbd(ext_opts={"gateway": F.EXT_ROUTER,
                            "neighbours": [{"address": F.EXT_ROUTER, "mac": gw_mac}]})
    c, cport, pod = "203.0.113.77", 40077, F.PODS[0]
    replies = [F.tcp(pod, 8080, c, cport, fl, seq=5000 + i, ack=1001, ttl=63,
                     smac=F.NEIGH_MACS[pod], dmac=INT_MAC,
                     payload=b"HTTP/1.1 200 OK\r\n\r\n" if fl == "PA" else b"")
               for i, fl in enumerate(("SA", "PA", "FA"))]
    stray = F.tcp(F.NODES[0], 30080, c, cport, "A", smac=F.NEIGH_MACS[F.NODES[0]], dmac=INT_MAC)
    st = lb.feed(int_=replies + [stray])
    lb.finish()
    t = st["total"]
    assert H.drops_of(t) == {"not_local": 1}
    assert (t["stateless"], t["rev"], t["flows_created"]) == (3, 3, 0)
    out = lb.frames("ext")
    assert len(out) == 3
    for fin, fout in zip(replies, out):
        F.assert_frame(fout, F.rewrite(fin, smac=EXT_MAC, dmac=gw_mac, src=F.VIP_POD, sport=8080))
