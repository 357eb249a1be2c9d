# SPDX-License-Identifier: BSD-3-Clause
"""Snapshot changes under traffic: reload (lbctl and SIGHUP), a broken
reload, drain. ARCHITECTURE.md invariants 1 (flows keep their target) and 3
(publishing loses no packet). Live: connections are opened through lbd and
traffic keeps flowing while the snapshot changes."""

import re
import signal
import threading
import time

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402
from pktharness import tcp_match, tcp_open   # noqa: E402

EXT_LBD, INT_LBD = H.LIVE_LBD_MACS


def ep(addr, port=30080):
    return "%s:%d" % (addr, port)


def open_spread(live, lbd, per_target, first_port):
    """per_target connections to each web target, opened through lbd."""
    picks = H.clients_for(lbd, {ep(n): per_target for n in F.NODES}, first_port=first_port)
    flows = []
    for c, p, target in picks:
        f = tcp_open(live, c, p)
        assert ep(f.target, f.tport) == target
        flows.append(f)
    return flows


def stream(live, flows, rounds, action, at=0.4):
    """Sends `rounds` data packets each way on every flow, paced, and runs
    action() in a thread once a fraction `at` of them is out. Then checks that
    every packet came out on the other side, rewritten for its flow (same
    target, same SNAT endpoint as before). Returns what action returned."""
    result = {}

    def run():
        try:
            result["value"] = action()
        except BaseException as e:      # re-raised below
            result["error"] = e
    th = threading.Thread(target=run)
    sent = []
    for r in range(rounds):
        if r == int(rounds * at):
            th.start()
        for f in flows:
            pay = b"round %03d client %s:%d" % (r, f.client.encode(), f.cport)
            fr = f.to_lbd_ext("PA", pay)
            live.ext.send(fr)
            sent.append(("fwd", f, fr, f.cseq))
            f.cseq = (f.cseq + len(pay)) & 0xffffffff
            rp = b"reply %03d" % r
            fr = f.to_lbd_int("PA", rp)
            live.int.send(fr)
            sent.append(("rev", f, fr, f.tseq))
            f.tseq = (f.tseq + len(rp)) & 0xffffffff
            time.sleep(0.0003)
    th.join(30)
    assert not th.is_alive(), "the snapshot change did not return"
    if "error" in result:
        raise result["error"]
    for kind, f, fr, seq in sent:
        if kind == "fwd":
            out = live.int.expect(tcp_match(sport=f.sport, seq=seq, dport=f.tport), timeout=5,
                                  what="packet of %s:%d" % (f.client, f.cport))
            exp = F.rewrite(fr, smac=INT_LBD, dmac=F.NEIGH_MACS[f.target], src=f.saddr,
                            dst=f.target, sport=f.sport, dport=f.tport)
        else:
            out = live.ext.expect(tcp_match(dst=f.client, dport=f.cport, seq=seq), timeout=5,
                                  what="reply to %s:%d" % (f.client, f.cport))
            exp = F.rewrite(fr, smac=EXT_LBD, dmac=f.cmac, src=f.vip, dst=f.client,
                            sport=f.vport, dport=f.cport)
        F.assert_frame(out, exp, "%s packet of %s:%d" % (kind, f.client, f.cport))
    return result.get("value")


def new_flows_avoid(live, lbd, avoid, n, first_port, net="198.18.7"):
    """n new connections: none lands on avoid, each where trace says."""
    pairs = [("%s.%d" % (net, 1 + i), first_port + i) for i in range(n)]
    traces = H.bulk_trace(lbd, pairs, F.VIP, 80)
    used = set()
    for (c, p), tr in zip(pairs, traces):
        assert tr["target"] != ep(avoid), "trace sends a new flow to %s" % avoid
        f = tcp_open(live, c, p)
        assert ep(f.target, f.tport) == tr["target"]
        used.add(f.target)
    assert avoid not in used
    return used


def web_without(target):
    fes = F.frontends(web_targets=[n for n in F.NODES if n != target])
    return fes


