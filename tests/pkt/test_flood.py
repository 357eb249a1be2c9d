# SPDX-License-Identifier: BSD-3-Clause
"""Floods (issue 7), live: real FullNAT and DNAT connections through an lbd
whose table holds 1,024 flows survive an ACK flood and a SYN flood of 100
times that, and lbd's counters explain every flood frame it received."""

import socket
import struct
import time

import pktframes as F
import pktharness as H
from pktharness import tcp_open

CAPACITY = 1024
FLOOD = 100 * CAPACITY
BATCH = 448        # below the af_packet PMD's 512-frame rx ring


def _csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def flood_frames(n, vip, vport, flags, seed):
    """n TCP frames from spoofed sources in 198.18.0.0/15 (never a target, a
    subnet of lbd's or a martian), built with struct for speed."""
    dmac = bytes.fromhex(H.LIVE_LBD_MACS[0].replace(":", ""))
    smac = bytes.fromhex(F.CLIENT_MAC.replace(":", ""))
    dst = socket.inet_aton(vip)
    out = []
    for i in range(n):
        k = (seed + i) * 2654435761 & 0xffffffff
        src = struct.pack("!I", 0xc6120000 | (k >> 15))
        tcp = struct.pack("!HHIIBBHHH", 1024 + k % 60000, vport, k, 1 if flags & 0x10 else 0,
                          5 << 4, flags, 1000, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src,
                         dst)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        out.append(dmac + smac + b"\x08\x00" + ip + tcp)
    return out


def flood(live, lbd, frames):
    """Sends the frames in batches, each once lbd has taken the previous one
    (the kernel drops what does not fit the af_packet PMD's rx ring, and
    nothing counts that), asking lbd over one control connection; returns
    the stats before and after."""
    before = lbd.wait_counters()
    rx0 = before["total"]["rx"]
    ctl = H.Ctl(lbd.sock)
    t0 = time.monotonic()
    try:
        for i in range(0, len(frames), BATCH):
            for fr in frames[i:i + BATCH]:
                live.ext.send(fr)
            sent = min(i + BATCH, len(frames))
            deadline = time.monotonic() + 10
            while True:
                (r,) = ctl.call_many([{"cmd": "stats"}])
                if r["result"]["total"]["rx"] - rx0 >= sent:
                    break
                assert time.monotonic() < deadline, "lbd took %d of %d flood frames" % (
                    r["result"]["total"]["rx"] - rx0, sent)
                time.sleep(0.001)
    finally:
        ctl.close()
    print("%d frames in %.1f s" % (len(frames), time.monotonic() - t0))
    live.ext.drain()
    live.int.drain()
    return before, lbd.wait_counters(rx=rx0 + len(frames))


def delta(a, b, key):
    return b["total"][key] - a["total"][key]


def ddrops(a, b):
    da, db = H.drops_of(a["total"]), H.drops_of(b["total"])
    return {k: db.get(k, 0) - da.get(k, 0) for k in set(da) | set(db) if db.get(k, 0) != da.get(k, 0)}


def test_floods_keep_connections(live):
    conf = live.config()
    conf["workers"]["flow_capacity"] = CAPACITY
    conf["workers"]["new_flow_rate"] = 1000
    lbd = live.start(conf)
    conns = [tcp_open(live, "203.0.113.%d" % (10 + i), 41000 + i) for i in range(3)]
    conns += [tcp_open(live, "203.0.113.%d" % (20 + i), 42000 + i, vip=F.VIP_POD, vport=8080)
              for i in range(3)]

    # ACK flood to the DNAT VIP: picked-up flows are unconfirmed, and under
    # flood they are forwarded without state.
    a, b = flood(live, lbd, flood_frames(FLOOD, F.VIP_POD, 8080, 0x10, 1))
    got = delta(a, b, "rx")
    print("ACK flood: sent %d, lbd received %d; picked up %d, "
          "stateless %d, flood episodes %d" % (FLOOD, got, delta(a, b, "flows_picked_up"),
                                                delta(a, b, "stateless"),
                                                delta(a, b, "flood_episodes")))
    assert got == FLOOD
    assert delta(a, b, "flows_picked_up") + delta(a, b, "stateless") == got
    assert delta(a, b, "fwd") == got and delta(a, b, "tx") == got and not ddrops(a, b)
    assert delta(a, b, "flood_episodes") >= 1
    # the governor allows new_flow_rate / 10 new flows per 100 ms window, and
    # pauses of the sender between batches open new windows
    assert delta(a, b, "stateless") > 2 * delta(a, b, "flows_picked_up")

    # SYN flood to the FullNAT VIP: new flows displace only unconfirmed ones.
    a, b = flood(live, lbd, flood_frames(FLOOD, F.VIP, 80, 0x02, 7 * FLOOD))
    got = delta(a, b, "rx")
    dd = ddrops(a, b)
    print("SYN flood: sent %d, lbd received %d; created %d, drops %s" % (
        FLOOD, got, delta(a, b, "flows_created"), dd))
    assert got == FLOOD
    assert delta(a, b, "flows_created") + dd.get("flow_table_full", 0) == got
    assert set(dd) <= {"flow_table_full"} and delta(a, b, "tx") == delta(a, b, "flows_created")

    # Every connection is intact: same target, same SNAT endpoint, both ways.
    for f in conns:
        f.send_fwd("PA", b"after the flood")
        f.send_rev("PA", b"still here")
    t = lbd.wait_counters()["total"]
    assert H.drops_of(t).keys() <= {"flow_table_full"}
