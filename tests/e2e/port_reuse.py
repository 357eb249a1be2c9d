#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7's client port reuse test, as the issue states it: short HTTP
connections (wrk, `Connection: close`, 32 concurrent, one client address)
through lbd to the nginx nodes of tests/e2e/topo.sh for SECONDS (default 45),
once through a FullNAT frontend (VIP:80 -> NodeIP:30080) and once through a
DNAT one (VIP:8080 -> NodeIP:8080, the nodes routing the client's network
via lbd's internal address). The client namespace's TCP counters (nstat) are
sampled every 5 s: connections opened per window, SYN retransmissions.

Passes when, for both, the last 5 s window's connection rate is within 20 %
of the first's and SYN retransmissions stay under 1 % of the connections.
It reports; run it under the shared lock (a timing run):

    flock /tmp/lbd-heavy.lock tests/e2e/port_reuse.py [SECONDS [SNAT_ADDRESSES]]

Needs root, wrk and the topology's tools; LBD_BUILD selects lbd's build
(default build/). test_port_reuse.py runs it in make test-e2e through
Setup, measure() and report()."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILD = Path(os.environ.get("LBD_BUILD", ROOT / "build"))
LBD = BUILD / "app/lbd/lbd"
LBCTL = BUILD / "app/lbctl/lbctl"
TOPO = HERE / "topo.sh"
VIP = "192.0.2.10"
WINDOW = 5

CONF = """
lbd = { socket = "%(sock)s"; control_lcore = 0; };
eal = { file_prefix = "lbd-portreuse"; no_huge = true; memory_mb = 512; args = [ "--no-pci" ]; };
ports = (
  { name = "ext"; device = "net_af_packet0,iface=lb-ext"; role = "external"; address = "192.0.2.1/24"; },
  { name = "int"; device = "net_af_packet1,iface=lb-int"; role = "internal"; address = "198.51.100.1/24"; }
);
workers = { lcores = [ 1 ]; flow_capacity = 262144; snat_addresses = [ %(snat)s ];%(extra)s };
frontends = (
  { name = "web"; vip = "%(vip)s"; protocol = "tcp"; port = 80; method = "fullnat"; targets = (
      { address = "198.51.100.11"; port = 30080; }, { address = "198.51.100.12"; port = 30080; },
      { address = "198.51.100.13"; port = 30080; } ); },
  { name = "pods"; vip = "%(vip)s"; protocol = "tcp"; port = 8080; method = "dnat"; targets = (
      { address = "198.51.100.11"; port = 8080; }, { address = "198.51.100.12"; port = 8080; },
      { address = "198.51.100.13"; port = 8080; } ); }
);
"""

COUNTERS = ("TcpActiveOpens", "TcpRetransSegs", "TcpExtTCPSynRetrans", "TcpAttemptFails",
            "TcpEstabResets")


def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def nstat():
    out = sh("ip", "netns", "exec", "lbd-client", "nstat", "-az", *COUNTERS).stdout
    vals = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in COUNTERS:
            vals[f[0]] = int(f[1])
    return vals


def node_time_wait():
    """TIME_WAIT sockets held by the three nodes together (ss -s)."""
    total = 0
    for n in (1, 2, 3):
        out = sh("ip", "netns", "exec", "lbd-node%d" % n, "ss", "-s", check=False).stdout
        m = re.search(r"timewait (\d+)", out)
        total += int(m.group(1)) if m else 0
    return total


def measure(port, secs, window=WINDOW, conns=32, probe=None):
    """wrk (conns connections) through VIP:port for secs; the client's TCP
    counters sampled every window seconds. Returns a dict: rates (connections/s
    per window), conns, synre (SYN retransmissions), retrans (all), wrk_rps,
    wrk_errors (from its summary), node_tw (the nodes' TIME_WAIT sockets at
    each window's end) and probes (probe()'s value at each window's end, when
    given: what lbd says, for a failure to explain itself)."""
    wrk = subprocess.Popen(["ip", "netns", "exec", "lbd-client", "wrk", "-t2", "-c%d" % conns,
                            "-d%ds" % secs, "-H", "Connection: close",
                            "http://%s:%d/" % (VIP, port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # windows that lie wholly inside wrk's run: from 1 s in to 1 s before its end
    start = time.monotonic()
    time.sleep(1)
    samples = [(time.monotonic(), nstat())]
    extra = [(node_time_wait(), probe() if probe else None)]
    while time.monotonic() + window < start + secs - 1:
        time.sleep(max(0, samples[-1][0] + window - time.monotonic()))
        samples.append((time.monotonic(), nstat()))
        extra.append((node_time_wait(), probe() if probe else None))
    out = wrk.communicate(timeout=secs + 60)[0]
    rates = [(b["TcpActiveOpens"] - a["TcpActiveOpens"]) / (t1 - t0)
             for (t0, a), (t1, b) in zip(samples, samples[1:])]
    first, last = samples[0][1], samples[-1][1]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errs = re.search(r"Socket errors:.*|Non-2xx.*", out)
    return {
        "rates": rates,
        "conns": last["TcpActiveOpens"] - first["TcpActiveOpens"],
        "synre": last.get("TcpExtTCPSynRetrans", 0) - first.get("TcpExtTCPSynRetrans", 0),
        "retrans": last["TcpRetransSegs"] - first["TcpRetransSegs"],
        "wrk_rps": m.group(1) if m else "?",
        "wrk_errors": errs.group(0) if errs else "",
        "node_tw": [e[0] for e in extra[1:]],
        "probes": [e[1] for e in extra],
    }


def report(label, r):
    """Prints what measure() found; returns the criterion of issue 7: the last
    window within 20 % of the first, SYN retransmissions under 1 %."""
    rates, conns, synre = r["rates"], r["conns"], r["synre"]
    print("%s: wrk %s requests/s; %d connections, SYN retransmissions %d (%.2f %%), "
          "all retransmitted segments %d" % (label, r["wrk_rps"], conns, synre,
                                             100.0 * synre / max(conns, 1), r["retrans"]))
    print("  connections/s per window: %s" % " ".join("%.0f" % x for x in rates))
    print("  the nodes' TIME_WAIT sockets at each window's end: %s" %
          " ".join(str(x) for x in r["node_tw"]))
    if r["wrk_errors"]:
        print("  wrk: " + r["wrk_errors"])
    ok = len(rates) >= 2 and rates[-1] >= 0.8 * rates[0] and synre < 0.01 * conns
    print("  %s: last window %.0f%% of the first" % ("PASS" if ok else "FAIL",
                                                       100.0 * rates[-1] / max(rates[0], 1)))
    return ok


class Setup:
    """The topology (tests/e2e/topo.sh, the nodes routing the client network
    via lbd for DNAT) and one lbd with CONF. Use as a context manager."""

    def __init__(self, nsnat=1, extra="", node_tw=True):
        self.nsnat = nsnat
        self.extra = extra
        self.node_tw = node_tw
        self.tmp = None
        self.lbd = None

    def __enter__(self):
        sh(str(TOPO), "down", check=False)
        r = sh(str(TOPO), "up", check=False)
        if r.returncode != 0:
            raise RuntimeError("topo.sh up failed:\n" + r.stdout + r.stderr)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="lbd-portreuse."))
        for n in (1, 2, 3):
            # DNAT: replies to the client go back through lbd
            sh("ip", "netns", "exec", "lbd-node%d" % n, "ip", "route", "replace", "192.0.2.0/24",
               "via", "198.51.100.1")
            if not self.node_tw:
                # the nodes keep no TIME_WAIT sockets (Linux holds them
                # 60 s, fixed): lbd's snat_time_wait is then the only one
                sh("ip", "netns", "exec", "lbd-node%d" % n, "sysctl", "-qw",
                   "net.ipv4.tcp_max_tw_buckets=0")
        conf = self.tmp / "lbd.conf"
        self.sock = self.tmp / "lbd.sock"
        snat = ", ".join('"198.51.100.%d"' % (2 + i) for i in range(self.nsnat))
        conf.write_text(CONF % {"sock": self.sock, "vip": VIP, "snat": snat,
                                "extra": " " + self.extra if self.extra else ""})
        log = open(self.tmp / "lbd.log", "w")
        self.lbd = subprocess.Popen(["ip", "netns", "exec", "lbd-lb", str(LBD), "-c", str(conf)],
                                    stdout=log, stderr=subprocess.STDOUT)
        log.close()
        for _ in range(150):
            if sh(str(LBCTL), "-s", str(self.sock), "status", check=False).returncode == 0:
                return
            if self.lbd.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("lbd did not start:\n" + (self.tmp / "lbd.log").read_text())

    def total(self):
        """The "total" object of lbctl stats' JSON."""
        js = sh(str(LBCTL), "-s", str(self.sock), "-o", "json", "stats").stdout
        res = json.loads(js)
        if isinstance(res, dict) and "result" in res:
            res = res["result"]
        return res["total"]

    def stats(self):
        """lbctl stats: (the "total" object of its JSON, its text)."""
        return self.total(), sh(str(LBCTL), "-s", str(self.sock), "stats").stdout

    def worker_cost(self, probes):
        """From measure()'s probes of total(): the workers' busy cycles per
        frame in each window (af_packet: mostly the kernel's work behind its
        send calls, the nodes' TCP stacks included)."""
        out = []
        for a, b in zip(probes, probes[1:]):
            frames = b["frames_busy"] - a["frames_busy"]
            out.append((b["cycles_busy"] - a["cycles_busy"]) / frames if frames else 0)
        return out

    def __exit__(self, *exc):
        if self.lbd is not None:
            self.lbd.terminate()
            try:
                self.lbd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.lbd.kill()
                self.lbd.wait(timeout=10)
        sh(str(TOPO), "down", check=False)
        return False


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 45
    nsnat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if os.geteuid() != 0:
        sys.exit("port_reuse.py: needs root")
    with Setup(nsnat) as su:
        ok = True
        for port, label in ((80, "FullNAT"), (8080, "DNAT")):
            ok = report(label, measure(port, secs)) and ok
        out = su.stats()[1]
        print("\n".join(line for line in out.splitlines()
                        if re.search(r"drop|snat|flows_|stateless|evicted|exhausted|time_wait",
                                     line)))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
