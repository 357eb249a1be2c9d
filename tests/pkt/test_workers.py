# SPDX-License-Identifier: BSD-3-Clause
"""Several workers behave like one. On one rx queue worker 0 polls it and
hands the others' frames over their rings; on one rx queue per worker, with
frames where a NIC programmed by lbd puts them (lib/owner's rule, implemented
again in pktharness.client_owner), no frame crosses between workers; spread
over the queues at random, they are handed over and the results are the same.
Mirrors tests/unit/test_dp_burst.c's test_owner_steering on the real binary
(all workers share CPU 1: --lcores=0@0,1@1,2@1,...)."""

import random

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

EXT_MAC, INT_MAC = F.PCAP_MACS
N_FLOWS = 3000
N_LATER = 600           # flows that also send a second packet

SERVICES = [("web", F.VIP, 80, "tcp", True), ("app", F.VIP, 5000, "udp", True),
            ("podweb", F.VIP_POD, 8080, "tcp", False), ("dns", F.VIP, 53, "udp", False)]


def workload():
    """[(key, frame)]: a first packet of N_FLOWS flows from many clients over
    the four services, then a second packet of N_LATER of them. key =
    (client, cport, vip, vport, proto); each frame is recognisable after NAT
    by its TCP sequence number or UDP payload."""
    rng = random.Random(9)
    flows, seen = [], set()
    while len(flows) < N_FLOWS:
        c = "198.18.%d.%d" % (rng.randrange(0, 40), rng.randrange(1, 255))
        cp = rng.randrange(1024, 65536)
        svc = SERVICES[rng.randrange(len(SERVICES))]
        key = (c, cp, svc[1], svc[2], svc[3])
        if key not in seen:
            seen.add(key)
            flows.append(key)
    out = []
    for i, key in enumerate(flows + flows[:N_LATER]):
        c, cp, vip, vport, proto = key
        later = i >= N_FLOWS
        if proto == "tcp":
            fr = F.tcp(c, cp, vip, vport, "A" if later else "S", seq=i * 7919 + 1, ack=1 if later else 0,
                       dmac=EXT_MAC, smac=F.CLIENT_MAC if i % 3 else F.CLIENT_MAC2)
        else:
            fr = F.udp(c, cp, vip, vport, b"id=%06d" % i, dmac=EXT_MAC)
        out.append((key, fr))
    return out


def ident(frame):
    p = F.Parsed(frame)
    if p.proto == 6:
        return ("tcp", p.seq)
    return ("udp", frame[F.l3_offset(frame) + 28:])


def replay(pcap_lbd, frames, workers):
    lb = pcap_lbd(workers=workers)
    st = lb.feed(ext=[fr for _, fr in frames], timeout=60)
    traces = None
    if workers == 2:
        traces = {}
        for svc in SERVICES:
            keys = sorted({k for k, _ in frames if (k[2], k[3], k[4]) == svc[1:4]})
            res = H.bulk_trace(lb.lbd, [(k[0], k[1]) for k in keys], svc[1], svc[2], svc[3])
            traces.update(zip(keys, res))
    lb.finish()
    return lb, st, traces


