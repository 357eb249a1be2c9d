# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests: real kernel TCP clients and nginx "pods" behind
kube-proxy-style NodePort rules, with lbd in between on af_packet ports.

Topology: tests/e2e/topo.sh (drawing in tests/e2e/README.md). Each test gets
a fresh topology and a fresh lbd started with a private copy of
config/demo.conf whose socket points into the test's temp dir.

Run as root: /usr/bin/python3 -m pytest -v tests/e2e/test_e2e.py
LBD_BUILD selects the build directory (default: <repo>/build); LBD_E2E_CONF
the config to copy (default: <repo>/config/demo.conf).
"""

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import lbdconf

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUILD = Path(os.environ.get("LBD_BUILD", REPO / "build"))
LBD = BUILD / "app" / "lbd" / "lbd"
LBCTL = BUILD / "app" / "lbctl" / "lbctl"
DEMO_CONF = Path(os.environ.get("LBD_E2E_CONF", REPO / "config" / "demo.conf"))
TOPO = HERE / "topo.sh"
PYTHON = "/usr/bin/python3"

VIP = "192.0.2.10"
CLIENT_IP = "192.0.2.2"
SNAT_IP = "198.51.100.2"
NODEPORT = 30080
NODES = {"node1": "198.51.100.11", "node2": "198.51.100.12", "node3": "198.51.100.13"}
ADDR_NODE = {a: n for n, a in NODES.items()}
WEIGHTS = {"node1": 1, "node2": 2, "node3": 1}  # what config/demo.conf says


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def _why_not_runnable():
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, iptables)"
    for tool in ("ip", "ethtool", "iptables", "nginx", "curl"):
        if shutil.which(tool) is None:
            return "%s not installed (make deps)" % tool
    probe = "lbd-e2e-probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "network namespaces unavailable: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    if not DEMO_CONF.exists():
        return "%s does not exist" % DEMO_CONF
    for b in (LBD, LBCTL):
        if not os.access(b, os.X_OK):
            return "%s not built (make build, or set LBD_BUILD)" % b
    return None


@pytest.fixture
def topology():
    """A fresh topology per test (it takes well under a second). Nodes keep
    TIME_WAIT sockets and conntrack entries for the SNAT address:ports of the
    previous lbd, and a restarted lbd hands out the same ports again: its
    new connections would collide with them (retried SYNs, stalls), which
    is a property of restarting lbd, not of what each test checks."""
    why = _why_not_runnable()
    if why:
        pytest.skip(why)
    subprocess.run([str(TOPO), "down"], capture_output=True, timeout=60)
    r = subprocess.run([str(TOPO), "up"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        subprocess.run([str(TOPO), "down"], capture_output=True, timeout=60)
        pytest.fail("topo.sh up failed:\n%s%s" % (r.stdout, r.stderr))
    yield
    r = subprocess.run([str(TOPO), "down"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "topo.sh down failed:\n%s" % r.stderr


class Lbd:
    """One lbd process in lbd-lb and lbctl access to it."""

    def __init__(self, tmp):
        self.dir = tmp
        self.conf = tmp / "lbd.conf"
        self.sock = tmp / "lbd.sock"
        self.log = tmp / "lbd.log"
        self.proc = None

    def write_conf(self, text):
        self.conf.write_text(text)
        r = subprocess.run([str(LBD), "--check-config", str(self.conf)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, "config rejected: %s%s" % (r.stdout, r.stderr)

    def start(self):
        logf = open(self.log, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", "lbd-lb", str(LBD), "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            if self.sock.exists():
                try:
                    return self.ctl("status")
                except AssertionError as e:
                    last = e
            time.sleep(0.2)
        raise AssertionError("lbd did not answer on %s within 30 s (%s)\n%s"
                             % (self.sock, last, _tail(self.log)))

    def check_alive(self):
        rc = self.proc.poll()
        assert rc is None, "lbd exited with %s\n%s" % (rc, _tail(self.log))

    def stop(self):
        """SIGTERM; returns lbd's exit status (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None

    def ctl(self, *args, check=True):
        """lbctl -o json; returns the result object (unwrapped if lbctl prints
        the whole {"ok": .., "result": ..} response)."""
        r = subprocess.run([str(LBCTL), "-s", str(self.sock), "-o", "json", *args],
                           capture_output=True, text=True, timeout=15)
        if not check:
            return r
        assert r.returncode == 0, "lbctl %s failed (%d): %s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
        try:
            res = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("lbctl %s: not JSON: %r" % (" ".join(args), r.stdout))
        if isinstance(res, dict) and "ok" in res and "result" in res:
            assert res["ok"], "lbctl %s: %s" % (" ".join(args), res)
            res = res["result"]
        return res

    def targets(self, frontend="web"):
        return {t["address"]: t for t in self.ctl("targets", frontend)["targets"]}


