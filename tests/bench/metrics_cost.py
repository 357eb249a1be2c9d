#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""What the metrics endpoint costs the data path: lbd (the release build in
build/) forwards a looping pcap of UDP FullNAT flows (net_pcap infinite_rx on
the external port, net_null on the internal one) with one worker, and the
worker's forwarding rate is measured over a window, with nobody scraping,
with a scraper at 10 Hz, and with one scraping as fast as it can. It also
reports the size of /metrics and how long a scrape takes.

A benchmark, not a test: it prints figures. Run it alone, as root:
    flock /tmp/lbd-heavy.lock tests/bench/metrics_cost.py [--seconds 5] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pkt"))
import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

BUILD = Path(os.environ.get("LBD_BUILD") or H.REPO / "build")
LBD = BUILD / "app" / "lbd" / "lbd"
LBCTL = BUILD / "app" / "lbctl" / "lbctl"
PORT = 19542


def stats(sock):
    r = subprocess.run([str(LBCTL), "-s", sock, "-o", "json", "stats"], capture_output=True,
                       text=True, timeout=10)
    return json.loads(r.stdout)


def scraper(hz, stop, out):
    n, lat = 0, []
    period = 1.0 / hz if hz else 0
    while not stop.is_set():
        t = time.monotonic()
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % PORT, timeout=5).read()
        lat.append(time.monotonic() - t)
        n += 1
        out["bytes"] = len(body)
        if period:
            time.sleep(max(0, period - (time.monotonic() - t)))
    out["n"], out["lat"] = n, lat


def spin(stop, out):
    """CPU 0 busy with something that is not lbd: the control condition for
    "flat out" (is the cost lbd's, or the machine's?)."""
    n = 0
    while not stop.is_set():
        n += 1
    out["spins"] = n


def measure(sock, seconds, hz):
    stop, out = threading.Event(), {}
    th = None
    if hz == "spin":
        th = threading.Thread(target=spin, args=(stop, out))
        th.start()
        time.sleep(0.5)
    elif hz is not None:
        th = threading.Thread(target=scraper, args=(hz, stop, out))
        th.start()
        time.sleep(0.5)
    a = stats(sock)
    t0 = time.monotonic()
    time.sleep(seconds)
    b = stats(sock)
    t1 = time.monotonic()
    stop.set()
    if th:
        th.join()
    fwd = b["total"]["fwd"] - a["total"]["fwd"]
    return fwd / (t1 - t0), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    # the scraper, lbctl and the metrics thread share CPU 0 with the control
    # thread; the worker has CPU 1 to itself (as on a real appliance, where
    # Prometheus is another machine)
    os.sched_setaffinity(0, {0})
    work = Path(tempfile.mkdtemp(prefix="lbd-bench-"))
    frames = [F.udp("198.18.%d.%d" % (i // 250, i % 250 + 1), 10000 + i, F.VIP, 5000, b"x" * 18,
                    dmac=F.PCAP_MACS[0]) for i in range(1024)]
    H.write_pcap(work / "in.pcap", frames)
    ports = [
        {"name": "ext", "device": "net_pcap0,rx_pcap=%s,infinite_rx=1" % (work / "in.pcap"),
         "role": "external", "address": F.EXT_ADDR + "/24"},
        {"name": "int", "device": "net_null0,no-rx=1", "role": "internal",
         "address": F.INT_ADDR + "/24", "neighbours": F.int_neighbours()},
    ]
    conf = H.base_config(ports, 1)
    conf["metrics"] = {"address": "127.0.0.1", "port": PORT}
    H.LBD, H.LBCTL = LBD, LBCTL
    lbd = H.Lbd(work, conf)
    lbd.start()
    try:
        res = {"no scraping": [], "scraping at 10 Hz": [], "scraping flat out": [],
               "CPU 0 busy, no scraping": []}
        extra = {}
        for _ in range(args.rounds):
            for name, hz in (("no scraping", None), ("scraping at 10 Hz", 10),
                             ("scraping flat out", 0), ("CPU 0 busy, no scraping", "spin")):
                rate, out = measure(lbd.sock, args.seconds, hz)
                res[name].append(rate)
                if out and "n" in out:
                    extra[name] = out
        print("lbd %s, 1 worker, 1024 UDP FullNAT flows looping on net_pcap -> net_null, "
              "%d rounds of %.0f s" % (lbd.status["version"], args.rounds, args.seconds))
        base = statistics.median(res["no scraping"])
        for name, v in res.items():
            med = statistics.median(v)
            line = "  %-24s %6.3f Mpps forwarded (median; rounds %s)" % (
                name, med / 1e6, ", ".join("%.3f" % (x / 1e6) for x in v))
            if name != "no scraping":
                line += "  %+.1f%%" % ((med - base) / base * 100)
            if name in extra:
                lat = extra[name]["lat"]
                line += "; %d scrapes, %.0f KiB each, median %.1f ms" % (
                    extra[name]["n"], extra[name]["bytes"] / 1024,
                    statistics.median(lat) * 1000)
            print(line)
    finally:
        lbd.stop()


if __name__ == "__main__":
    main()
