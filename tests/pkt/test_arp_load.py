# SPDX-License-Identifier: BSD-3-Clause
"""ARP under load (issue 7): a next hop that carries full-rate traffic is
re-resolved every second without ever failing, while another next hop that
never answers draws a full-rate stream of its own."""

import time

import pktframes as F
import pktharness as H

PCAP_EXT_MAC = F.PCAP_MACS[0]
# frames handed to control per resolution round, at most (see the check)
HANDOVER_PER_ROUND = 8192


def test_reresolution_under_full_rate(live, tmp_path):
    """The external port is a net_pcap port replaying two UDP streams for
    ever (infinite_rx: as fast as lbd takes them) to the FullNAT frontend
    `app`: one picked to node .11, one to node .12. The internal port is
    af_packet in the namespace, where the kernel holds .11 (and answers ARP
    for it) and nobody holds .12. With arp.reachable = 1 s, lbd re-probes .11
    every second while its stream runs; .12's stream keeps a resolution
    pending (3 x 500 ms) and failing.

    What fails on the code before issue 7's fix (3cd43dd^) is the bound on
    the hand-over: there every frame of .12's stream went to the control
    thread for the whole round, 664,413, 675,680 and 721,984 frames in
    three runs (3 rounds each, bound 3 x 8,192), against 1,088, 608 and
    3,584 with the fix; the neighbour_pending check after it fails there
    too. .11's resolution did not fail on the old code (6 replies, no
    failure for .11): one worker handed over ~0.45 M frames/s, the control
    thread kept up and the shared ring overflowed only now and then
    (control_ring_full 8,451 in one run, 0 in the others), never when a
    reply came. Neither did it with control
    on the worker's CPU (--lcores=0@1,1@1, 10 x 500 ms rounds: 1.9 M frames
    to control, 3,457 control_ring_full, no reply lost), so the lost reply
    itself is not what this test can show on two CPUs."""
    good, dead = F.NODES[0], F.NODES[1]
    # the picks, from an lbd with the same frontends (the pick is a pure
    # function of the flow and the targets)
    probe = live.start()
    picks = {}
    items = [("198.18.7.%d" % (1 + i), 40000 + i, F.VIP, 5000, "udp") for i in range(64)]
    for (c, p, _, _, _), tr in zip(items, H.bulk_trace_multi(probe, items)):
        picks.setdefault(tr["target"].split(":")[0], (c, p))
    probe.stop()
    frames = []
    for i in range(64):
        for node in (good, dead):
            c, p = picks[node]
            frames.append(F.udp(c, p, F.VIP, 5000, b"load %d" % i, dmac=PCAP_EXT_MAC))
    rx = tmp_path / "ext-in.pcap"
    H.write_pcap(rx, frames)
    H.run(["ip", "-n", live.net.ns, "addr", "add", good + "/24", "dev", "hx1"])

    conf = live.config(int_neighbours=[])
    conf["ports"][0]["device"] = "net_pcap0,rx_pcap=%s,tx_pcap=%s,infinite_rx=1" % (
        rx, tmp_path / "ext-out.pcap")
    assert len(conf["ports"][0]["device"]) < 512
    # a resolution round lasts retries x retry_interval_ms = 1.5 s: long
    # enough that a stream handed over whole to control (the code before the
    # fix) is far above what the fixed code can hand over in one round
    conf["arp"] = {"reachable": 1, "retries": 3, "retry_interval_ms": 500, "queue": 4}
    # not live.start(): it checks both ports are the namespace's veths
    lbd = H.Lbd(tmp_path / "lbd-load", conf, [], netns=live.net.ns)
    live.lbds.append(lbd)
    lbd.start()
    t0 = time.monotonic()
    first = lbd.stats()
    time.sleep(5)
    st = lbd.stats()
    secs = time.monotonic() - t0
    n = {e["address"]: e for e in lbd.json("neighbours")["neighbours"]}
    lbd.stop()
    t, ng = st["total"], st["neighbours"]
    d = H.drops_of(t)
    handed = st["control"]["resolve_in"]
    # resolution rounds: .11's first one, the round in progress, one per failure
    rounds = ng["resolutions_failed"] + 2
    print("%.1f s: rx %d (%.0f frames/s), forwarded %d, neighbour_pending %d, "
          "neighbour_unreachable %d, control_ring_full %d, arp_ring_full %d, to_control %d "
          "(waiting for a next hop %d, %.0f per resolution round); neighbours %s; "
          "resolutions_failed %d, "
          "requests %d, replies %d" % (
              secs, t["rx"], (t["rx"] - first["total"]["rx"]) / secs, t["fwd"],
              d.get("neighbour_pending", 0), d.get("neighbour_unreachable", 0),
              d.get("control_ring_full", 0), d.get("arp_ring_full", 0), t["to_control"], handed,
              handed / rounds,
              {a: e["state"] for a, e in n.items()}, ng["resolutions_failed"], ng["requests"],
              ng["replies"]))
    log = lbd.stderr_text()
    assert "address=%s " % good not in "\n".join(
        line for line in log.splitlines() if "neighbour unreachable" in line), log[-2000:]
    assert n[good]["state"] in ("reachable", "probe")
    # re-resolved every second: at least four answers in five seconds
    assert ng["replies"] >= 4
    assert t["rx"] > 100000
    # The hand-over is bounded: per resolution round, control gets the
    # queue's worth (4), plus what was already on its way when the pending
    # entry was published (at most the ring to control, 4096, what control
    # took from it in that pass, 1024, and a burst per worker): 8192 leaves
    # room. The code before the fix handed over the whole stream for the
    # whole round (1.5 s of ~0.45 M frames/s here).
    assert handed <= HANDOVER_PER_ROUND * rounds, (handed, rounds)
    # the dead next hop's stream: its first frames reached control, the rest
    # were dropped by the worker, then the entry failed
    assert d.get("neighbour_pending", 0) > 0 and ng["resolutions_failed"] >= 1
    # ARP has a ring of its own, never full; the frames waiting for a next
    # hop may fill theirs before the workers see the entry pending (the
    # control thread publishes it on its next pass: a VM that stalls it for
    # a few ms at ~0.5 M frames/s of the dead hop's stream fills 4,096
    # slots; 13,089 in one CI run), bounded like the hand-over
    assert d.get("arp_ring_full", 0) == 0
    assert d.get("control_ring_full", 0) <= HANDOVER_PER_ROUND * rounds