def test_reload_keeps_flows(live):
    lbd = live.start()
    flows = open_spread(live, lbd, 3, 45000)
    gone = F.NODES[2]
    gen = lbd.generation()

    # lbctl reload without NODES[2], in the middle of traffic
    lbd.write_config(live.config(fes=web_without(gone)))
    out = stream(live, flows, 20, lambda: lbd.lbctl("reload").stdout)
    assert re.match(r"reloaded: generation %d, \d+ frontends" % (gen + 1), out), out
    assert lbd.generation() == gen + 1
    on_gone = [f for f in flows if f.target == gone]
    assert len(on_gone) == 3
    for f in flows:                      # every flow, those on the removed target too
        f.send_fwd("PA", b"after reload")
        f.send_rev("PA", b"still here")
    used = new_flows_avoid(live, lbd, gone, 24, 46000)
    assert used == set(F.NODES) - {gone}

    # SIGHUP: now without NODES[1] (NODES[2] is back)
    gone = F.NODES[1]
    lbd.write_config(live.config(fes=web_without(gone)))
    stream(live, flows, 10, lambda: lbd.signal(signal.SIGHUP))
    H.wait_for(lambda: lbd.generation() == gen + 2, 5, "the SIGHUP reload")
    for f in flows:
        f.send_fwd("PA", b"after SIGHUP")
        f.send_rev("PA", b"ok")
    new_flows_avoid(live, lbd, gone, 24, 47000, net="198.18.8")
    st = lbd.wait_counters()
    assert H.drops_of(st["total"]) == {}, H.brief(st)
    status = lbd.json("status")
    assert status["last_reload"]["ok"] is True


def test_broken_reload_keeps_running_config(live):
    """A reload with a broken file fails with FILE:LINE and changes nothing:
    old flows keep going, new flows follow the old config."""
    lbd = live.start()
    flows = open_spread(live, lbd, 1, 48000)
    gen = lbd.generation()
    good = lbd.conf_text
    lines = good.splitlines()
    bad_line = len(lines) + 1
    lbd.write_config(good + "nonsense_setting = 1;\n")
    r = lbd.lbctl("reload", check=False)
    assert r.returncode == 1, r
    m = H.FILE_LINE.search(r.stderr)
    assert m, "lbctl reload error is not FILE:LINE: message: %r" % r.stderr
    assert m.group(1) == str(lbd.conf_path) and int(m.group(2)) == bad_line, r.stderr
    assert "nonsense_setting" in m.group(3)
    st = lbd.json("status")
    assert st["generation"] == gen and st["last_reload"]["ok"] is False
    assert "%s:%d:" % (lbd.conf_path, bad_line) in st["last_reload"]["error"]
    # a config that parses but breaks a rule: a target on the external side
    fes = F.frontends()
    fes[0]["targets"][2]["address"] = "192.0.2.13"
    lbd.write_config(live.config(fes=fes))
    at = [i for i, l in enumerate(lbd.conf_text.splitlines(), 1) if '"192.0.2.13"' in l]
    r = lbd.lbctl("reload", check=False)
    m = H.FILE_LINE.search(r.stderr)
    assert r.returncode == 1 and m, r
    # the line of the target's group or of its address
    assert m.group(1) == str(lbd.conf_path) and int(m.group(2)) in (at[0] - 1, at[0]), r.stderr
    assert "192.0.2.13" in m.group(3)
    assert lbd.generation() == gen
    for f in flows:
        f.send_fwd("PA", b"still forwarding")
        f.send_rev("PA", b"yes")
    used = set()
    for c, p, target in H.clients_for(lbd, {ep(n): 2 for n in F.NODES}, net="198.18.9",
                                      first_port=49000):
        f = tcp_open(live, c, p)
        assert ep(f.target, f.tport) == target
        used.add(f.target)
    assert used == set(F.NODES), "the old config (all three targets) still rules"
    assert H.drops_of(lbd.wait_counters()["total"]) == {}


