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
(default build/)."""

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
workers = { lcores = [ 1 ]; flow_capacity = 262144; snat_addresses = [ %(snat)s ]; };
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


def run(port, secs, label):
    wrk = subprocess.Popen(["ip", "netns", "exec", "lbd-client", "wrk", "-t2", "-c32",
                            "-d%ds" % secs, "-H", "Connection: close",
                            "http://%s:%d/" % (VIP, port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # windows that lie wholly inside wrk's run: from 1 s in to 1 s before its end
    start = time.monotonic()
    time.sleep(1)
    samples = [(time.monotonic(), nstat())]
    while time.monotonic() + WINDOW < start + secs - 1:
        time.sleep(max(0, samples[-1][0] + WINDOW - time.monotonic()))
        samples.append((time.monotonic(), nstat()))
    wrk.wait()
    out = wrk.stdout.read()
    rates = [(b["TcpActiveOpens"] - a["TcpActiveOpens"]) / (t1 - t0)
             for (t0, a), (t1, b) in zip(samples, samples[1:])]
    first, last = samples[0][1], samples[-1][1]
    conns = last["TcpActiveOpens"] - first["TcpActiveOpens"]
    synre = last.get("TcpExtTCPSynRetrans", 0) - first.get("TcpExtTCPSynRetrans", 0)
    retrans = last["TcpRetransSegs"] - first["TcpRetransSegs"]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print("%s: wrk %s requests/s; %d connections, SYN retransmissions %d (%.2f %%), "
          "all retransmitted segments %d" % (label, m.group(1) if m else "?", conns, synre,
                                             100.0 * synre / max(conns, 1), retrans))
    print("  connections/s per %d s window: %s" % (WINDOW, " ".join("%.0f" % r for r in rates)))
    errs = re.search(r"Socket errors:.*|Non-2xx.*", out)
    if errs:
        print("  wrk: " + errs.group(0))
    ok = len(rates) >= 2 and rates[-1] >= 0.8 * rates[0] and synre < 0.01 * conns
    print("  %s: last window %.0f%% of the first" % ("PASS" if ok else "FAIL",
                                                       100.0 * rates[-1] / max(rates[0], 1)))
    return ok


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 45
    nsnat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if os.geteuid() != 0:
        sys.exit("port_reuse.py: needs root")
    sh(str(TOPO), "down", check=False)
    r = sh(str(TOPO), "up", check=False)
    if r.returncode != 0:
        sys.exit("topo.sh up failed:\n" + r.stdout + r.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="lbd-portreuse."))
    lbd = None
    try:
        for n in (1, 2, 3):
            # DNAT: replies to the client go back through lbd
            sh("ip", "netns", "exec", "lbd-node%d" % n, "ip", "route", "replace", "192.0.2.0/24",
               "via", "198.51.100.1")
        conf = tmp / "lbd.conf"
        sock = tmp / "lbd.sock"
        snat = ", ".join('"198.51.100.%d"' % (2 + i) for i in range(nsnat))
        conf.write_text(CONF % {"sock": sock, "vip": VIP, "snat": snat})
        log = open(tmp / "lbd.log", "w")
        lbd = subprocess.Popen(["ip", "netns", "exec", "lbd-lb", str(LBD), "-c", str(conf)],
                               stdout=log, stderr=subprocess.STDOUT)
        for _ in range(150):
            if sh(str(LBCTL), "-s", str(sock), "status", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            sys.exit("lbd did not start:\n" + (tmp / "lbd.log").read_text())
        ok = True
        for port, label in ((80, "FullNAT"), (8080, "DNAT")):
            ok = run(port, secs, label) and ok
        st = sh(str(LBCTL), "-s", str(sock), "stats").stdout
        print("\n".join(line for line in st.splitlines()
                        if re.search(r"drop|snat|flows_|stateless|evicted|exhausted|time_wait",
                                     line)))
        return 0 if ok else 1
    finally:
        if lbd is not None:
            lbd.terminate()
            lbd.wait(timeout=20)
        sh(str(TOPO), "down", check=False)


if __name__ == "__main__":
    sys.exit(main())