def test_two_workers_one_queue_same_results(pcap_lbd):
    frames = workload()
    by_id = {ident(fr): (n, key, fr) for n, (key, fr) in enumerate(frames)}
    assert len(by_id) == len(frames)
    results = {}
    for workers in (1, 2):
        lb, st, traces = replay(pcap_lbd, frames, workers)
        t = st["total"]
        assert H.drops_of(t) == {}, H.brief(st)
        assert t["rx"] == t["tx"] == t["fwd"] == len(frames)
        assert t["flows_created"] == N_FLOWS
        out = [(q, fr) for q, fr in lb.out["int"] if not F.is_arp(fr)]
        assert len(out) == len(frames) and lb.frames("ext") == []
        nat = {}
        for i, (q, fr) in enumerate(out):
            n, key, fin = by_id[ident(fr)]
            p = F.Parsed(fr)
            fullnat = key[2:] in {(s[1], s[2], s[3]) for s in SERVICES if s[4]}
            if fullnat:
                assert p.src in F.SNAT_ADDRS
                assert H.snat_owner(p.sport, workers) == q, \
                    "SNAT port %d is not worker %d's" % (p.sport, q)
            else:
                assert (p.src, p.sport) == key[:2]
            got = (p.dst, p.dport, p.src, p.sport, q)
            assert nat.setdefault(key, got) == got, "second packet of %s went elsewhere" % (key,)
            if i % 3 == 0:
                F.assert_frame(fr, F.rewrite(fin, smac=INT_MAC, dmac=F.NEIGH_MACS[p.dst],
                                             src=p.src, dst=p.dst, sport=p.sport, dport=p.dport))
            else:
                assert F.checksum_problems(fr) == [], F.describe(fr)
        if workers == 2:
            w0, w1 = st["workers"]
            assert w0["rx"] == len(frames) and w1["rx"] == 0, "worker 0 polls the only queue"
            assert w0["handoff_out"] == w1["handoff_in"] > 0 and w1["handoff_out"] == 0
            assert w0["fwd"] > 0 and w1["fwd"] == w1["handoff_in"]
            for key, (dst, dport, _, _, q) in nat.items():
                tr = traces[key]
                assert tr["target"] == "%s:%d" % (dst, dport), key
                assert tr["owner_worker"] == q, "%s sent by worker %d, trace says %d" % (
                    key, q, tr["owner_worker"])
        results[workers] = {k: v[:2] for k, v in nat.items()}
    assert results[1] == results[2], "targets differ between one and two workers"
    used = {v for v in results[2].values()}
    assert {d for d, _ in used} == set(F.NODES) | set(F.PODS)


def outputs(lb, frames, by_id, workers):
    """{key: (dst, dport, src, sport, tx queue)} of what lbd sent, checking
    checksums, SNAT ports against their owner and one NAT per flow."""
    nat = {}
    out = [(q, fr) for q, fr in lb.out["int"] if not F.is_arp(fr)]
    assert len(out) == len(frames) and lb.frames("ext") == []
    fullnat = {(s[1], s[2], s[3]) for s in SERVICES if s[4]}
    for q, fr in out:
        n, key, fin = by_id[ident(fr)]
        p = F.Parsed(fr)
        assert F.checksum_problems(fr) == [], F.describe(fr)
        if key[2:] in fullnat:
            assert p.src in F.SNAT_ADDRS
            assert H.snat_owner(p.sport, workers) == q, \
                "SNAT port %d is not worker %d's" % (p.sport, q)
        else:
            assert (p.src, p.sport) == key[:2]
        assert q == H.client_owner(key[0], workers), "%s sent by worker %d" % (key, q)
        got = (p.dst, p.dport, p.src, p.sport, q)
        assert nat.setdefault(key, got) == got, "second packet of %s went elsewhere" % (key,)
    return nat