def test_drain(live):
    """lbctl drain: new flows avoid the target, established ones stay on it
    until they end; undrain gives it its slots back."""
    lbd = live.start()
    flows = open_spread(live, lbd, 2, 50000)
    victim = F.NODES[0]
    before = H.clients_for(lbd, {ep(victim): 3}, net="198.18.10", first_port=51000)
    d = lbd.json("drain", ep(victim))
    assert d["target"] == ep(victim) and sorted(d["frontends"]) == ["guarded", "web"]
    t = {x["address"]: x for x in lbd.json("targets", "web")["targets"]}
    assert t[victim]["drained"] is True and t[victim]["slots"] == 0
    stream(live, flows, 5, lambda: None)
    new_flows_avoid(live, lbd, victim, 20, 52000, net="198.18.11")
    for c, p, _ in before:            # predicted for the victim before the drain
        f = tcp_open(live, c, p)
        assert f.target != victim
    # drained, not removed: its flows close normally
    for f in flows:
        if f.target == victim:
            f.send_fwd("FA")
            f.send_rev("FA")
    u = lbd.json("undrain", ep(victim))
    assert u["generation"] == d["generation"] + 1
    for c, p, target in H.clients_for(lbd, {ep(victim): 2}, net="198.18.12", first_port=53000):
        f = tcp_open(live, c, p)
        assert ep(f.target, f.tport) == target == ep(victim)
    assert H.drops_of(lbd.wait_counters()["total"]) == {}


def test_reload_new_vip_announced_and_served(live):
    """A frontend added by reload: its VIP is announced (gratuitous ARP) on the
    external port, answers ARP and takes connections; a drain survives the
    reload; what may not change on reload (SNAT addresses) is refused."""
    lbd = live.start()
    lbd.json("drain", ep(F.NODES[0]), "web")
    live.ext.drain()
    fes = F.frontends() + [{"name": "new", "vip": "192.0.2.80", "protocol": "tcp", "port": 80,
                            "targets": [{"address": n, "port": 30080} for n in F.NODES]}]
    lbd.write_config(live.config(fes=fes))
    lbd.lbctl("reload")
    g = live.ext.expect(lambda fr: F.is_arp(fr) and F.Parsed(fr).spa == "192.0.2.80",
                        what="gratuitous ARP for the new VIP")
    a = F.Parsed(g)
    assert (a.arp_op, a.tpa, a.sha, a.dst_mac) == (1, "192.0.2.80", EXT_LBD, F.BCAST)
    live.ext.quiet(lambda fr: F.is_arp(fr) and F.Parsed(fr).spa == F.VIP, 0.2)  # old VIPs: not again
    live.ext.send(F.arp_request(F.CLIENT_MAC, "192.0.2.77", "192.0.2.80"))
    live.ext.expect(lambda fr: F.is_arp(fr) and F.Parsed(fr).arp_op == 2, what="ARP reply")
    f = tcp_open(live, "203.0.113.88", 40888, vip="192.0.2.80")
    assert f.target in F.NODES
    t = {x["address"]: x for x in lbd.json("targets", "web")["targets"]}
    assert t[F.NODES[0]]["drained"] is True, "the drain survives the reload"
    conf = live.config(fes=fes)
    conf["workers"]["snat_addresses"] = [F.SNAT_ADDRS[0]]
    lbd.write_config(conf)
    r = lbd.lbctl("reload", check=False)
    m = H.FILE_LINE.search(r.stderr)
    assert r.returncode == 1 and m and "snat_addresses" in m.group(3), r.stderr
    f.send_fwd("PA", b"still fine")


def test_idle_flows_expire(live):
    """A flow idle past its timeout is forgotten (lbctl flows shows it gone);
    the next datagram of the same tuple starts a new flow."""
    conf = live.config()
    conf["workers"]["timeouts"]["udp"] = 1
    lbd = live.start(conf)
    c, cp = "203.0.113.89", 6000
    for _ in range(2):
        live.ext.send(F.udp(c, cp, F.VIP, 5000, b"hello", dmac=EXT_LBD))
        live.int.expect(lambda fr: F.Parsed(fr).proto == 17, what="the datagram")
        H.wait_for(lambda: lbd.json("flows")["count"] == 1, 5, "the flow to show")
        H.wait_for(lambda: lbd.json("flows")["count"] == 0, 5, "the flow to expire")
    st = lbd.wait_counters()
    assert st["total"]["flows_created"] == 2 and H.drops_of(st["total"]) == {}
