# SPDX-License-Identifier: BSD-3-Clause
"""make bench: lbd against dpdk-testpmd on the same cores and vdevs.

A benchmark reports, it does not pass or fail on time. For each workload
and repetition, in this order and on the same core and devices: testpmd in
io mode (the I/O ceiling), testpmd in 5tswap mode (a stateless rewrite
peer), lbd; each warms up, then is measured over a timed window. Then the
testpmd-driven run over net_memif, the Maglev figures and the snapshot churn.
Prints a readable table, then one JSON object per line.

    /usr/bin/python3 tests/bench/bench.py [--quick] [--reps N] [--window S]
        [--only ID[,ID...]] [--build DIR] [--no-profile]

BENCH_QUICK=1 (make bench) or --quick: fewer workloads, one repetition,
shorter windows: a smoke run of every part in a few minutes.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402

# name, trace kind, flows, method, frame size, workers, rx queues, flow capacity
WORKLOADS = [
    dict(id="est1", name="est-tcp", kind="est", flows=1),
    dict(id="est1k", name="est-tcp", kind="est", flows=1000),
    dict(id="est64k", name="est-tcp", kind="est", flows=65536, profile=True),
    dict(id="est1m", name="est-tcp", kind="syn", flows=1000000, profile=True,
         note="one frame per flow (a SYN): lbd takes a SYN on a live flow as a segment of it"),
    dict(id="dnat64k", name="est-tcp", kind="ack", flows=65536, method="dnat",
         note="flows picked up mid-stream (DNAT)"),
    dict(id="new", name="new-conn", kind="syn", flows=1000000, capacity=262144, profile=True,
         note="every frame a SYN of a flow not in the table (262144 per worker: full, evicting)"),
    dict(id="udp64k", name="udp", kind="udp", flows=65536),
    dict(id="est64k-512", name="est-tcp", kind="est", flows=65536, size=512),
    dict(id="bidir64k", name="both-dirs", kind="ack", flows=65536, method="dnat", bidir=True,
         note="client frames on ext and the targets' replies on int, both net_pcap: every frame "
              "is written to /dev/null through libpcap, which dominates both programs' costs, "
              "so the ratio says little about lbd"),
    dict(id="est64k-w2", name="est-tcp", kind="est", flows=65536, workers=2, queues=2,
         note="2 rx queues, frames on the queue lbd's RSS rule gives them (no hand-off)"),
    dict(id="est64k-w2-1q", name="est-tcp", kind="est", flows=65536, workers=2, queues=1,
         note="1 rx queue: worker 0 hands the other worker's frames over; they arrive cold in "
              "the other CPU's cache and it takes them slower than they come, so the hand-off "
              "ring overflows (handoff_ring_full): what steering on a NIC avoids"),
]
QUICK = ["est1k", "est64k", "new", "est64k-w2"]
RELOAD_EVERY = 20     # churn: one publish in 20 is a reload (target out, target in)

VIP_OF = {("fullnat", "tcp"): "192.0.2.10:80", ("fullnat", "udp"): "192.0.2.10:53",
          ("dnat", "tcp"): "192.0.2.20:8080"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def all_cpus():
    return set(range(os.cpu_count() or 1))


def child_affinity():
    os.sched_setaffinity(0, all_cpus())


class Bench:
    def __init__(self, args):
        self.a = args
        self.build = Path(args.build).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="lbd-bench-"))
        self.seq = 0
        self.tsc_hz = None
        self.machine = B.machine()
        self.traces = {}
        self.results = []

    def prefix(self):
        self.seq += 1
        return "lbdbench%d_%d" % (os.getpid(), self.seq)

    # --- traces ---

    def trace(self, kind, flows, size, vip, split=None, target=None, dmac=None, smac=None):
        key = (kind, flows, size, vip, split, target, dmac)
        if key not in self.traces:
            name = "%s-%d-%d-%s%s.pcap" % (kind, flows, size, vip.replace(":", "_"),
                                           "" if split is None else "-q%d_%d" % split)
            path = self.work / name
            cmd = [str(self.build / "tests/bench/gen_trace"), "-o", str(path), "-n", str(flows),
                   "-k", kind, "-s", str(size), "-S", "1", "--vip", vip]
            if split is not None:
                cmd += ["--split", "%d:%d" % split]
            if target is not None:
                cmd += ["--target", target]
            if dmac is not None:
                cmd += ["--dmac", dmac]
            if smac is not None:
                cmd += ["--smac", smac]
            subprocess.run(cmd, check=True, capture_output=True)
            self.traces[key] = (path, B.pcap_frames(path))
        return self.traces[key]

    def devices(self, w):
        """(ext device, int device, frames per pass, queue files) for a workload."""
        workers, queues = w.get("workers", 1), w.get("queues", 1)
        proto = "udp" if w["kind"] == "udp" else "tcp"
        vip = VIP_OF[(w.get("method", "fullnat"), proto)]
        size = w.get("size", 64)
        tx = "".join(",tx_pcap=/dev/null" for _ in range(workers))
        if queues > 1:
            files = [self.trace(w["kind"], w["flows"], size, vip, split=(queues, q))
                     for q in range(queues)]
        else:
            files = [self.trace(w["kind"], w["flows"], size, vip)]
        ext = "net_pcap0," + ",".join("rx_pcap=%s" % f for f, _ in files) + ",infinite_rx=1" + tx
        frames = sum(n for _, n in files)
        if w.get("bidir"):
            rep, n = self.trace("reply", w["flows"], size, vip, target="%s:8080" % B.TARGETS[0],
                                dmac="02:70:63:61:70:01", smac=B.target_mac(B.TARGETS[0]))
            intd = "net_pcap1,rx_pcap=%s,infinite_rx=1%s" % (rep, tx)
            frames += n
        else:
            intd = "net_null0,no-rx=1"
        return ext, intd, frames

    def memory(self, frames, capacity, workers):
        """(hugepages?, memory_mb for --no-huge): mbufs ~2.3 KiB, flows ~128 B."""
        need = (frames + 65536 * workers) * 2.4 / 1024 + capacity * workers * 160 / 2**20 + 256
        if B.hugepage_free_mb() >= need * 1.2:
            return True, 0
        return False, int(need * 1.2)

    # --- one run each ---

    def run_testpmd(self, mode, ext, intd, frames, workers, queues, huge, mem):
        lcores = "0@0,1@1" if workers == 1 else "0@0,1@0,2@1"
        eal = ["--lcores=%s" % lcores, "--vdev", ext, "--vdev", intd]
        eal += ["--huge-unlink"] if huge else ["--no-huge", "-m", str(mem)]
        args = ["--forward-mode=%s" % mode, "--nb-cores=%d" % (workers if queues > 1 else 1),
                "--rxq=%d" % queues, "--txq=%d" % workers, "--burst=32",
                "--total-num-mbufs=%d" % (frames + 16384 * (workers + 1) + 32768)]
        tp = B.Testpmd(self.work, self.prefix(), eal, args, name="testpmd-%s" % mode)
        try:
            tp.start()
            time.sleep(self.a.warm)
            s0 = tp.last(0)
            time.sleep(self.a.window)
            s1 = tp.last(0)
        finally:
            tp.stop()
        dt = s1["t"] - s0["t"]
        if dt <= 0:
            raise B.BenchError("testpmd printed no statistics during the window")
        return {"mpps": (s1["rx"] - s0["rx"]) / dt / 1e6, "cores": workers if queues > 1 else 1}

    def lbd_conf(self, ext, intd, workers, capacity, huge, mem, targets=None):
        eal = ["--huge-unlink"] if huge else []
        if workers > 1:
            eal.append("--lcores=0@0,1@0,2@1")
        return B.lbd_config(self.work, self.prefix(), ext, intd, workers, capacity, huge, mem,
                            eal_args=eal, targets=targets)

    def warm_up(self, lbd, frames, timeout=180):
        t0 = time.monotonic()
        while True:
            st = lbd.stats()
            if st["total"]["rx"] >= 2 * frames and time.monotonic() - t0 >= self.a.warm:
                return st
            if time.monotonic() - t0 > timeout:
                raise B.BenchError("lbd did not get through its trace twice in %ds (rx %d)" % (
                    timeout, st["total"]["rx"]))
            time.sleep(0.2)

    def run_lbd(self, w, ext, intd, frames, huge, mem, profile=False):
        workers = w.get("workers", 1)
        capacity = w.get("capacity") or max(65536, int(w["flows"] * 1.25) // 1024 * 1024 + 1024)
        lbd = B.Lbd(self.build, self.work, self.lbd_conf(ext, intd, workers, capacity, huge, mem))
        prof = None
        try:
            lbd.start()
            self.warm_up(lbd, frames)
            s0 = lbd.stats()
            time.sleep(self.a.window)
            s1 = lbd.stats()
            if profile:
                prof = self.profile(workers)
        finally:
            lbd.stop()
        self.tsc_hz = s1["tsc_hz"]
        return summarize(s0, s1, prof)

    def profile(self, workers):
        """Timer-sampled profile of the worker CPU(s) (no hardware PMU is
        assumed: cpu-clock)."""
        perf = shutil.which("perf")
        if perf is None:
            return None
        out = self.work / "perf.data"
        cpus = "1" if workers == 1 else "0,1"
        r = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "4999", "-C", cpus,
                            "-o", str(out), "--", "sleep", str(self.a.profile_s)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return {"error": r.stderr.strip()[-200:]}
        r = subprocess.run([perf, "report", "-i", str(out), "--stdio", "--no-children",
                            "--sort", "symbol", "--percent-limit", "1.5"],
                           capture_output=True, text=True)
        top = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith("%") and parts[1].startswith("["):
                top.append({"pct": float(parts[0][:-1]), "symbol": " ".join(parts[2:])})
        return top[:12]

    # --- workloads ---

    def workload(self, w):
        workers, queues = w.get("workers", 1), w.get("queues", 1)
        ext, intd, frames = self.devices(w)
        capacity = w.get("capacity") or w["flows"]
        huge, mem = self.memory(frames, capacity, workers)
        reps = {"io": [], "5tswap": [], "lbd": []}
        for rep in range(self.a.reps):
            log("  %s: rep %d/%d" % (w["id"], rep + 1, self.a.reps))
            reps["io"].append(self.run_testpmd("io", ext, intd, frames, workers, queues, huge,
                                               mem))
            reps["5tswap"].append(self.run_testpmd("5tswap", ext, intd, frames, workers, queues,
                                                   huge, mem))
            last = rep == self.a.reps - 1
            reps["lbd"].append(self.run_lbd(w, ext, intd, frames, huge, mem,
                                            profile=last and w.get("profile") and self.a.profile))
        return self.report(w, reps, huge, mem, frames)

    def report(self, w, reps, huge, mem, frames):
        hz = self.tsc_hz
        io = [r["mpps"] for r in reps["io"]]
        sw = [r["mpps"] for r in reps["5tswap"]]
        lb = [r["mpps"] for r in reps["lbd"]]
        ratios = [l / i for l, i in zip(lb, io) if i > 0]
        cores = reps["io"][0]["cores"]
        io_cpp = hz * cores / (statistics.median(io) * 1e6)
        lbd_cpp = statistics.median([r["cycles_per_pkt"] for r in reps["lbd"]])
        drops = {}
        for r in reps["lbd"]:
            for k, v in r["drops"].items():
                drops[k] = drops.get(k, 0) + v
        res = {
            "workload": w["name"], "id": w["id"], "flows": w["flows"],
            "method": w.get("method", "fullnat"), "proto": "udp" if w["kind"] == "udp" else "tcp",
            "pkt_size": w.get("size", 64), "workers": w.get("workers", 1),
            "rx_queues": w.get("queues", 1), "trace_frames": frames,
            "lbd_mpps": round(statistics.median(lb), 3), "lbd_mpps_min": round(min(lb), 3),
            "lbd_mpps_max": round(max(lb), 3),
            "io_mpps": round(statistics.median(io), 3), "io_mpps_min": round(min(io), 3),
            "io_mpps_max": round(max(io), 3),
            "5tswap_mpps": round(statistics.median(sw), 3),
            "ratio": round(statistics.median(ratios), 3), "ratio_min": round(min(ratios), 3),
            "ratio_max": round(max(ratios), 3),
            "ratio_5tswap": round(statistics.median(lb) / statistics.median(sw), 3),
            "cycles_per_pkt": round(lbd_cpp, 1), "io_cycles_per_pkt": round(io_cpp, 1),
            "lbd_cycles_beyond_io": round(lbd_cpp - io_cpp, 1), "tsc_hz": hz,
            "handoff_share": round(statistics.median([r["handoff_share"] for r in reps["lbd"]]), 4),
            "flows_evicted_per_s": round(statistics.median(
                [r["evicted_per_s"] for r in reps["lbd"]])),
            "flows_created_per_s": round(statistics.median(
                [r["created_per_s"] for r in reps["lbd"]])),
            "drops": drops, "reps": self.a.reps, "window_s": self.a.window,
            "hugepages": huge, "no_huge_memory_mb": None if huge else mem,
            "note": w.get("note"),
        }
        prof = reps["lbd"][-1].get("profile")
        if prof:
            res["profile"] = prof
        return res

    # --- testpmd-driven: memif ---

    def memif(self):
        w = dict(id="memif", name="est-tcp", kind="est", flows=65536)
        trace, frames = self.trace("est", 65536, 64, VIP_OF[("fullnat", "tcp")])
        sock = str(self.work / "memif.sock")
        huge, mem = self.memory(frames * 2, 65536, 1)
        tp_eal = ["--lcores=0@0,1@0",
                  "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1,tx_pcap=/dev/null" % trace,
                  "--vdev", "net_memif0,role=server,id=0,socket=%s" % sock,
                  "--vdev", "net_memif1,role=server,id=1,socket=%s" % sock,
                  "--vdev", "net_null0,no-rx=1"]
        tp_eal += ["--huge-unlink"] if huge else ["--no-huge", "-m", str(mem)]
        tp_args = ["--forward-mode=io", "--nb-cores=1", "--port-topology=paired",
                   "--total-num-mbufs=%d" % (frames + 65536)]
        ext = "net_memif0,role=client,id=0,socket=%s,mac=%s" % (sock, B.PCAP_MAC)
        intd = "net_memif1,role=client,id=1,socket=%s" % sock
        runs = []
        for rep in range(self.a.reps):
            log("  memif: rep %d/%d" % (rep + 1, self.a.reps))
            tp = B.Testpmd(self.work, self.prefix(), tp_eal, tp_args, name="testpmd-memif")
            conf = B.lbd_config(self.work, self.prefix(), ext, intd, 1, 81920, huge, mem,
                                eal_args=(["--huge-unlink"] if huge else []) +
                                ["--lcores=0@0,1@1"])
            lbd = B.Lbd(self.build, self.work, conf, name="lbd-memif")
            try:
                tp.start()
                lbd.start()
                self.warm_up(lbd, frames)
                a = {p: tp.last(p) for p in (0, 1, 2)}
                s0 = lbd.stats()
                time.sleep(self.a.window)
                b = {p: tp.last(p) for p in (0, 1, 2)}
                s1 = lbd.stats()
            finally:
                lbd.stop()
                tp.stop()
            dt = b[0]["t"] - a[0]["t"]
            runs.append({
                "offered": (b[0]["rx"] - a[0]["rx"]) / dt / 1e6,
                "accepted": (b[1]["tx"] - a[1]["tx"]) / dt / 1e6,
                "delivered": (b[2]["rx"] - a[2]["rx"]) / dt / 1e6,
                "lbd": summarize(s0, s1, None),
            })
            self.tsc_hz = s1["tsc_hz"]
        med = lambda k: round(statistics.median([r[k] for r in runs]), 3)  # noqa: E731
        drops = {}
        for r in runs:
            for k, v in r["lbd"]["drops"].items():
                drops[k] = drops.get(k, 0) + v
        off, dl = med("offered"), med("delivered")
        return {"workload": "memif-testpmd", "flows": 65536, "method": "fullnat", "pkt_size": 64,
                "workers": 1, "offered_mpps": off, "accepted_mpps": med("accepted"),
                "delivered_mpps": dl, "loss": round(1 - dl / off, 4) if off else None,
                "lbd_mpps": round(statistics.median([r["lbd"]["mpps"] for r in runs]), 3),
                "cycles_per_pkt": round(statistics.median(
                    [r["lbd"]["cycles_per_pkt"] for r in runs]), 1), "tsc_hz": self.tsc_hz,
                "drops": drops, "reps": self.a.reps, "window_s": self.a.window,
                "hugepages": huge,
                "note": "testpmd replays the trace (io) into net_memif, lbd forwards it back "
                        "over a second net_memif, testpmd counts; testpmd's forwarding lcore, its "
                        "main lcore and lbd's control thread share CPU 0, lbd's worker has CPU 1"}

    # --- snapshot churn ---

    def churn(self):
        w = dict(id="churn", name="est-tcp", kind="est", flows=65536)
        ext, intd, frames = self.devices(w)
        huge, mem = self.memory(frames, 81920, 1)
        conf = self.lbd_conf(ext, intd, 1, 81920, huge, mem)
        alt = json.loads(json.dumps(conf))
        alt["frontends"] = B.frontends(B.TARGETS[:9] + [B.TARGETS[10]])  # one out, one in
        lbd = B.Lbd(self.build, self.work, conf, name="lbd-churn")
        rate, dur = self.a.churn_rate, self.a.churn_s
        log("  churn: %d publishes/s for %ds" % (rate, dur))
        try:
            lbd.start()
            self.warm_up(lbd, frames)
            quiet = self.stall_window(lbd, dur, 0)
            s0 = lbd.stats()
            g0 = lbd.request({"cmd": "status"})["generation"]
            busy = self.stall_window(lbd, dur, rate, conf, alt)
            s1 = lbd.stats()
            g1 = lbd.request({"cmd": "status"})["generation"]
        finally:
            lbd.stop()
        self.tsc_hz = s1["tsc_hz"]
        d = summarize(s0, s1, None)
        # every frame received is sent or counted in a drop reason (the
        # counters add up): lost = dropped, for any reason; rx - tx over the
        # window also holds the frames in flight at the two samples
        lost = sum(d["drops"].values())
        inflight = s1["total"]["rx"] - s0["total"]["rx"] - (s1["total"]["tx"] - s0["total"]["tx"])
        return {"workload": "snapshot-churn", "flows": 65536, "method": "fullnat", "pkt_size": 64,
                "workers": 1, "publishes": g1 - g0, "publishes_per_s": round((g1 - g0) / busy["s"], 1),
                "lbd_mpps": round(d["mpps"], 3), "lost": lost, "drops": d["drops"],
                "rx_minus_tx": inflight,
                "worst_stall_us": busy["worst_us"], "worst_stall_us_without_churn": quiet["worst_us"],
                "requests": busy["requests"], "request_ms_median": busy["request_ms_median"],
                "request_ms_max": busy["request_ms_max"],
                "frames_in_worst_stall": int(busy["worst_us"] * d["mpps"]),
                "tsc_hz": self.tsc_hz, "hugepages": huge,
                "note": "drain/undrain of one target and, every 20th, a reload that removes one "
                        "target and adds another, through the control socket; a stall is the "
                        "longest worker loop pass in a second (any cause, the kernel's included)"}

    def stall_window(self, lbd, dur, rate, conf=None, alt=None):
        """Runs for dur seconds, publishing rate snapshots a second; returns the
        worst per-second longest pass in microseconds."""
        t0 = time.monotonic()
        k, drains, worst, next_sample, lat = 0, 0, 0.0, t0 + 1, []
        while True:
            now = time.monotonic()
            if now - t0 >= dur:
                break
            if rate > 0 and now >= t0 + k / rate:
                # the answer comes once the snapshot is published
                if k % RELOAD_EVERY == RELOAD_EVERY - 1:
                    lbd.write_config(alt if (k // RELOAD_EVERY) % 2 == 0 else conf)
                    lbd.request({"cmd": "reload"})
                else:
                    # alternate, so that every request changes something
                    lbd.request({"cmd": "drain" if drains % 2 == 0 else "undrain",
                                 "target": "%s:30080" % B.TARGETS[1], "frontend": "web"})
                    drains += 1
                lat.append(time.monotonic() - now)
                k += 1
            if now >= next_sample:
                st = lbd.stats()
                hz = st["tsc_hz"]
                for wk in st["workers"]:
                    worst = max(worst, wk["pass_max_cycles"] / hz * 1e6)
                next_sample += 1
            time.sleep(0.001 if rate == 0 else max(0.0, t0 + k / rate - time.monotonic()))
        lat.sort()
        return {"worst_us": round(worst, 1), "s": time.monotonic() - t0, "requests": k,
                "request_ms_median": round(lat[len(lat) // 2] * 1e3, 2) if lat else None,
                "request_ms_max": round(lat[-1] * 1e3, 2) if lat else None}


def summarize(s0, s1, prof):
    t0, t1 = s0["total"], s1["total"]
    dt = s1["t"] - s0["t"]
    rx = t1["rx"] - t0["rx"]
    drops = {k: t1["drops"][k] - t0["drops"][k] for k in t1["drops"]
             if t1["drops"][k] - t0["drops"][k]}
    return {
        "mpps": rx / dt / 1e6,
        "cycles_per_pkt": (t1["cycles_busy"] - t0["cycles_busy"]) / rx if rx else 0,
        "handoff_share": (t1["handoff_out"] - t0["handoff_out"]) / rx if rx else 0,
        "evicted_per_s": (t1["flows_evicted"] - t0["flows_evicted"]) / dt,
        "created_per_s": (t1["flows_created"] - t0["flows_created"]) / dt,
        "drops": drops, "profile": prof,
    }


def fmt_table(rows, m):
    out = []
    out.append("lbd benchmarks: %s, %d CPUs%s, %s MHz; hugepages %d x %d kB (%d free at start); "
               "DPDK %s; lbd %s; kernel %s" % (
                   m["cpu_model"], m["cpus"], " (VM)" if m["hypervisor"] else "",
                   m["cpu_mhz"], m["hugepages_total"], m["hugepage_kb"], m["hugepages_free"],
                   m["dpdk"], m["lbd_commit"], m["kernel"]))
    if rows and rows[0].get("tsc_hz"):
        out.append("TSC %.3f GHz. Figures: median [min-max] over the repetitions; ratio = lbd / "
                   "testpmd io in the same repetition; cycles are TSC cycles per packet (lbd's "
                   "measured inside its worker loop, io's = TSC rate x cores / its rate)."
                   % (rows[0]["tsc_hz"] / 1e9))
    hdr = ("%-10s %8s %-7s %4s %2s %-21s %-7s %-7s %-17s %7s %6s %6s %6s %s" % (
        "workload", "flows", "method", "size", "w", "lbd Mpps", "io Mpps", "5tswap",
        "ratio lbd/io", "cyc/pkt", "io cyc", "beyond", "h-off", "drops"))
    out.append(hdr)
    out.append("-" * len(hdr))
    for r in rows:
        if "io_mpps" not in r:
            continue
        out.append("%-10s %8d %-7s %4d %2d %6.2f [%5.2f-%5.2f] %7.2f %7.2f %5.3f [%.3f-%.3f] %7.0f %6.0f %6.0f %5.1f%% %s" % (
            r["workload"] + ("/udp" if r["proto"] == "udp" and r["workload"] != "udp" else ""),
            r["flows"], r["method"], r["pkt_size"], r["workers"], r["lbd_mpps"],
            r["lbd_mpps_min"], r["lbd_mpps_max"], r["io_mpps"], r["5tswap_mpps"], r["ratio"],
            r["ratio_min"], r["ratio_max"], r["cycles_per_pkt"], r["io_cycles_per_pkt"],
            r["lbd_cycles_beyond_io"], 100 * r["handoff_share"],
            ",".join("%s=%d" % kv for kv in r["drops"].items()) or "0"))
    for r in rows:
        if r.get("note") and "io_mpps" in r:
            out.append("  %s (%d flows, %d worker(s)): %s" % (r["id"], r["flows"], r["workers"],
                                                           r["note"]))
        if r.get("flows_evicted_per_s"):
            out.append("  %s: %.2f M flows created/s, %.2f M live flows evicted/s (table full)" % (
                r["id"], r["flows_created_per_s"] / 1e6, r["flows_evicted_per_s"] / 1e6))
    for r in rows:
        if r.get("profile"):
            out.append("profile of %s (cpu-clock samples on the worker CPU, >= 1.5%%): %s" % (
                r["id"], "; ".join("%.1f%% %s" % (p["pct"], p["symbol"]) for p in r["profile"])))
    for r in rows:
        if r["workload"] == "memif-testpmd":
            out.append("memif (testpmd drives): offered %.2f Mpps, accepted by lbd's ring %.2f, "
                       "delivered back %.2f, loss %.1f%%; lbd %.2f Mpps at %.0f cycles/packet, "
                       "drops %s" % (r["offered_mpps"], r["accepted_mpps"], r["delivered_mpps"],
                                     100 * (r["loss"] or 0), r["lbd_mpps"], r["cycles_per_pkt"],
                                     r["drops"] or 0))
        if r["workload"] == "snapshot-churn":
            out.append("snapshot churn: %d snapshots in %.0fs (%.1f/s; each request answered when "
                       "its snapshot is published: median %.1f ms, max %.1f ms) while forwarding "
                       "%.2f Mpps: %d frames lost (drops %s; rx - tx %+d, frames in flight); "
                       "worst worker pass %.0f us with churn, %.0f us without (%d frames at "
                       "that rate)" % (
                           r["publishes"], r["publishes"] / max(r["publishes_per_s"], 1e-9),
                           r["publishes_per_s"], r["request_ms_median"] or 0,
                           r["request_ms_max"] or 0, r["lbd_mpps"], r["lost"], r["drops"] or 0,
                           r["rx_minus_tx"], r["worst_stall_us"],
                           r["worst_stall_us_without_churn"], r["frames_in_worst_stall"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--window", type=float)
    ap.add_argument("--warm", type=float, default=2.0)
    ap.add_argument("--only", help="workload ids (WORKLOADS), or memif, churn, maglev, dp")
    ap.add_argument("--build", default=os.environ.get("LBD_BUILD", str(B.REPO / "build")))
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--profile-s", type=float, default=4.0)
    ap.add_argument("--churn-rate", type=int, default=100)
    ap.add_argument("--churn-s", type=float)
    ap.add_argument("--no-memif", dest="memif", action="store_false")
    ap.add_argument("--no-churn", dest="churn", action="store_false")
    ap.add_argument("--no-maglev", dest="maglev", action="store_false")
    ap.add_argument("--no-dp", dest="dp", action="store_false")
    a = ap.parse_args()
    a.reps = a.reps or (1 if a.quick else 3)
    a.window = a.window or (2.0 if a.quick else 5.0)
    a.churn_s = a.churn_s or (5.0 if a.quick else 10.0)
    if a.quick:
        a.profile = False
    if os.geteuid() != 0:
        print("make bench: needs root (hugepages, vdevs)", file=sys.stderr)
        return 1
    for tool in ("dpdk-testpmd", "stdbuf"):
        if shutil.which(tool) is None:
            print("make bench: %s not found (Debian package dpdk / coreutils)" % tool,
                  file=sys.stderr)
            return 1
    # The driver stays off the worker CPU; children may use every CPU.
    os.sched_setaffinity(0, {0})
    bench = Bench(a)
    only = set(a.only.split(",")) if a.only else None
    sel = [w for w in WORKLOADS if (only and w["id"] in only) or
           (not only and (not a.quick or w["id"] in QUICK))]
    log("make bench: %d workload(s), %d rep(s), %.0fs windows; work dir %s" % (
        len(sel), a.reps, a.window, bench.work))
    rows = []
    try:
        for w in sel:
            log("workload %s" % w["id"])
            rows.append(bench.workload(w))
        if a.memif and (not only or "memif" in only):
            rows.append(bench.memif())
        if a.churn and (not only or "churn" in only):
            rows.append(bench.churn())
        maglev = []
        if a.maglev and (not only or "maglev" in only):
            log("maglev")
            r = subprocess.run([str(bench.build / "tests/bench/bench_maglev"), "-r",
                                "3" if a.quick else "7"], capture_output=True, text=True,
                               check=True)
            maglev = r.stdout.splitlines()
        if a.dp and (not only or "dp" in only):
            # lib/dp alone, on the worker's CPU: lbd's own per-frame cost
            log("lib/dp alone")
            r = subprocess.run(["taskset", "-c", "1", str(bench.build / "tests/bench/bench_dp"),
                                "-s", "1" if a.quick else "3"], capture_output=True, text=True,
                               check=True)
            maglev += r.stdout.splitlines()
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    print(fmt_table(rows, bench.machine))
    for line in maglev:
        if not line.startswith("{"):
            print(line)
    print("command: make bench%s (tests/bench/bench.py %s)" % (
        " BENCH_QUICK=1" if a.quick else "", " ".join(sys.argv[1:])))
    print(json.dumps(dict(workload="machine", **bench.machine)))
    for r in rows:
        print(json.dumps(r, sort_keys=True))
    for line in maglev:
        if line.startswith("{"):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
