# SPDX-License-Identifier: BSD-3-Clause
"""Issue 7's client port reuse test in `make test-e2e` (port_reuse.py does
the work; run by hand it takes SECONDS and SNAT_ADDRESSES).

- test_port_reuse: wrk (`Connection: close`, 32 concurrent, one client
  address) through the FullNAT frontend and then the DNAT one, 43 s each,
  with six SNAT addresses (capacity ~19k connections/s, above what wrk and
  the af_packet worker reach here): the connection rate of the last 10 s
  window within 20 % of the first's, SYN retransmissions under 1 % of
  connections. The rate itself depends on the machine (wrk and lbd's
  af_packet worker share its cores), so windows are compared with each
  other, never with a figure; 10 s windows, because single 5 s windows of
  a CI run varied by up to 23 % with no retransmission behind it (13,238
  then 11,448 ... 10,230/s) while the bug this catches takes the rate to
  under 10 % of the first window. Each window's report includes the
  nodes' TIME_WAIT sockets and the worker's cycles per frame, so a failure
  says whether the targets' kernels or lbd grew slower.
- test_above_capacity: one SNAT address, SNAT_PORTS ports and a
  snat_time_wait of TW seconds: the TIME_WAIT rule allows
  SNAT_PORTS / TW connections/s per target, a few hundred for the three
  targets, far below what wrk offers. Driven for 18 s (six periods), the
  last 3 s window keeps at least 60 % of that capacity, and the SYNs lbd
  refused are counted (snat_exhausted, never an early reuse).

Needs root and wrk; skips with the reason otherwise. Runs under the shared
lock with the rest of make test-e2e (a timing run)."""

import os
import shutil
import subprocess

import pytest

import port_reuse

SNAT_PORTS = (20000, 20511)     # 512 ports, all of them worker 0's
TW = 3                          # workers.snat_time_wait, seconds
TARGETS = 3


def _why_not_runnable():
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, iptables)"
    for tool in ("wrk", "nstat", "ip", "nginx", "ethtool", "iptables"):
        if shutil.which(tool) is None:
            return "%s not installed (make deps)" % tool
    for b in (port_reuse.LBD, port_reuse.LBCTL):
        if not os.access(b, os.X_OK):
            return "%s not built (make build, or set LBD_BUILD)" % b
    r = subprocess.run(["ip", "netns", "add", "lbd-portreuse-probe"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return "network namespaces unavailable: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", "lbd-portreuse-probe"], capture_output=True)
    return None


@pytest.fixture(autouse=True)
def runnable():
    why = _why_not_runnable()
    if why:
        pytest.skip(why)


def test_port_reuse(capsys):
    with port_reuse.Setup(nsnat=6) as su:
        results = {}
        for port, label in ((80, "FullNAT"), (8080, "DNAT")):
            r = port_reuse.measure(port, 43, window=10, probe=su.total)
            r["cost"] = su.worker_cost(r["probes"])
            results[label] = (port_reuse.report(label, r), r)
    with capsys.disabled():
        for label, (ok, r) in results.items():
            print("\n%s: connections/s per 10 s window %s; SYN retransmissions %d of %d "
                  "connections (%.2f %%)" % (label, " ".join("%.0f" % x for x in r["rates"]),
                                            r["synre"], r["conns"],
                                            100.0 * r["synre"] / max(r["conns"], 1)))
            print("  worker cycles per frame per window: %s; the nodes' TIME_WAIT sockets: %s"
                  % (" ".join("%.0f" % x for x in r["cost"]),
                     " ".join(str(x) for x in r["node_tw"])))
    for label, (ok, r) in results.items():
        rates = r["rates"]
        assert len(rates) >= 4, "%s: too few windows: %s" % (label, rates)
        assert rates[0] > 0, "%s: no connections in the first window" % label
        assert rates[-1] >= 0.8 * rates[0], \
            "%s: the last window's rate %.0f/s is below 80 %% of the first's %.0f/s (%s)" % (
                label, rates[-1], rates[0], rates)
        assert r["synre"] < 0.01 * r["conns"], \
            "%s: %d SYN retransmissions for %d connections" % (label, r["synre"], r["conns"])


def test_above_capacity(capsys):
    # tcp_fin below snat_time_wait: a closed flow holds its SNAT endpoint
    # for tcp_fin, and the rule's capacity applies only when that is shorter
    extra = ("snat_ports = [%d, %d]; snat_time_wait = %d; timeouts = { tcp_fin = 1; };"
             % (SNAT_PORTS[0], SNAT_PORTS[1], TW))
    nports = SNAT_PORTS[1] - SNAT_PORTS[0] + 1
    capacity = nports / TW * TARGETS
    with port_reuse.Setup(nsnat=1, extra=extra, node_tw=False) as su:
        r = port_reuse.measure(80, 20, window=3)
        total, text = su.stats()
    refused = total["drops"].get("snat_exhausted", 0)
    rates = r["rates"]
    with capsys.disabled():
        print("\nabove capacity: %d SNAT ports, snat_time_wait %d s, %d targets: capacity "
              "%.0f connections/s" % (nports, TW, TARGETS, capacity))
        print("  connections/s per 3 s window: %s (last %.0f %% of capacity)" % (
            " ".join("%.0f" % x for x in rates), 100.0 * rates[-1] / capacity))
        print("  %d connections, SYN retransmissions %d; lbd: snat_exhausted %d, "
              "snat_time_wait_skips %s, flows_created %s" % (
                  r["conns"], r["synre"], refused, total.get("snat_time_wait_skips"),
                  total.get("flows_created")))
    assert len(rates) >= 5, "too few windows: %s" % rates
    # wrk offers far more than the rule allows: lbd refuses SYNs, and counts them
    assert r["synre"] > 0 and refused > 0, \
        "not above capacity? %d SYN retransmissions, snat_exhausted %d" % (r["synre"], refused)
    assert total.get("snat_time_wait_forgotten", 0) == 0
    # the rate settles at about the capacity instead of collapsing
    assert rates[-1] >= 0.6 * capacity, \
        "last window %.0f connections/s, below 60 %% of the capacity %.0f/s (%s)" % (
            rates[-1], capacity, rates)
