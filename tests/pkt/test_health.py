# SPDX-License-Identifier: BSD-3-Clause
"""Health checks, live: lbd in a namespace checks real HTTP servers and
steers real kernel TCP connections away from the targets that fail.

   client ns                 lbd ns                               nodes ns
   cl0 192.0.2.2 ── veth ── lx0 [lbd] lx1 ── veth ───────────── nd0 198.51.100.11-13
                                       lm0 198.51.100.250 ── veth ── nm0 (route to .250)
                                       (the namespace's own stack: health probes)

lbd forwards on af_packet over lx0/lx1; its probes leave through the
namespace's kernel stack on lm0 (until lbd has a kernel interface of its
own). The nodes run hcserver.py: an app on :8080 ("nodeN") and a
kube-proxy-like /healthz on :10256 per node, switched per node between ok,
503, hang and dead. Detection and recovery times are measured and printed.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# pktharness builds frames with scapy (not needed here, but imported)
pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktharness as H         # noqa: E402

HERE = Path(__file__).resolve().parent
NODES = ["198.51.100.11", "198.51.100.12", "198.51.100.13"]
VIP = "192.0.2.10"
CLIENT = "192.0.2.2"
PROBE_SRC = "198.51.100.250"

INTERVAL, TIMEOUT, RISE, FALL = 300, 200, 2, 3
DETECT_BOUND = FALL * INTERVAL + TIMEOUT        # ms, what lbd promises
RECOVER_BOUND = RISE * INTERVAL                  # ms, plus the probes' latency
# what lbctl polling, publishing the snapshot and a sanitizer build add on a
# shared two-core machine
SLACK = 400


def ns_run(ns, *cmd):
    return H.run(["ip", "netns", "exec", ns] + list(cmd))


class HealthNet:
    """Three namespaces lbdpkt-<pid>-<n>-{lb,cl,nd}, wired as in the module
    docstring, and hcserver.py running in nd."""

    def __init__(self, tmp, bulk_addrs=(), bulk_ports=(), mgmt=True):
        self.mgmt = mgmt
        base = "lbdpkt-%d-%d" % (os.getpid(), next(H._seq))
        self.lb, self.cl, self.nd = base + "-lb", base + "-cl", base + "-nd"
        self.state = Path(tmp) / "nodes"
        self.state.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.made = []
        try:
            self._build(bulk_addrs, bulk_ports)
        except Exception:
            self.destroy()
            raise

    def _build(self, bulk_addrs, bulk_ports):
        for ns in (self.lb, self.cl, self.nd):
            H.run(["ip", "netns", "add", ns])
            self.made.append(ns)
            ns_run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1")
            H.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        # lbd's namespace: answer ARP only for addresses on the interface
        # asked, never route (the data ports belong to lbd)
        ns_run(self.lb, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1",
               "net.ipv4.ip_forward=0")
        pairs = [
            (self.lb, "lx0", H.LIVE_LBD_MACS[0], self.cl, "cl0", "02:00:00:00:02:fe"),
            (self.lb, "lx1", H.LIVE_LBD_MACS[1], self.nd, "nd0", "02:00:00:00:64:fe"),
        ]
        if self.mgmt:
            pairs.append((self.lb, "lm0", "02:6c:62:00:00:03", self.nd, "nm0",
                          "02:00:00:00:64:fd"))
        for nsa, a, maca, nsb, b, macb in pairs:
            H.run(["ip", "link", "add", a, "netns", nsa, "address", maca, "type", "veth",
                   "peer", "name", b, "netns", nsb, "address", macb])
            for ns, dev in ((nsa, a), (nsb, b)):
                ns_run(ns, "ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off",
                       "gso", "off", "gro", "off")
                H.run(["ip", "-n", ns, "link", "set", dev, "up"])
        H.run(["ip", "-n", self.cl, "addr", "add", CLIENT + "/24", "dev", "cl0"])
        for a in list(NODES) + list(bulk_addrs):
            H.run(["ip", "-n", self.nd, "addr", "add", a + "/24", "dev", "nd0"])
        if self.mgmt:
            H.run(["ip", "-n", self.lb, "addr", "add", PROBE_SRC + "/24", "dev", "lm0"])
            H.run(["ip", "-n", self.nd, "route", "add", PROBE_SRC + "/32", "dev", "nm0"])
        for n in NODES:
            self.set_mode(n, "ok")
        cmd = ["ip", "netns", "exec", self.nd, sys.executable, str(HERE / "hcserver.py"),
               str(self.state), ",".join(NODES)]
        if bulk_ports:
            cmd += ["--bulk", ",".join(str(p) for p in bulk_ports)]
        self.log = open(self.state / "hcserver.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", "hcserver.py did not start: %s" % (
            (self.state / "hcserver.log").read_text())

    def set_mode(self, addr, mode):
        """Switches a node; returns the wall-clock time the change took
        effect (for "dead": when its listeners were closed)."""
        applied = self.state / (addr + ".applied")
        if mode == "dead" and applied.exists():
            applied.unlink()
        tmp = self.state / (addr + ".tmp")
        tmp.write_text(mode)
        os.replace(tmp, self.state / addr)
        if mode != "dead":
            return time.time()     # hcserver reads the mode on every request
        H.wait_for(applied.exists, timeout=5, what="hcserver to stop node %s" % addr)
        return float(applied.read_text())

    def ports(self, kernel=None):
        ports = [
            {"name": "ext", "device": "net_af_packet0,iface=lx0", "role": "external",
             "address": "192.0.2.1/24"},
            {"name": "int", "device": "net_af_packet1,iface=lx1", "role": "internal",
             "address": "198.51.100.1/24"},
        ]
        if kernel is not None:
            ports[1].update(kernel)
        return ports

    def destroy(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.log.close()
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


class Client:
    """Real TCP connections from the client namespace to the VIP."""

    def __init__(self, ns):
        self.ns = ns

    def connect(self):
        with H.in_netns(self.ns):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect((VIP, 80))
        return s

    @staticmethod
    def get(s):
        """One request on s; returns the node that answered."""
        s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
                     [0].split(b":")[1])
        while len(body) < length:
            body += s.recv(4096)
        return body.decode().strip()

    def once(self):
        """A request on a fresh connection: the node, or the error."""
        try:
            s = self.connect()
            try:
                return self.get(s)
            finally:
                s.close()
        except OSError as e:
            return "error: %s" % e

    def batch(self, n):
        got = {}
        for _ in range(n):
            r = self.once()
            got[r] = got.get(r, 0) + 1
        return got


def lbd_conf(net, fes, health=None):
    conf = H.base_config(net.ports(), 1, fes)
    if health is not None:
        conf["health"] = health
    return conf


def web_frontend():
    return {
        "name": "web", "vip": VIP, "port": 80, "method": "fullnat", "maglev_size": 251,
        "targets": [{"address": n, "port": 8080} for n in NODES],
        "health": {"kind": "http", "port": 10256, "path": "/healthz", "body": "kube-proxy",
                   "interval_ms": INTERVAL, "timeout_ms": TIMEOUT, "rise": RISE,
                   "fall": FALL, "jitter_pct": 10},
    }


def target_states(lbd):
    """The targets of web as lbctl shows them; over a control connection of
    our own when the lbd has one (polling lbctl would measure its start-up)."""
    ctl = getattr(lbd, "hc_ctl", None)
    if ctl is None:
        ctl = lbd.hc_ctl = H.Ctl(lbd.sock)
    r = ctl.call_many([{"cmd": "targets", "frontend": "web"}])[0]
    assert r["ok"], r
    return {x["address"]: x for x in r["result"]["targets"]}


def wait_state(lbd, addr, state, timeout, since=None):
    """Polls lbctl targets until addr's state is state. Returns (ms from
    since (a time.time()) to lbd's verdict, as lbd dates its last change;
    ms until lbctl showed the new state, polling and publishing included;
    the target)."""
    since = time.time() if since is None else since
    while True:
        st = target_states(lbd)[addr]
        if st["state"] == state:
            seen = (time.time() - since) * 1000
            return (st["health"]["last_change"] - since) * 1000, seen, st
        if time.time() - since > timeout:
            raise AssertionError("%s did not become %s within %.1fs: %s" % (
                addr, state, timeout, json.dumps(st)))
        time.sleep(0.02)


def report(what, lbd_ms, seen_ms, bound):
    print("%s: lbd's verdict after %.0f ms (bound %d ms); lbctl showed it after %.0f ms" % (
        what, lbd_ms, bound, seen_ms))
    # lbd times probes in whole milliseconds on a loaded machine: a little
    # leeway on its own bound; polling lbctl and publishing get more
    assert lbd_ms <= bound + 50, "%s: %.0f ms, bound %d ms" % (what, lbd_ms, bound)
    assert seen_ms <= bound + SLACK, "%s: shown after %.0f ms" % (what, seen_ms)


@pytest.fixture
def hnet(tmp_path):
    why = H.netns_problem()
    if why:
        pytest.skip("health tests: " + why)
    made = []

    def make(**kw):
        n = HealthNet(tmp_path, **kw)
        made.append(n)
        return n
    lbds = []
    yield make, lbds
    for l in lbds:
        l.kill()
    for n in made:
        n.destroy()
    reps = [(l.stderr_path, l.sanitizer_report()) for l in lbds]
    reps = [r for r in reps if r[1]]
    if reps:
        pytest.fail("sanitizer report in lbd's output:\n%s" % reps, pytrace=False)


def start_lbd(tmp_path, net, lbds, conf):
    lbd = H.Lbd(tmp_path / ("lbd%d" % len(lbds)), conf, netns=net.lb)
    lbds.append(lbd)
    return lbd.start()


def test_health_checks_steer_new_connections(hnet, tmp_path):
    make, lbds = hnet
    net = make()
    lbd = start_lbd(tmp_path, net, lbds, lbd_conf(net, [web_frontend()]))
    cl = Client(net.cl)
    H.wait_for(lambda: lbd.json("health")["up"] == 3, timeout=10, what="3 checks up")
    hc = lbd.json("health")
    assert [c["check"] for c in hc["checks"]] == [
        "http %s:10256/healthz" % n for n in NODES]
    assert all(c["last_result"] == "ok" and c["reason"] == "HTTP 200, localEndpoints 1"
               for c in hc["checks"]), hc
    got = cl.batch(30)
    assert set(got) == {"node1", "node2", "node3"}, got

    # A keep-alive connection to node2, opened while it is healthy.
    keep = None
    for _ in range(50):
        s = cl.connect()
        if cl.get(s) == "node2":
            keep = s
            break
        s.close()
    assert keep is not None, "no connection reached node2"

    # 1. node2's healthz answers 503: DOWN within fall x interval + timeout
    t = net.set_mode(NODES[1], "503")
    lbd_ms, seen_ms, st = wait_state(lbd, NODES[1], "unhealthy", 5, t)
    print()
    report("detection (healthz 503)", lbd_ms, seen_ms, DETECT_BOUND)
    assert st["health"]["state"] == "down"
    assert st["health"]["reason"] == "HTTP 503, localEndpoints 0"
    assert "unhealthy: HTTP 503, localEndpoints 0" in st["reasons"]
    assert st["slots"] == 0
    # no new connection goes there, every one succeeds, the old one is kept
    got = cl.batch(60)
    assert set(got) == {"node1", "node3"}, got
    assert cl.get(keep) == "node2"

    # 2. node2 healthy again: back within rise x interval
    t = net.set_mode(NODES[1], "ok")
    lbd_ms, seen_ms, st = wait_state(lbd, NODES[1], "active", 5, t)
    report("recovery", lbd_ms, seen_ms, RECOVER_BOUND)
    got = cl.batch(60)
    assert set(got) == {"node1", "node2", "node3"}, got
    assert cl.get(keep) == "node2"
    keep.close()

    # 3. node3's healthz stops answering: the probes time out
    t = net.set_mode(NODES[2], "hang")
    lbd_ms, seen_ms, st = wait_state(lbd, NODES[2], "unhealthy", 5, t)
    report("detection (healthz hangs)", lbd_ms, seen_ms, DETECT_BOUND)
    assert st["health"]["reason"] == "timeout after %d ms" % TIMEOUT
    got = cl.batch(60)
    assert set(got) == {"node1", "node2"}, got
    net.set_mode(NODES[2], "ok")
    wait_state(lbd, NODES[2], "active", 5)

    # 4. node1's servers die (connections refused): zero failed requests
    # once it is out
    t = net.set_mode(NODES[0], "dead")
    lbd_ms, seen_ms, st = wait_state(lbd, NODES[0], "unhealthy", 5, t)
    report("detection (servers killed)", lbd_ms, seen_ms, DETECT_BOUND)
    assert st["health"]["reason"] == "connect: Connection refused"
    got = cl.batch(60)
    assert set(got) == {"node2", "node3"}, got

    # 5. every target unhealthy: fail open, all of them take connections
    net.set_mode(NODES[0], "503")
    net.set_mode(NODES[1], "503")
    net.set_mode(NODES[2], "503")
    H.wait_for(lambda: lbd.json("health")["down"] == 3, timeout=5, what="3 checks down")
    fe = H.wait_for(lambda: [f for f in lbd.json("frontends")["frontends"]
                             if f["name"] == "web" and f["fail_open"]], timeout=5,
                    what="web failing open")[0]
    assert fe["active"] == 3
    st = target_states(lbd)
    assert all(x["state"] == "active" and x["slots"] > 0 for x in st.values()), st
    assert all(any("failing open" in r for r in x["reasons"]) for x in st.values()), st
    got = cl.batch(60)
    assert set(got) == {"node1", "node2", "node3"}, got
    for n in NODES:
        net.set_mode(n, "ok")
    H.wait_for(lambda: not [f for f in lbd.json("frontends")["frontends"] if f["fail_open"]],
               timeout=5, what="web no longer failing open")

    # One log line per change, and fail open said out loud.
    lbd.hc_ctl.close()
    log = lbd.stderr_text()
    # (node2 went down twice: in 1. and in 5.)
    assert log.count("health: http 198.51.100.12:10256/healthz is down (HTTP 503, "
                     "localEndpoints 0; 3 failures in a row): no new connections to web "
                     "198.51.100.12:8080") == 2, log
    assert "health: http 198.51.100.12:10256/healthz is up again (HTTP 200, localEndpoints 1; " \
        "2 successes in a row)" in log
    assert "health: frontend web: all 3 targets are unhealthy: failing open" in log
    assert "health: frontend web: no longer failing open" in log
    lbd.stop()


def test_health_follows_reload_and_drain(hnet, tmp_path):
    """Checks follow the config: a reload that removes a target removes its
    check and mark; turning checks off clears every mark; drains and health
    marks stay apart."""
    make, lbds = hnet
    net = make()
    conf = lbd_conf(net, [web_frontend()])
    lbd = start_lbd(tmp_path, net, lbds, conf)
    H.wait_for(lambda: lbd.json("health")["up"] == 3, timeout=10, what="3 checks up")
    net.set_mode(NODES[2], "503")
    wait_state(lbd, NODES[2], "unhealthy", 5)
    # a drain of the unhealthy target is shown first and survives health
    lbd.lbctl("drain", "%s:8080" % NODES[2], "web")
    st = target_states(lbd)[NODES[2]]
    assert st["state"] == "drained" and len(st["reasons"]) == 2, st
    net.set_mode(NODES[2], "ok")
    H.wait_for(lambda: target_states(lbd)[NODES[2]]["health"]["state"] == "up", timeout=5,
               what="node3 up")
    st = target_states(lbd)[NODES[2]]
    assert st["state"] == "drained" and st["reasons"] == [
        "drained (lbctl drain, this frontend)"], st
    lbd.lbctl("undrain", "%s:8080" % NODES[2], "web")
    # reload without node3: its check goes
    net.set_mode(NODES[1], "503")
    wait_state(lbd, NODES[1], "unhealthy", 5)
    conf["frontends"][0]["targets"] = conf["frontends"][0]["targets"][:2]
    lbd.write_config(conf)
    lbd.lbctl("reload")
    hc = lbd.json("health")
    assert [c["address"] for c in hc["checks"]] == NODES[:2], hc
    assert hc["down"] == 1
    # the kept check kept its state through the reload
    assert target_states(lbd)[NODES[1]]["state"] == "unhealthy"
    # checks off: no check, no mark left behind
    del conf["frontends"][0]["health"]
    lbd.write_config(conf)
    lbd.lbctl("reload")
    assert lbd.json("health")["checks"] == []
    H.wait_for(lambda: target_states(lbd)[NODES[1]]["state"] == "active", timeout=5,
               what="node2's mark removed")
    assert target_states(lbd)[NODES[1]]["health"] is None
    lbd.hc_ctl.close()
    lbd.stop()


def test_health_many_targets_event_loop(hnet, tmp_path):
    """500 targets checked every second (250 HTTP, 250 TCP): every check comes
    up, and the event loop's longest pass over a 5 s window is printed (a
    measurement of the sanitizer build; the test fails only if lbd stops
    answering lbctl or a check does not come up)."""
    make, lbds = hnet
    addrs = ["198.51.100.%d" % i for i in range(100, 200)]
    ports = [9000, 9001, 9002, 9003, 9004]
    net = make(bulk_addrs=addrs, bulk_ports=ports)

    def fe(name, vip_port, kind, sub):
        return {"name": name, "vip": VIP, "port": vip_port, "maglev_size": 65537,
                "targets": [{"address": a, "port": p} for a in sub for p in ports],
                "health": {"kind": kind, "path": "/healthz", "interval_ms": 1000,
                           "timeout_ms": 500}}
    conf = lbd_conf(net, [fe("bulkh", 81, "http", addrs[:50]), fe("bulkt", 82, "tcp", addrs[50:])])
    lbd = start_lbd(tmp_path, net, lbds, conf)
    H.wait_for(lambda: lbd.json("health")["up"] == 500, timeout=20, what="500 checks up")
    ctl = H.Ctl(lbd.sock)
    hc0 = lbd.json("health")    # (500 checks in JSON: a few ms of lbd's loop, not measured)
    st0 = ctl.call_many([{"cmd": "status", "reset_max": True}])[0]["result"]
    t0 = time.monotonic()
    worst = 0.0
    while time.monotonic() - t0 < 5:
        a = time.monotonic()
        ctl.call_many([{"cmd": "status"}])
        worst = max(worst, time.monotonic() - a)
        time.sleep(0.05)
    st = ctl.call_many([{"cmd": "status", "reset_max": True}])[0]["result"]
    hc = lbd.json("health")
    ctl.close()
    print("\n500 targets (250 HTTP, 250 TCP) every 1 s, 5 s window: longest event-loop pass "
          "%d us, %d passes over 20 ms, %d probes (%d failed), slowest status request "
          "%.1f ms; lbd build %s" % (
              st["event_loop"]["max_pass_us"],
              st["event_loop"]["slow_passes"] - st0["event_loop"]["slow_passes"],
              hc["probes"] - hc0["probes"], hc["probes_failed"] - hc0["probes_failed"],
              worst * 1000, H.BUILD.name))
    assert hc["up"] == 500 and hc["down"] == 0
    lbd.stop()
