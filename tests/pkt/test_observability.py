# SPDX-License-Identifier: BSD-3-Clause
"""Observability with the tools operators run: the Prometheus endpoint
(promtool, a real Prometheus server scraping lbd while traffic runs), DPDK
telemetry (dpdk-telemetry.py), packet capture (dpdk-dumpcap), lbctl top in a
real terminal (tmux), and lbd's log lines.

One counter list: the names and values of lbctl stats, /metrics and
telemetry are compared counter by counter, driven by the list in
lib/stats/lb_stats.h."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402
import obsutil as O            # noqa: E402

EXT_MAC = F.PCAP_MACS[0]
# Gauges that move between two reads of an idle lbd (compared for presence only).
VOLATILE = {"pass_max_cycles"}


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.skip("%s not installed (Debian package %s; make deps installs it)" % (tool, package))


def metrics_conf(port, address="127.0.0.1"):
    def hook(conf):
        conf["metrics"] = {"address": address, "port": port}
    return hook


def pcap_workload():
    """Forwarded UDP and TCP, ICMP echo, and drops of three kinds."""
    frames = []
    for i in range(40):
        frames.append(F.udp("198.18.0.%d" % (i + 1), 40000 + i, F.VIP, 5000, b"u%03d" % i,
                            dmac=EXT_MAC))
    for i in range(20):
        frames.append(F.tcp("198.18.1.%d" % (i + 1), 41000 + i, F.VIP, 80, "S", dmac=EXT_MAC))
    for i in range(5):
        frames.append(F.echo("198.18.2.1", F.VIP, seq=i, dmac=EXT_MAC))
    for i in range(7):
        frames.append(F.udp("198.18.3.1", 42000 + i, F.VIP, 5001, dmac=EXT_MAC))     # no_frontend
    for i in range(3):
        frames.append(F.udp("198.18.3.2", 43000 + i, F.VIP, 5000, ttl=1, dmac=EXT_MAC))  # ttl_expired
    for i in range(4):
        frames.append(F.tcp("198.18.3.3", 44000 + i, F.VIP, 80, "A", dmac=EXT_MAC))   # no_flow
    return frames


def test_one_list_three_outputs(pcap_lbd):
    """/metrics passes promtool, and lbctl stats, /metrics and telemetry carry
    the same counters with the same values, worker by worker, entry by entry
    of the lists; /healthz, /readyz; frontends and targets; log lines."""
    need("promtool", "prometheus")
    port = O.free_port()
    lb = pcap_lbd(workers=2, conf_hook=metrics_conf(port))
    frames = pcap_workload()
    lb.feed(ext=frames)
    lbd = lb.lbd

    # what the control thread owns reaches the exporters with its next
    # refresh (every 250 ms): wait for the one after the last frame
    def settled():
        st, body, hdr = O.http_get(port, "/metrics")
        assert st == 200, st
        p = O.parse_prom(body)
        return (st, body, hdr) if O.prom_value(p, "lbd_port_rx_packets_total", port="ext") == \
            len(frames) else None
    st, body, hdr = H.wait_for(settled, timeout=10, what="the view's port counters",
                               interval=0.1)
    assert hdr["Content-Type"].startswith("text/plain; version=0.0.4"), hdr
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr)
    prom = O.parse_prom(body)
    stats = lbd.stats()

    # workers: every entry of the worker list, every drop reason
    tel_total = O.telemetry(lbd.prefix, "/lbd/stats")
    wl = O.stats_list("WORKER")
    for w in stats["workers"]:
        wid = str(w["id"])
        tel = O.telemetry(lbd.prefix, "/lbd/stats,%s" % wid)
        for key, fam, labels, typ, unit in wl:
            if key in VOLATILE:
                # the longest pass of the last second moves between reads
                assert O.prom_value(prom, fam, worker=wid, **labels) >= 0 and \
                    w[key] >= 0 and tel[key] >= 0, (key, wid)
                continue
            assert O.prom_value(prom, fam, worker=wid, **labels) == w[key] == tel[key], \
                (key, wid)
        for reason, n in w["drops"].items():
            assert O.prom_value(prom, "lbd_worker_dropped_packets_total", worker=wid,
                                reason=reason) == n == tel["drops/" + reason], reason
        assert O.prom_value(prom, "lbd_worker_info", worker=wid, lcore=str(w["lcore"])) == 1
        assert set(tel) == {k for k, *_ in wl} | {"drops/" + d for d in w["drops"]}
    for key, *_ in wl:
        if key not in VOLATILE:
            assert tel_total[key] == stats["total"][key], key
    t = stats["total"]
    assert t["fwd"] == 60 and t["flows_created"] == 60 and t["icmp_echo_replies"] == 5
    assert H.drops_of(t) == {"no_frontend": 7, "ttl_expired": 3, "no_flow": 4}
    assert stats["workers"][0]["handoff_out"] > 0, "two workers on one queue hand off"

    # neighbours and control: the same list keys in all three
    for name, sec, cmd in (("NEIGH", "neighbours", "/lbd/neighbours"),
                           ("CTL", "control", "/lbd/control")):
        tel = O.telemetry(lbd.prefix, cmd)
        for key, fam, labels, typ, unit in O.stats_list(name):
            assert O.prom_value(prom, fam, **labels) == stats[sec][key] == tel[key], key
    assert stats["control"]["garp_sent"] >= 5
    # ports (ethdev): lbctl stats and /metrics
    for p in stats["ports"]:
        for key, fam, labels, typ, unit in O.stats_list("PORT"):
            assert O.prom_value(prom, fam, port=p["name"], **labels) == p[key], key
    ext = [p for p in stats["ports"] if p["name"] == "ext"][0]
    assert ext["rx_packets"] == len(frames) and ext["link_up"] == 1
    # the daemon list: /metrics and telemetry (seconds vs the key's unit)
    tel = O.telemetry(lbd.prefix, "/lbd/daemon")
    scale = {"ONE": 1, "NS": 1e9, "US": 1e6, "MS": 1e3}
    for key, fam, labels, typ, unit in O.stats_list("DAEMON"):
        v = O.prom_value(prom, fam, **labels)
        # (gauges that move between the two reads: an lbctl or telemetry
        # connection is an fd of the loop while it is open)
        if key not in ("view_age_ms", "event_loop_passes", "event_loop_callbacks",
                       "event_loop_busy_us", "event_loop_max_pass_us", "event_loop_fds",
                       "event_loop_timers"):
            assert abs(v * scale[unit] - tel[key]) <= 1e-6 * max(1, tel[key]), key
    assert O.prom_value(prom, "lbd_snapshot_generation") == 1
    assert O.prom_value(prom, "lbd_snapshots_published_total") == 1
    assert O.prom_value(prom, "lbd_ready") == 1
    assert O.prom_value(prom, "lbd_neighbours", state="permanent") == len(F.NEIGH_MACS)
    assert O.prom_value(prom, "lbd_control_view_age_seconds") < 5
    info = [k for k in prom if k[0] == "lbd_build_info"]
    assert len(info) == 1 and ("version", lbd.status["version"]) in info[0][1]

    # frontends and targets, from the published snapshot
    fes = lbd.json("frontends")["frontends"]
    assert O.prom_value(prom, "lbd_frontends") == len(fes)
    assert O.telemetry(lbd.prefix, "/lbd/frontends") == [f["name"] for f in fes]
    for f in fes:
        assert O.prom_value(prom, "lbd_frontend_info", frontend=f["name"], vip=f["vip"],
                            protocol=f["protocol"], vip_port=str(f["port"]),
                            method=f["method"], source="config") == 1
        assert O.prom_value(prom, "lbd_frontend_targets", frontend=f["name"]) == f["targets"]
        assert O.prom_value(prom, "lbd_frontend_targets_active", frontend=f["name"]) == \
            f["active"]
    web = O.telemetry(lbd.prefix, "/lbd/frontend,web")
    assert web["targets"] == 3 and len(web["target_list"]) == 3
    for tg in lbd.json("targets", "web")["targets"]:
        ep = "%s:%d" % (tg["address"], tg["port"])
        assert O.prom_value(prom, "lbd_target_state", frontend="web", target=ep,
                            state=tg["state"]) == 1
        assert O.prom_value(prom, "lbd_target_weight", frontend="web", target=ep) == tg["weight"]
        assert "%s %s %d" % (ep, tg["state"], tg["weight"]) in web["target_list"]

    # a change to one frontend: its rows are formatted again, the others'
    # are copied from the previous table (metrics.c); every row must still
    # say what lbctl says, after a drain and after the undrain
    victim = lbd.json("targets", "web")["targets"][0]
    vep = "%s:%d" % (victim["address"], victim["port"])
    for cmd, gen, state in (("drain", 2, "drained"), ("undrain", 3, "active")):
        lbd.json(cmd, vep, "web")

        def regen():
            p = O.parse_prom(O.http_get(port, "/metrics")[1])
            return p if O.prom_value(p, "lbd_snapshot_generation") == gen else None
        p = H.wait_for(regen, timeout=10, what="the view of generation %d" % gen, interval=0.1)
        assert O.prom_value(p, "lbd_target_state", frontend="web", target=vep,
                            state=state) == 1, cmd
        for f in fes:
            tgs = lbd.json("targets", f["name"])["targets"]
            assert O.prom_value(p, "lbd_frontend_targets", frontend=f["name"]) == len(tgs)
            for tg in tgs:
                ep = "%s:%d" % (tg["address"], tg["port"])
                assert O.prom_value(p, "lbd_target_state", frontend=f["name"], target=ep,
                                    state=tg["state"]) == 1, (cmd, f["name"], ep)
            states = [k for k in p if k[0] == "lbd_target_state" and
                      ("frontend", f["name"]) in k[1]]
            assert len(states) == len(tgs), (cmd, f["name"], states)

    # health, readiness, the rest of the HTTP surface
    assert O.http_get(port, "/healthz")[:2] == (200, "ok\n")
    assert O.http_get(port, "/readyz")[:2] == (200, "ready\n")
    assert O.http_get(port, "/nope")[0] == 404
    assert O.http_get(port, "/metrics", method="POST")[0] == 405
    st, _, _ = O.http_get(port, "/metrics", method="HEAD")
    assert st == 200
    tinfo = O.telemetry(lbd.prefix, "/lbd/info")
    assert tinfo["ready"] == 1 and tinfo["workers"] == 2 and tinfo["generation"] == 3

    # the daemon's own lines: logfmt, one per event
    lines = O.log_lines(lbd.stderr_text())
    msgs = [(lvl, msg) for lvl, msg, _ in lines]
    assert ("info", "metrics endpoint listening") in msgs
    assert ("info", "running") in msgs
    ports = [f for lvl, msg, f in lines if msg == "port started"]
    assert [p["port"] for p in ports] == ["ext", "int"] and ports[0]["driver"] == "net_pcap"
    lb.finish()


def test_metrics_endpoint_config(tmp_path):
    """A metrics port in use stops lbd at start with FILE:LINE and the reason."""
    port = O.free_port()
    blocker = O.socket.socket()
    blocker.setsockopt(O.socket.SOL_SOCKET, O.socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    try:
        lb = H.PcapLbd(tmp_path / "busy", conf_hook=metrics_conf(port))
        H.write_pcap(lb.dir / "ext-in.pcap", [])
        H.write_pcap(lb.dir / "int-in.pcap", [])
        with pytest.raises(H.LbdError) as e:
            lb.lbd.start(timeout=30)
        line = [l for l in lb.lbd.stderr_text().splitlines() if "metrics: cannot listen" in l]
        assert line and ":%d" % port in line[0] and "Address already in use" in line[0], \
            str(e.value)
        assert line[0].startswith("lbd: %s:" % lb.lbd.conf_path), line[0]
    finally:
        blocker.close()
        lb.lbd.kill()


@pytest.fixture
def ns_tools(live):
    """lo up in the live namespace (Prometheus and lbd's endpoint use it)."""
    H.run(["ip", "-n", live.net.ns, "link", "set", "lo", "up"])
    return live


def owners(lbd, clients):
    """{(client, port): owner worker} from lbctl trace (UDP to app)."""
    res = H.bulk_trace(lbd, clients, F.VIP, 5000, "udp")
    return {c: r["owner_worker"] for c, r in zip(clients, res)}


def picks(lbd, clients):
    """{(client, port): "TARGET:PORT"} of app from lbctl trace."""
    res = H.bulk_trace(lbd, clients, F.VIP, 5000, "udp")
    return {c: r["target"] for c, r in zip(clients, res)}


def test_prometheus_scrapes_per_worker_rates(ns_tools, tmp_path):
    """Debian's Prometheus scrapes lbd every second while two streams of UDP
    flows, one owned by each worker, run at different rates; its HTTP API
    reports per-worker, per-frontend and per-target rates that match what was
    sent, and the final counters equal the frames sent per worker, frontend
    and target exactly."""
    need("prometheus", "prometheus")
    live = ns_tools
    ns = live.net.ns
    conf = live.config(workers=2)
    conf["metrics"] = {"address": "127.0.0.1", "port": 9542}
    lbd = live.start(conf=conf, workers=2)

    # flows by owner: 16 clients each, from a larger pool
    pool = [("198.18.%d.%d" % (i // 200, i % 200 + 1), 30000 + i) for i in range(200)]
    own = owners(lbd, pool)
    by = {w: [c for c in pool if own[c] == w][:16] for w in (0, 1)}
    assert all(len(v) == 16 for v in by.values()), "trace gave owners %s" % set(own.values())
    rates = {0: 60.0, 1: 25.0}
    streams = {w: ([F.udp(c, p, F.VIP, 5000, b"w%d" % w, dmac=H.LIVE_LBD_MACS[0])
                    for c, p in by[w]], rates[w]) for w in (0, 1)}

    pdir = tmp_path / "prom"
    pdir.mkdir()
    (pdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: lbd\n    static_configs:\n"
        "      - targets: ['127.0.0.1:9542']\n")
    plog = open(pdir / "prometheus.log", "w")
    prom = subprocess.Popen(
        ["ip", "netns", "exec", ns, "prometheus", "--config.file=%s" % (pdir / "prometheus.yml"),
         "--storage.tsdb.path=%s" % (pdir / "data"), "--web.listen-address=127.0.0.1:9090",
         "--log.level=warn"], stdout=plog, stderr=subprocess.STDOUT)
    try:
        def api(path):
            st, body, _ = O.http_get(9090, path, netns=ns)
            assert st == 200, (path, st, body)
            return json.loads(body)["data"]

        def ready():
            try:
                return O.http_get(9090, "/-/ready", netns=ns)[0] == 200
            except OSError:
                return False
        H.wait_for(ready, timeout=30, what="Prometheus ready")
        H.wait_for(lambda: any(t["health"] == "up" for t in api("/api/v1/targets")["activeTargets"]),
                   timeout=15, what="Prometheus scraping lbd")

        pacer = O.Pacer(live.ext, streams, duration=12)
        pacer.start()
        pacer.join(30)
        assert not pacer.is_alive() and pacer.error is None, pacer.error
        t_end = time.time()
        # two more scrapes after the last frame
        time.sleep(3)

        from urllib.parse import quote

        def query(q, at):
            res = api("/api/v1/query?query=%s&time=%.3f" % (quote(q), at))["result"]
            return {r["metric"].get("worker", ""): float(r["value"][1]) for r in res}

        # rates over a window in the middle of the traffic
        mid = t_end - 5
        win = 4
        got = query('rate(lbd_worker_nat_packets_total{direction="forward"}[%ds])' % win, mid)
        for w in (0, 1):
            sent = pacer.count(w, mid - win, mid) / win
            assert abs(got[str(w)] - sent) <= 0.25 * sent + 3, \
                "worker %d: Prometheus rate %.1f/s, sent %.1f/s" % (w, got[str(w)], sent)
        assert got["0"] > got["1"] * 1.5, "the two workers' rates are not told apart: %s" % got
        rx = query('sum(rate(lbd_worker_rx_packets_total[%ds]))' % win, mid)[""]
        prx = query('rate(lbd_port_rx_packets_total{port="ext"}[%ds])' % win, mid)[""]
        sent = (pacer.count(0, mid - win, mid) + pacer.count(1, mid - win, mid)) / win
        assert abs(rx - sent) <= 0.25 * sent + 3 and abs(prx - sent) <= 0.25 * sent + 3, \
            (rx, prx, sent)
        # and exactly: the last scraped counters are the frames sent per owner
        final = query('lbd_worker_nat_packets_total{direction="forward"}', time.time())
        st = lbd.stats()
        for w in (0, 1):
            assert final[str(w)] == len(pacer.sent[w]) == st["workers"][w]["fwd"], \
                (w, final, len(pacer.sent[w]))
        assert H.drops_of(st["total"]) == {}
        news = query("lbd_worker_flows_created_total", time.time())
        assert news == {"0": 16.0, "1": 16.0}

        # per frontend and per target: the Pacer sends each stream's frames in
        # turn, so frame k of stream w belongs to flow by[w][k % 16], whose
        # target lbctl trace names
        pick = picks(lbd, by[0] + by[1])

        def qlab(q, at, label):
            res = api("/api/v1/query?query=%s&time=%.3f" % (quote(q), at))["result"]
            return {r["metric"].get(label, ""): float(r["value"][1]) for r in res}

        def sent_to(t_from=0, t_to=1e20):
            per = {}
            for w in (0, 1):
                for k, t in enumerate(pacer.sent[w]):
                    if t_from <= t < t_to:
                        tg = pick[by[w][k % 16]]
                        per[tg] = per.get(tg, 0) + 1
            return per
        fe = qlab('rate(lbd_frontend_packets_total{frontend="app",direction="in"}[%ds])' % win,
                  mid, "frontend")
        assert abs(fe["app"] - sent) <= 0.25 * sent + 3, (fe, sent)
        other = qlab('sum by (frontend) (lbd_frontend_packets_total)', time.time(), "frontend")
        assert {k: v for k, v in other.items() if v} == {"app": len(pacer.sent[0]) +
                                                          len(pacer.sent[1])}, other
        per_t = qlab('rate(lbd_target_packets_total{frontend="app",direction="in"}[%ds])' % win,
                     mid, "target")
        exp = sent_to(mid - win, mid)
        assert len(exp) >= 2, "the flows reach one target only: %s" % pick
        for tg, n in exp.items():
            assert abs(per_t[tg] - n / win) <= 0.25 * n / win + 3, \
                "target %s: Prometheus rate %.1f/s, sent %.1f/s" % (tg, per_t[tg], n / win)
        final_t = qlab('lbd_target_packets_total{frontend="app",direction="in"}', time.time(),
                       "target")
        assert {k: v for k, v in final_t.items() if v} == {k: float(v) for k, v in
                                                            sent_to().items()}
        created = qlab('lbd_target_flows_created_total{frontend="app"}', time.time(), "target")
        flows = {}
        for c in by[0] + by[1]:
            flows[pick[c]] = flows.get(pick[c], 0) + 1
        assert {k: v for k, v in created.items() if v} == {k: float(v) for k, v in flows.items()}
        assert qlab('lbd_frontend_flows{frontend="app"}', time.time(), "frontend") == \
            {"app": 32.0}
        assert qlab('sum(lbd_frontend_dropped_packets_total)', time.time(), "") == {"": 0.0}
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(15)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait(5)
        plog.close()
    lbd.stop()


NR_HUGEPAGES = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")


@pytest.fixture
def hugepages():
    """64 free 2 MiB hugepages (128 MiB for lbd): reserved for the test when
    the machine has none free, given back after it."""
    def free():
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
        return 0
    if subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode != 0:
        pytest.skip("hugetlbfs is not mounted on /dev/hugepages (mount -t hugetlbfs nodev /dev/hugepages)")
    before = None
    if free() < 64:
        try:
            before = int(NR_HUGEPAGES.read_text())
            NR_HUGEPAGES.write_text(str(before + 64 - free()))
        except OSError as e:
            pytest.skip("no free hugepages and cannot reserve any: %s" % e)
        if free() < 64:
            NR_HUGEPAGES.write_text(str(before))
            pytest.skip("the kernel gave no 64 free hugepages of 2 MiB")
    yield
    if before is not None:
        NR_HUGEPAGES.write_text(str(before))


def test_dumpcap_captures_external_port(hugepages, live, tmp_path):
    """dpdk-dumpcap attaches to the running lbd (rte_pdump) and captures the
    external port: every echo request sent and every reply lbd sent."""
    need("dpdk-dumpcap", "dpdk")
    conf = live.config()
    # a secondary process maps the primary's memory: hugepages, not --no-huge
    conf["eal"]["no_huge"] = False
    conf["eal"]["memory_mb"] = 128
    # the secondary must map lbd's memory at the same addresses: put it
    # where ASLR does not place the secondary's own libraries (and above
    # ASan's shadow)
    conf["eal"]["args"] = list(conf["eal"].get("args", [])) + ["--base-virtaddr=0x500000000000"]
    # and its hugepage files must stay linked (lbd unlinks them by default)
    conf["eal"]["args"].append("--huge-unlink=existing")
    lbd = live.start(conf=conf)
    out = tmp_path / "ext.pcapng"
    n = 12
    # -p: promiscuous mode is the primary's business (af_packet cannot set it
    # from a secondary process); timeout: never hang the suite
    # stdbuf: "Capturing on" (stdout) says dumpcap has attached
    cap = subprocess.Popen(["timeout", "-s", "INT", "-k", "5", "60", "stdbuf", "-oL", "dpdk-dumpcap",
                            "--file-prefix=%s" % lbd.prefix, "-i", "net_af_packet0", "-p",
                            "-w", str(out), "-c", str(2 * n)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(cap.stdout), daemon=True)
    reader.start()
    try:
        H.wait_for(lambda: any("Capturing on" in l for l in lines) or cap.poll() is not None,
                   timeout=30, what="dumpcap to attach")
        assert cap.poll() is None, "dumpcap exited: %s" % "".join(lines)
        for i in range(n):
            live.ext.send(F.echo("203.0.113.9", F.VIP, ident=0x5151, seq=i,
                                 dmac=H.LIVE_LBD_MACS[0]))
            live.ext.expect(F.is_icmp_to("203.0.113.9"), what="echo reply %d" % i)
        try:
            cap.wait(20)
        except subprocess.TimeoutExpired:
            cap.send_signal(signal.SIGINT)
            cap.wait(10)
        reader.join(5)
        assert cap.returncode == 0, "dumpcap exit %s: %s" % (cap.returncode, "".join(lines))
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait(5)
    from scapy.layers.inet import ICMP, IP
    from scapy.utils import rdpcap
    pkts = rdpcap(str(out))
    req = sorted(p[ICMP].seq for p in pkts if ICMP in p and p[ICMP].type == 8 and
                 p[IP].src == "203.0.113.9")
    rep = sorted(p[ICMP].seq for p in pkts if ICMP in p and p[ICMP].type == 0 and
                 p[IP].dst == "203.0.113.9" and p[IP].src == F.VIP)
    assert req == list(range(n)) and rep == list(range(n)), (req, rep, len(pkts))
    assert lbd.stats()["total"]["icmp_echo_replies"] == n
    lbd.stop()


def _tmux(*args, check=True):
    r = subprocess.run(["tmux"] + list(args), capture_output=True, text=True, timeout=15)
    if check and r.returncode != 0:
        raise AssertionError("tmux %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


def test_lbctl_top_in_a_terminal(live, tmp_path):
    """lbctl top in a tmux window while traffic runs: it redraws in place,
    shows the port and worker rates of the traffic, and q ends it with exit
    status 0; -n 2 off a terminal prints two frames and exits. (And without
    a metrics group lbd listens on no TCP port.)"""
    need("tmux", "tmux")
    lbd = live.start()
    # no metrics group: no endpoint (nothing listens in lbd's namespace)
    assert H.run(["ip", "netns", "exec", live.net.ns, "ss", "-Hltn"]).stdout.strip() == ""
    frames = [F.udp("198.18.9.%d" % (i + 1), 31000 + i, F.VIP, 5000, b"t", dmac=H.LIVE_LBD_MACS[0])
              for i in range(8)]
    pacer = O.Pacer(live.ext, {"a": (frames, 100.0)}, duration=7)
    sock_env = "LBD_SOCKET=%s" % lbd.sock
    sess = "lbdtop%d" % os.getpid()
    # a private tmux server (-L): nothing of the user's sessions is touched
    srv = ["-L", sess, "-f", "/dev/null"]
    _tmux(*srv, "new-session", "-d", "-s", sess, "-x", "150", "-y", "45",
          "env %s %s top -d 0.5; echo lbctl-exit=$?; sleep 30" % (sock_env, H.LBCTL))
    try:
        pacer.start()
        time.sleep(3)
        screen = _tmux(*srv, "capture-pane", "-p", "-t", sess)
        assert "lbd %s" % lbd.status["version"] in screen and "q: quit" in screen, screen
        rows = {l.split()[0]: l.split() for l in screen.splitlines() if l.split()}
        # PORT LINK RX-PKT/S ...: about 100 frames/s on ext
        ext = rows["ext"]
        assert ext[1] == "up", screen
        assert 60 <= float(ext[2]) <= 140, "ext rx pkt/s %s, sent 100/s:\n%s" % (ext[2], screen)
        assert float(rows["w0"][2]) >= 60, screen
        # per frontend: FRONTEND VIP:PORT/PROTO METHOD TARGETS ACTIVE PKT/S-IN ...
        # (the per-target rows below also start with the frontend's name)
        app = [l.split() for l in screen.splitlines()
               if l.split()[:2] == ["app", "%s:5000/udp" % F.VIP]]
        assert len(app) == 1, screen
        assert 60 <= float(app[0][5]) <= 140, "app pkt/s in %s, sent 100/s:\n%s" % (
            app[0][5], screen)
        assert "TARGET" in screen and "PKT/S OUT" in screen, screen
        # per target: app's rows share the 100 frames/s
        trows = [l.split() for l in screen.splitlines()
                 if l.split()[:1] == ["app"] and ":" in l.split()[1] and "/" not in l.split()[1]]
        assert trows and 60 <= sum(float(r[2]) for r in trows) <= 140, screen
        # a redraw, not a scroll: the header is still on the first line
        time.sleep(1)
        screen2 = _tmux(*srv, "capture-pane", "-p", "-t", sess)
        assert screen2.splitlines()[0].startswith("lbd "), screen2
        assert screen2.count("q: quit") == 1, screen2
        _tmux(*srv, "send-keys", "-t", sess, "q")
        H.wait_for(lambda: "lbctl-exit=" in _tmux(*srv, "capture-pane", "-p", "-t", sess),
                   timeout=10, what="lbctl top to quit on q")
        assert "lbctl-exit=0" in _tmux(*srv, "capture-pane", "-p", "-t", sess)
    finally:
        _tmux(*srv, "kill-server", check=False)
        pacer.join(15)
    # scripts: -n 2 off a terminal, two frames, no escape sequences
    r = subprocess.run([str(H.LBCTL), "-s", lbd.sock, "top", "-n", "2", "-d", "0.3"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("q: quit") == 2 and "\033" not in r.stdout, r.stdout
    lbd.stop()


def test_packet_triggered_logs_are_rate_limited(live):
    """Next hops that never answer ARP are logged one line each, as logfmt,
    at most 10 per 5 s; the first line after that says how many were left
    out."""
    targets = ["198.51.100.%d" % (101 + i) for i in range(12)]
    conf = live.config(int_neighbours=[], fes=[
        {"name": "dark", "vip": F.VIP, "protocol": "udp", "port": 7000,
         "targets": [{"address": a, "port": 7000} for a in targets]}])
    conf["arp"] = {"retries": 1, "retry_interval_ms": 50}
    lbd = live.start(conf=conf)

    def burst(base):
        for i in range(150):
            live.ext.send(F.udp("198.18.%d.%d" % (base + i // 200, i % 200 + 1), 20000 + i,
                                F.VIP, 7000, b"x", dmac=H.LIVE_LBD_MACS[0]))

    def unreachable():
        return [f for lvl, msg, f in O.log_lines(lbd.stderr_text())
                if msg == "neighbour unreachable: no ARP answer"]
    burst(10)
    H.wait_for(lambda: lbd.stats()["neighbours"]["resolutions_failed"] == 12, timeout=10,
               what="12 failed resolutions")
    time.sleep(0.3)
    lines = unreachable()
    assert len(lines) == 10, lines
    assert {f["address"] for f in lines} <= set(targets) and all(f["port"] == "int" for f in lines)
    assert all("suppressed" not in f for f in lines)
    # FAILED entries are forgotten after 5 s; new traffic fails again, in a new window
    time.sleep(5.5)
    burst(20)
    H.wait_for(lambda: len(unreachable()) > 10, timeout=10, what="a line in the next window")
    assert unreachable()[10].get("suppressed") == "2", unreachable()[10]
    lbd.stop()