@pytest.mark.parametrize("workers", [3, 4])
def test_queue_per_worker_steered_and_spread(pcap_lbd, workers):
    """One ext rx queue per worker. Frames on the queue of their owner: no
    hand-off at all, each worker receives exactly its queue. Frames dealt
    round robin: the ones off their owner's queue are handed over (counted),
    and every flow gets the same target as with one worker."""
    frames = workload()
    by_id = {ident(fr): (n, key, fr) for n, (key, fr) in enumerate(frames)}
    lb1, st1, _ = replay(pcap_lbd, frames, 1)
    one = {k: v[:2] for k, v in outputs(lb1, frames, by_id, 1).items()}
    for spread in ("owner", "round_robin"):
        queues = [[] for _ in range(workers)]
        off_owner = 0
        for i, (key, fr) in enumerate(frames):
            q = H.client_owner(key[0], workers) if spread == "owner" else i % workers
            off_owner += q != H.client_owner(key[0], workers)
            queues[q].append(fr)
        lb = pcap_lbd(workers=workers, ext_queues=workers)
        st = lb.feed(ext=queues, timeout=90)
        lb.finish()
        t = st["total"]
        assert H.drops_of(t) == {}, H.brief(st)
        assert t["rx"] == t["tx"] == t["fwd"] == len(frames)
        assert t["handoff_out"] == t["handoff_in"] == off_owner
        for w in st["workers"]:
            assert w["rx"] == len(queues[w["id"]]), "worker %d polls rx queue %d" % (w["id"], w["id"])
            assert w["flows_created"] > 0
        if spread == "owner":
            assert off_owner == 0
        else:
            assert off_owner > len(frames) // 2
        nat = outputs(lb, frames, by_id, workers)
        assert {k: v[:2] for k, v in nat.items()} == one, "targets differ from one worker's"


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_live_both_directions(live, workers):
    """Workers on af_packet (a queue pair each; the kernel spreads frames over
    them by its own hash, not lbd's, so many are handed over): connections
    owned by every worker work both ways, ICMP errors included, each with its
    owner's SNAT ports."""
    from pktharness import tcp_open
    translated, is_icmp_to = F.icmp_translated, F.is_icmp_to
    lbd = live.start(workers=workers)
    assert lbd.json("status")["workers"] == workers
    pairs = [("203.0.113.%d" % (100 + i), 54000 + i) for i in range(64)]
    traces = H.bulk_trace(lbd, pairs, F.VIP, 80)
    mine = {w: [] for w in range(workers)}
    for (c, p), tr in zip(pairs, traces):
        if len(mine[tr["owner_worker"]]) < 4:
            mine[tr["owner_worker"]].append((c, p))
    flows = []
    for w, cps in mine.items():
        assert len(cps) == 4
        for c, p in cps:
            f = tcp_open(live, c, p)
            assert H.snat_owner(f.sport, workers) == w, "worker %d's flow got SNAT port %d" % (
                w, f.sport)
            flows.append(f)
    dnat = [tcp_open(live, "203.0.113.%d" % (200 + i), 55000 + i, vip=F.VIP_POD, vport=8080)
            for i in range(6)]
    for f in flows + dnat:
        f.send_fwd("PA", b"question")
        f.send_rev("PA", b"answer")
    for f in (flows[0], flows[-1]):
        _, fwd = f.send_fwd("PA", b"x" * 100)
        q = F.ip_bytes(fwd)
        err = F.icmp_error(F.INT_ROUTER, f.saddr, q, F.NEIGH_MACS[F.INT_ROUTER], H.LIVE_LBD_MACS[1])
        live.int.send(err)
        out = live.ext.expect(is_icmp_to(f.client), what="translated error")
        back = F.ip_bytes(F.rewrite(fwd, src=f.client, dst=f.vip, sport=f.cport, dport=f.vport,
                                    ttl_dec=0))
        F.assert_frame(out, translated(err, H.LIVE_LBD_MACS[0], f.cmac, f.vip, f.client, back))
    # and from the client side, about a reply lbd sent (owner found from the
    # quoted VIP -> client header)
    for f in (flows[1], flows[-2], dnat[0], dnat[-1]):
        _, rev = f.send_rev("PA", b"y" * 100)
        err = F.icmp_error(F.EXT_ROUTER, f.vip, F.ip_bytes(rev), F.CLIENT_MAC,
                           H.LIVE_LBD_MACS[0])
        live.ext.send(err)
        out = live.int.expect(is_icmp_to(f.target), what="translated error")
        back = F.ip_bytes(F.rewrite(rev, src=f.target, dst=f.saddr, sport=f.tport, dport=f.sport,
                                    ttl_dec=0))
        src = f.saddr if f.saddr in F.SNAT_ADDRS else f.client
        F.assert_frame(out, translated(err, H.LIVE_LBD_MACS[1], F.NEIGH_MACS[f.target], src,
                                       f.target, back))
    st = lbd.wait_counters()
    assert H.drops_of(st["total"]) == {}, H.brief(st)
    assert all(w["flows_created"] > 0 for w in st["workers"])
    assert st["total"]["icmp_errors"] == 6
    # the kernel's fanout is not lbd's rule: frames were handed over, and
    # every one that left a worker reached another
    assert st["total"]["handoff_out"] == st["total"]["handoff_in"] > 0