class Client:
    """httpclient.py running inside lbd-client, one JSON line each way."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", "lbd-client", PYTHON, str(HERE / "httpclient.py"), VIP, "80"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def call(self, timeout=60, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        if not self.sel.select(timeout):
            raise AssertionError("client: no answer to %s within %d s" % (req, timeout))
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("client died: %s" % self.proc.stderr.read())
        return json.loads(line)

    def burst(self, n, concurrency=4):
        return self.call(timeout=150, cmd="burst", n=n, concurrency=concurrency)

    def open(self, n):
        return self.call(cmd="open", n=n)["conns"]

    def again(self):
        return self.call(cmd="again")["conns"]

    def close(self):
        try:
            self.call(timeout=10, cmd="close")
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, ValueError, AssertionError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def lbd(topology, tmp_path):
    """A running lbd with a private copy of config/demo.conf; the VIP is
    answering when the test starts."""
    d = Lbd(tmp_path)
    d.write_conf(lbdconf.set_socket(DEMO_CONF.read_text(), str(d.sock)))
    d.start()
    try:
        # The first request also warms ARP on both sides.
        warm = Client()
        try:
            deadline = time.monotonic() + 20
            while True:
                r = warm.burst(1, 1)
                if r["ok"] == 1:
                    break
                d.check_alive()
                assert time.monotonic() < deadline, "VIP never answered: %s\n%s" % (
                    r["first_errors"], _tail(d.log))
                time.sleep(0.5)
        finally:
            warm.close()
        yield d
        d.check_alive()
    finally:
        rc = d.stop()
        print("---- lbd log tail ----\n" + _tail(d.log))
    assert rc == 0, "lbd did not stop cleanly on SIGTERM (status %s)\n%s" % (rc, _tail(d.log))


@pytest.fixture
def client(topology):
    c = Client()
    yield c
    c.close()


def _node_of(target):
    return ADDR_NODE[target["address"]]


def expected_shares(d):
    tg = d.targets()
    weights = {_node_of(t): t["weight"] for t in tg.values()}
    assert weights == WEIGHTS, "config/demo.conf weights are not the documented ones"
    total = sum(weights.values())
    return {n: w / total for n, w in weights.items()}


def open_until(client, want, first=12, cap=48):
    """Opens keep-alive connections (first at once, then 4 at a time up to cap)
    until every node in want has at least want[node] of them."""
    conns = client.open(first)
    while True:
        bad = [c for c in conns if c["node"] is None]
        assert not bad, "keep-alive request failed: %s" % bad[:3]
        have = {n: sum(1 for c in conns if c["node"] == n) for n in NODES}
        if all(have[n] >= k for n, k in want.items()):
            return conns
        assert len(conns) < cap, "after %d connections still %s (want %s)" % (len(conns), have, want)
        conns += client.open(4)


def _diag(d):
    """What lbd says about itself, for failure messages."""
    try:
        t = d.ctl("stats")["total"]
        drops = {k: v for k, v in t["drops"].items() if v}
        t = {k: v for k, v in t.items() if k != "drops"}
        return "lbd stats: %s drops: %s" % (t, drops)
    except AssertionError as e:
        return "(lbctl stats failed: %s)" % e


def assert_burst_ok(d, r):
    assert r["errors"] == 0, "%d of %d requests failed, e.g. %s\n%s" % (
        r["errors"], r["ok"] + r["errors"], r["first_errors"], _diag(d))


def assert_same_nodes(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert b["error"] is None, "second request on connection %d (%s) failed: %s" % (
            a["id"], a["node"], b["error"])
        assert b["local"] == a["local"], "connection %d was silently reopened" % a["id"]
        assert b["node"] == a["node"], "connection %d moved from %s to %s" % (
            a["id"], a["node"], b["node"])


def counters_balance(d, timeout=5.0):
    """total rx == tx + to_control + sum(drops), polled until the data path
    is quiet (the counters are read per worker, not atomically)."""
    deadline = time.monotonic() + timeout
    while True:
        t = d.ctl("stats")["total"]
        rhs = t["tx"] + t["to_control"] + sum(t["drops"].values())
        if t["rx"] == rhs and t["rx"] > 0:
            return t
        if time.monotonic() > deadline:
            raise AssertionError("counters do not add up: rx %d != tx %d + to_control %d + drops %d %s"
                                 % (t["rx"], t["tx"], t["to_control"], sum(t["drops"].values()),
                                    {k: v for k, v in t["drops"].items() if v}))
        time.sleep(0.5)


def test_weighted_spread(lbd, client):
    """1,000 fresh connections all succeed and follow the weights (+-20 %)."""
    shares = expected_shares(lbd)
    n = 1000
    t0 = time.monotonic()
    r = client.burst(n, concurrency=4)
    print("%d requests in %.1f s: %s" % (n, time.monotonic() - t0, r["nodes"]))
    assert_burst_ok(lbd, r)
    assert r["ok"] == n
    for node, share in shares.items():
        got = r["nodes"].get(node, 0)
        lo, hi = 0.8 * share * n, 1.2 * share * n
        assert lo <= got <= hi, "%s served %d of %d, expected %.0f..%.0f (%s)" % (
            node, got, n, lo, hi, r["nodes"])


def test_reload_keeps_flows(lbd, client):
    """Removing a target on reload keeps its established connections; new
    ones never reach it; the counters add up."""
    gen0 = lbd.ctl("status")["generation"]
    first = open_until(client, {"node2": 2, "node1": 1, "node3": 1})

    lbd.write_conf(lbdconf.remove_target(lbd.conf.read_text(), "web", NODES["node2"]))
    res = lbd.ctl("reload")
    assert res["generation"] > gen0
    assert lbd.ctl("status")["generation"] == res["generation"]
    assert NODES["node2"] not in lbd.targets(), "node2 still a target after reload"

    assert_same_nodes(first, client.again())

    r = client.burst(200, concurrency=4)
    assert_burst_ok(lbd, r)
    assert r["nodes"].get("node2", 0) == 0, "new connections reached the removed node2: %s" % r["nodes"]
    assert set(r["nodes"]) == {"node1", "node3"}

    # Old connections still fine after the new ones, then traffic stops.
    assert_same_nodes(first, client.again())
    client.close()
    time.sleep(1)
    print("counters:", counters_balance(lbd))


def test_drain(lbd, client):
    """A drained target takes no new connections but keeps its old ones;
    undrain brings it back."""
    target = "%s:%d" % (NODES["node3"], NODEPORT)
    first = open_until(client, {"node3": 2})

    res = lbd.ctl("drain", target)
    assert "web" in res["frontends"]
    assert lbd.targets()[NODES["node3"]]["drained"] is True

    r = client.burst(200, concurrency=4)
    assert_burst_ok(lbd, r)
    assert r["nodes"].get("node3", 0) == 0, "drained node3 got new connections: %s" % r["nodes"]
    assert_same_nodes(first, client.again())

    lbd.ctl("undrain", target)
    assert lbd.targets()[NODES["node3"]]["drained"] is False
    r = client.burst(200, concurrency=4)
    assert_burst_ok(lbd, r)
    # expected 50 of 200 (share 0.25); 25 is about 4 standard deviations off
    assert r["nodes"].get("node3", 0) >= 25, "node3 not back after undrain: %s" % r["nodes"]
    assert_same_nodes(first, client.again())


def test_addresses(lbd, client):
    """The client talks to VIP:80 only; the nodes see the SNAT address; the
    flow table agrees with what both ends saw."""
    # First, while the flow table holds only these and the warm-up's flows
    # (lbctl flows lists 20 by default).
    conns = client.open(4)
    flows = lbd.ctl("flows")
    by_client = {f["client"]: f for f in flows["sample"]}
    for c in conns:
        assert c["error"] is None, c
        assert c["peer"] == "%s:80" % VIP
        assert c["local"].split(":")[0] == CLIENT_IP
        assert c["client_addr"] == SNAT_IP
        f = by_client.get(c["local"])
        assert f is not None, "no flow for %s in %s" % (c["local"], flows)
        assert f["vip"] == "%s:80" % VIP
        assert f["protocol"] == "tcp"
        assert f["target"] == "%s:%d" % (NODES[c["node"]], NODEPORT)
        assert f["snat"] == "%s:%s" % (SNAT_IP, c["client_port"])

    r = client.burst(50, concurrency=4)
    assert_burst_ok(lbd, r)
    assert r["peers"] == ["%s:80" % VIP]
    assert r["client_addrs"] == [SNAT_IP]
