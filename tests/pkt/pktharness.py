# SPDX-License-Identifier: BSD-3-Clause
"""Running lbd for the packet tests: configs, the process, lbctl, pcap files
and live network namespaces with AF_PACKET sockets.

Two ways to feed lbd:
- pcap: every port is a net_pcap vdev reading a file we wrote and writing one
  file per tx queue (= per worker); lbd reads the whole input at once, we wait
  until its counters have seen every frame and add up, stop it and read what
  it sent.
- live: every port is a net_af_packet vdev on one end of a veth pair inside a
  network namespace of our own; the harness holds an AF_PACKET socket on the
  other end, so a test can wait for lbd's answer (the SNAT port it chose)
  before it sends the next frame.
"""

import contextlib
import ctypes
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pktframes as F

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LBD_BUILD") or REPO / "build-asan")
LBD = BUILD / "app" / "lbd" / "lbd"
LBCTL = BUILD / "app" / "lbctl" / "lbctl"

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

_seq = itertools.count()


def unique(tag):
    """A name no other lbd of this test run (or of a concurrent run) uses."""
    return "%s%d_%d" % (tag, os.getpid(), next(_seq))


# --- libconfig ---

def _value(v, ind):
    pad = "\t" * ind
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(v, dict):
        body = "".join("%s\t%s = %s;\n" % (pad, k, _value(x, ind + 1)) for k, x in v.items())
        return "{\n%s%s}" % (body, pad)
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], dict):
            return "(\n%s\n%s)" % (",\n".join(pad + "\t" + _value(x, ind + 1) for x in v), pad)
        if not v:
            return "()"
        return "[ %s ]" % ", ".join(_value(x, ind) for x in v)
    raise TypeError("cannot write %r as libconfig" % (v,))


def libconfig(conf):
    """conf (dicts = groups, lists of dicts = lists, other lists = arrays) as
    libconfig text."""
    return "# written by tests/pkt\n" + "".join(
        "%s = %s;\n" % (k, _value(v, 0)) for k, v in conf.items())


def base_config(ports, workers=1, fes=None):
    """A config with lbd.socket and eal.file_prefix left for Lbd to fill.
    With more than two workers the packet buffer pool is set by hand
    (workers.mbufs): sized for every queue's full rings it would not fit the
    tests' 256 MB without hugepages, and vdevs hold few buffers at once."""
    conf = {
        "lbd": {"socket": "", "control_lcore": 0},
        "eal": {"file_prefix": "", "no_huge": True, "memory_mb": 256},
        "ports": ports,
        "workers": {
            "lcores": list(range(1, workers + 1)),
            "flow_capacity": 16384,
            "snat_addresses": list(F.SNAT_ADDRS),
            "snat_ports": list(F.SNAT_PORTS),
            # long enough that no flow of a test expires while it runs
            "timeouts": {"tcp_syn": 300, "tcp_established": 600, "tcp_fin": 120, "udp": 300},
        },
        "frontends": F.frontends() if fes is None else fes,
    }
    if workers > 2:
        conf["workers"]["mbufs"] = 16384
    return conf


# lib/owner's rule, implemented again here from its definition: Toeplitz
# (Microsoft RSS) with the key 0x6d 0x5a repeated over the client address alone,
# then a redirection table of 128 entries, entry i -> worker i % n_workers.
OWNER_KEY = bytes([0x6d, 0x5a] * 20)


def toeplitz(data, key=OWNER_KEY):
    bits = int.from_bytes(key, "big")
    nbits = len(key) * 8
    h = 0
    for i, byte in enumerate(data):
        for b in range(8):
            if byte & (0x80 >> b):
                h ^= (bits >> (nbits - 32 - (i * 8 + b))) & 0xffffffff
    return h


def client_owner(addr, n_workers, reta_size=128):
    """Worker owning a client address (dotted quad): what a NIC programmed by
    lbd delivers it to, and what lbd checks."""
    return (toeplitz(socket.inet_aton(addr)) & (reta_size - 1)) % n_workers


def snat_owner(port, n_workers):
    """Worker owning a SNAT port, as lib/owner defines the split (the port's
    low bits: residue port & mask belongs to worker residue % n_workers,
    mask + 1 the power of two at or above n_workers); None outside the
    configured range."""
    lo, hi = F.SNAT_PORTS
    if not lo <= port <= hi:
        return None
    mask = 1
    while mask < n_workers:
        mask <<= 1
    return (port & (mask - 1)) % n_workers


# --- pcap files ---

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise AssertionError("%s: truncated pcap (%d bytes): did lbd exit cleanly?" % (path, len(data)))
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, frames = 24, []
    while off + 16 <= len(data):
        incl, orig = struct.unpack_from(end + "II", data, off + 8)
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


# --- counters ---

def drops_of(stats_part):
    return {k: v for k, v in stats_part["drops"].items() if v}


def balance_problems(stats):
    """Invariant 6 on a stats result: per worker rx + handoff_in == tx +
    handoff_out + to_control + drops; in total rx == tx + to_control + drops."""
    probs = []
    for w in stats["workers"]:
        lhs = w["rx"] + w["handoff_in"]
        rhs = w["tx"] + w["handoff_out"] + w["to_control"] + sum(w["drops"].values())
        if lhs != rhs:
            probs.append("worker %d: rx %d + handoff_in %d != tx %d + handoff_out %d + "
                         "to_control %d + drops %d" % (w["id"], w["rx"], w["handoff_in"], w["tx"],
                                                      w["handoff_out"], w["to_control"],
                                                      sum(w["drops"].values())))
    t = stats["total"]
    if t["rx"] != t["tx"] + t["to_control"] + sum(t["drops"].values()):
        probs.append("total: rx %d != tx %d + to_control %d + drops %d" % (
            t["rx"], t["tx"], t["to_control"], sum(t["drops"].values())))
    if t["handoff_in"] != t["handoff_out"]:
        probs.append("handoff_in %d != handoff_out %d" % (t["handoff_in"], t["handoff_out"]))
    return probs


def brief(stats):
    t = stats["total"]
    keep = {k: v for k, v in t.items() if k != "drops" and v}
    keep["drops"] = drops_of(t)
    return json.dumps(keep, sort_keys=True)


# --- the lbd process ---

class LbdError(AssertionError):
    pass


class Lbd:
    """One lbd process with its own config, socket, EAL file prefix and
    stderr file. Use start(), then stop() (which checks the exit status and the
    sanitizer output); kill() is the teardown of last resort."""

    def __init__(self, workdir, conf, extra_eal=(), netns=None, name="lbd"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        # lbd.socket is limited to 92 characters: keep it short
        self.sockdir = Path(tempfile.mkdtemp(prefix="lbdpkt-"))
        self.sock = str(self.sockdir / "lbd.sock")
        self.prefix = unique("lbdpkt")
        self.conf_path = self.dir / ("%s.conf" % name)
        self.stderr_path = self.dir / ("%s.stderr" % name)
        self.extra_eal = list(extra_eal)
        self.netns = netns
        self.proc = None
        self.stopped = False
        self.write_config(conf)

    def write_config(self, conf):
        """Writes conf (a dict, or text as is) as lbd's config file."""
        if isinstance(conf, dict):
            conf = json.loads(json.dumps(conf))
            conf["lbd"]["socket"] = self.sock
            conf["eal"]["file_prefix"] = self.prefix
            text = libconfig(conf)
        else:
            text = conf
        tmp = self.conf_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.conf_path)
        self.conf_text = text

    def start(self, timeout=30):
        cmd = [str(LBD), "-c", str(self.conf_path)]
        if self.extra_eal:
            cmd += ["--"] + self.extra_eal
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise LbdError("lbd exited with %d while starting:\n%s" % (
                    self.proc.returncode, self.stderr_tail()))
            r = self.lbctl("-o", "json", "status", check=False, timeout=5)
            if r.returncode == 0:
                self.status = json.loads(r.stdout)
                return self
            if time.monotonic() > deadline:
                raise LbdError("lbd did not answer on %s within %ds:\n%s" % (
                    self.sock, timeout, self.stderr_tail()))
            time.sleep(0.05)

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def sanitizer_report(self):
        text = self.stderr_text()
        for mark in SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return None

    def check_alive(self):
        if self.proc.poll() is not None:
            raise LbdError("lbd died (exit %d):\n%s" % (self.proc.returncode, self.stderr_tail()))

    def lbctl(self, *args, check=True, timeout=15):
        r = subprocess.run([str(LBCTL), "-s", self.sock, "-t", str(timeout)] + list(args),
                           capture_output=True, text=True, timeout=timeout + 5)
        if check and r.returncode != 0:
            raise LbdError("lbctl %s: exit %d: %s%s" % (" ".join(args), r.returncode, r.stderr,
                                                        self.diag()))
        return r

    def json(self, *args):
        return json.loads(self.lbctl("-o", "json", *args).stdout)

    def stats(self):
        return self.json("stats")

    def trace(self, src, sport, vip, vport, proto="tcp"):
        return self.json("trace", "%s:%d" % (src, sport), "%s:%d/%s" % (vip, vport, proto))

    def generation(self):
        return self.json("status")["generation"]

    def diag(self):
        if self.proc is None:
            return ""
        if self.proc.poll() is not None:
            return "\nlbd exited with %d:\n%s" % (self.proc.returncode, self.stderr_tail())
        return ""

    def wait_counters(self, rx=None, timeout=15, pred=None):
        """Polls stats until total rx reaches rx (when given), the counters add
        up and pred(stats) holds (when given). Returns the stats."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            st = self.stats()
            ok = (rx is None or st["total"]["rx"] == rx) and not balance_problems(st) and \
                (pred is None or pred(st))
            if ok:
                return st
            if rx is not None and st["total"]["rx"] > rx:
                raise LbdError("lbd received %d frames, %d were fed: %s" % (
                    st["total"]["rx"], rx, brief(st)))
            if time.monotonic() > deadline:
                raise LbdError("counters did not settle within %ss (want rx=%s): %s %s" % (
                    timeout, rx, brief(st), balance_problems(st)))
            time.sleep(0.02)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM, wait, and check: exit status 0, no sanitizer report."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise LbdError("lbd did not stop within %ds of SIGTERM:\n%s" % (
                timeout, self.stderr_tail()))
        finally:
            self.err.close()
            self._cleanup_files()
        rep = self.sanitizer_report()
        if rep:
            raise LbdError("sanitizer report in lbd's output (%s):\n%s" % (self.stderr_path, rep))
        if rc != 0:
            raise LbdError("lbd exited with %d:\n%s" % (rc, self.stderr_tail()))

    def kill(self):
        """Teardown after a failure: no checks, nothing left behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and not self.stopped:
            self.stopped = True
            self.err.close()
        self._cleanup_files()

    def _cleanup_files(self):
        shutil.rmtree(self.sockdir, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/%s" % self.prefix, ignore_errors=True)


class Ctl:
    """lbd's control protocol spoken directly (docs/lbctl.md, Protocol), for
    bulk queries: one connection, requests sent in windows."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise LbdError("lbd closed the control connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call_many(self, reqs, window=32):
        out = []
        for i in range(0, len(reqs), window):
            part = reqs[i:i + window]
            self.s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in part))
            out += [self._line() for _ in part]
        return out

    def close(self):
        self.s.close()


# --- pcap mode ---

class PcapLbd:
    """lbd on two net_pcap ports (ext = net_pcap0, int = net_pcap1), one tx
    file per worker and port. feed() writes the inputs and starts lbd;
    finish() stops it and reads the outputs."""

    def __init__(self, workdir, workers=1, fes=None, extra_eal=(), ext_opts=None, int_opts=None,
                 conf_hook=None, ext_queues=1):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.ext_queues = ext_queues
        d = self.dir

        def dev(i, name):
            # ext may have several rx queues (one file each), as a NIC with
            # RSS would; worker q polls rx queue q
            if ext_queues > 1:
                # names relative to lbd's working directory (this one): the
                # device string must fit the config's limit
                rx = ["%s-in.pcap" % name] if name != "ext" else [
                    "%s-in-%d.pcap" % (name, q) for q in range(ext_queues)]
                tx = ["%s-out-%d.pcap" % (name, q) for q in range(workers)]
            else:
                rx = ["%s/%s-in.pcap" % (d, name)]
                tx = ["%s/%s-out-%d.pcap" % (d, name, q) for q in range(workers)]
            return "net_pcap%d,%s,%s" % (i, ",".join("rx_pcap=%s" % f for f in rx),
                                         ",".join("tx_pcap=%s" % f for f in tx))
        ports = [
            dict({"name": "ext", "device": dev(0, "ext"), "role": "external",
                  "address": F.EXT_ADDR + "/24"}, **(ext_opts or {})),
            dict({"name": "int", "device": dev(1, "int"), "role": "internal",
                  "address": F.INT_ADDR + "/24", "neighbours": F.int_neighbours()},
                 **(int_opts or {})),
        ]
        conf = base_config(ports, workers, fes)
        if conf_hook:
            conf_hook(conf)
        if workers > 1 and not extra_eal:
            # two workers on a two-CPU machine: both worker lcores on CPU 1
            extra_eal = ["--lcores=0@0,%s" % ",".join("%d@1" % (w + 1) for w in range(workers))]
        self.lbd = Lbd(d, conf, extra_eal)
        self.out = None

    def feed(self, ext=(), int_=(), timeout=20):
        """Writes the inputs, starts lbd and waits until every frame is
        counted and the counters add up. Returns the stats."""
        ext, int_ = list(ext), list(int_)
        if self.ext_queues > 1:
            # ext: one list of frames per rx queue
            assert len(ext) == self.ext_queues
            for q, frames in enumerate(ext):
                write_pcap(self.dir / ("ext-in-%d.pcap" % q), frames)
            n_ext = sum(len(f) for f in ext)
        else:
            write_pcap(self.dir / "ext-in.pcap", ext)
            n_ext = len(ext)
        write_pcap(self.dir / "int-in.pcap", int_)
        self.fed = n_ext + len(int_)
        self.lbd.start()
        st = self.lbd.status
        macs = [p["mac"] for p in st["ports"]]
        assert macs == list(F.PCAP_MACS), (
            "net_pcap MACs are %s, the tests build frames for %s: DPDK changed how it "
            "numbers pcap ports" % (macs, list(F.PCAP_MACS)))
        self.stats = self.lbd.wait_counters(rx=self.fed, timeout=timeout)
        return self.stats

    def finish(self):
        """Stops lbd; returns {"ext": [(queue, frame)], "int": [...]}."""
        self.lbd.stop()
        self.out = {}
        for name in ("ext", "int"):
            self.out[name] = [(q, fr) for q in range(self.workers)
                              for fr in read_pcap(self.dir / ("%s-out-%d.pcap" % (name, q)))]
        return self.out

    def frames(self, port, arp=False):
        """What lbd sent on port: without ARP (GARPs) unless arp is True."""
        return [fr for _, fr in self.out[port] if F.is_arp(fr) == arp]


# --- live mode: namespaces, veths, AF_PACKET ---

CLONE_NEWNET = 0x40000000
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ETH_P_ALL = 0x0003
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


@contextlib.contextmanager
def in_netns(name):
    """Runs the body in network namespace name (this thread only); sockets
    created there stay in it."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        _setns(there)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
        os.close(there)


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def netns_problem():
    """Why live tests cannot run here (None when they can)."""
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            return "%s not installed (apt-get install iproute2 ethtool)" % tool
    probe = unique("lbdpktprobe")
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Wire:
    """An AF_PACKET socket on a harness-side veth end: send raw frames, wait
    for frames lbd sent (our own transmissions are skipped)."""

    def __init__(self, ns, ifname):
        self.ifname = ifname
        with in_netns(ns):
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            self.s.bind((ifname, 0))
        self.s.setblocking(False)
        self.backlog = []
        self.seen = 0

    def send(self, frame):
        self.s.send(frame)

    def _pump(self, timeout):
        r, _, _ = select.select([self.s], [], [], max(0.0, timeout))
        while r:
            try:
                data, anc, _, addr = self.s.recvmsg(65536, socket.CMSG_SPACE(32))
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING:
                self.backlog.append(self._retag(data, anc))
                self.seen += 1

    @staticmethod
    def _retag(data, anc):
        """The kernel takes a received 802.1Q tag out of the frame and reports
        it beside it (PACKET_AUXDATA): put it back where it was on the wire."""
        for level, kind, aux in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(aux) >= 20:
                status, _, _, _, _, tci, tpid = struct.unpack_from("IIIHHHH", aux)
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        return data

    def drain(self):
        self._pump(0)
        out, self.backlog = self.backlog, []
        return out

    def expect(self, pred, timeout=3.0, what="frame"):
        """The first frame (in arrival order) for which pred holds, removed
        from the backlog; AssertionError when none arrives in time."""
        deadline = time.monotonic() + timeout
        while True:
            for i, fr in enumerate(self.backlog):
                if pred(fr):
                    return self.backlog.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no %s within %.1fs; %d other frame(s) there: %s" % (
                    self.ifname, what, timeout, len(self.backlog),
                    [F.describe(f) for f in self.backlog[-5:]]))
            self._pump(min(left, 0.05))

    def expect_n(self, pred, n, timeout=5.0, what="frames"):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            got.append(self.expect(pred, max(0.0, deadline - time.monotonic()),
                                   "%s (%d of %d)" % (what, len(got) + 1, n)))
        return got

    def quiet(self, pred, duration=0.3):
        """Asserts that no frame matching pred arrives within duration."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        bad = [fr for fr in self.backlog if pred(fr)]
        assert not bad, "%s: unexpected %s" % (self.ifname, [F.describe(f) for f in bad])

    def close(self):
        self.s.close()


LIVE_LBD_MACS = ("02:6c:62:00:00:01", "02:6c:62:00:00:02")   # lx0 (ext), lx1 (int)
LIVE_PEER_MACS = (F.CLIENT_MAC, "02:00:00:00:64:fe")          # hx0, hx1


class LiveNet:
    """Namespace lbdpkt-<pid>-<n> with veth pairs lx0-hx0 (external) and
    lx1-hx1 (internal). lbd opens lx0/lx1 with net_af_packet; the harness holds
    AF_PACKET sockets on hx0/hx1 (self.ext, self.int)."""

    def __init__(self):
        self.ns = "lbdpkt-%d-%d" % (os.getpid(), next(_seq))
        self.ext = self.int = None
        run(["ip", "netns", "add", self.ns])
        try:
            self._build()
        except Exception:
            self.destroy()
            raise

    def _build(self):
        ns = self.ns
        # before any interface exists, so that none gets an IPv6 address
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"])
        for i in range(2):
            lx, hx = "lx%d" % i, "hx%d" % i
            run(["ip", "-n", ns, "link", "add", lx, "address", LIVE_LBD_MACS[i], "type", "veth",
                 "peer", "name", hx, "address", LIVE_PEER_MACS[i]])
            for dev in (lx, hx):
                # no partial checksums, no merged segments: frames leave as built
                run(["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off",
                     "tso", "off", "gso", "off", "gro", "off"])
                run(["ip", "-n", ns, "link", "set", dev, "up"])
        self.ext = Wire(ns, "hx0")
        self.int = Wire(ns, "hx1")

    def ports(self, int_neighbours=None):
        return [
            {"name": "ext", "device": "net_af_packet0,iface=lx0", "role": "external",
             "address": F.EXT_ADDR + "/24"},
            {"name": "int", "device": "net_af_packet1,iface=lx1", "role": "internal",
             "address": F.INT_ADDR + "/24",
             "neighbours": F.int_neighbours() if int_neighbours is None else int_neighbours},
        ]

    def destroy(self):
        for w in (self.ext, self.int):
            if w is not None:
                w.close()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)


def ns_leftovers():
    """Namespaces of this process still present (for the teardown check)."""
    r = run(["ip", "netns", "list"], check=False)
    pfx = "lbdpkt-%d-" % os.getpid()
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(pfx)]


def wait_for(pred, timeout=5.0, what="condition", interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


FILE_LINE = re.compile(r"^lbctl: (\S+?):(\d+): (.+)$", re.M)


# --- live TCP flows ---

def tcp_match(src=None, dst=None, sport=None, dport=None, seq=None, flags=None):
    """A predicate on frames: IPv4/TCP with the given fields (None: any)."""
    def pred(fr):
        if F.is_arp(fr):
            return False
        p = F.Parsed(fr)
        return p.proto == 6 and all(
            want is None or got == want for want, got in (
                (src, p.src), (dst, p.dst), (sport, p.sport), (dport, p.dport), (seq, p.seq),
                (flags, p.flags)))
    return pred


def isn_of(*parts):
    """A distinct, reproducible initial sequence number per connection."""
    h = 2166136261
    for b in repr(parts).encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


class Flow:
    """A TCP connection through a live lbd, as both ends see it. client side:
    client:cport -> vip:vport; target side: saddr:sport -> target:tport (saddr,
    sport = SNAT for FullNAT, the client itself for DNAT)."""

    def __init__(self, live, client, cport, vip, vport, cmac, ext_vlan=None, int_vlan=None):
        self.live = live
        self.ext_vlan, self.int_vlan = ext_vlan, int_vlan
        # how lbd must change the tagging on the way in and on the way back
        self.vlan_in = "keep" if ext_vlan == int_vlan else int_vlan
        self.vlan_out = "keep" if ext_vlan == int_vlan else ext_vlan
        self.client, self.cport, self.vip, self.vport, self.cmac = client, cport, vip, vport, cmac
        self.cseq = isn_of(client, cport, vip, vport)
        self.tseq = isn_of(vip, vport, client, cport)
        self.target = self.tport = self.saddr = self.sport = None

    def to_lbd_ext(self, flags, payload=b"", seq=None, ttl=64, smac=None):
        return F.tcp(self.client, self.cport, self.vip, self.vport, flags,
                     seq=self.cseq if seq is None else seq, ack=self.tseq, payload=payload,
                     ttl=ttl, smac=smac or self.cmac, dmac=LIVE_LBD_MACS[0], vlan=self.ext_vlan)

    def to_lbd_int(self, flags, payload=b"", seq=None, ttl=64):
        return F.tcp(self.target, self.tport, self.saddr, self.sport, flags,
                     seq=self.tseq if seq is None else seq, ack=self.cseq, payload=payload,
                     ttl=ttl, smac=F.NEIGH_MACS[self.target], dmac=LIVE_LBD_MACS[1],
                     vlan=self.int_vlan)

    def send_fwd(self, flags="PA", payload=b"", smac=None):
        """Client -> lbd; returns (sent, what reached the target side), checked
        field by field against the expected rewrite."""
        fr = self.to_lbd_ext(flags, payload, smac=smac)
        self.live.ext.send(fr)
        out = self.live.int.expect(tcp_match(dport=self.tport, seq=self.cseq, sport=self.sport),
                                   what="%s:%d's packet at the target side" % (
                                       self.client, self.cport))
        exp = F.rewrite(fr, smac=LIVE_LBD_MACS[1], dmac=F.NEIGH_MACS[self.target],
                        src=self.saddr, dst=self.target, sport=self.sport, dport=self.tport,
                        vlan=self.vlan_in)
        F.assert_frame(out, exp, "forwarded %s:%d -> %s:%d" % (self.client, self.cport,
                                                               self.vip, self.vport))
        if payload:
            self.cseq = (self.cseq + len(payload)) & 0xffffffff
        return fr, out

    def send_rev(self, flags="PA", payload=b"", expect_mac=None):
        """Target -> lbd; returns (sent, what reached the client side), checked."""
        fr = self.to_lbd_int(flags, payload)
        self.live.int.send(fr)
        out = self.live.ext.expect(tcp_match(dst=self.client, dport=self.cport, seq=self.tseq),
                                   what="reply to %s:%d" % (self.client, self.cport))
        exp = F.rewrite(fr, smac=LIVE_LBD_MACS[0], dmac=expect_mac or self.cmac,
                        src=self.vip, dst=self.client, sport=self.vport, dport=self.cport,
                        vlan=self.vlan_out)
        F.assert_frame(out, exp, "reply %s:%d -> %s:%d" % (self.target, self.tport, self.client,
                                                           self.cport))
        if payload:
            self.tseq = (self.tseq + len(payload)) & 0xffffffff
        return fr, out


def tcp_open(live, client, cport, vip=F.VIP, vport=80, cmac=F.CLIENT_MAC, ext_vlan=None,
             int_vlan=None):
    """Three-way handshake through lbd (SYN, SYN-ACK, ACK), every frame
    checked on the way; returns the Flow with the target and SNAT endpoint lbd
    chose."""
    f = Flow(live, client, cport, vip, vport, cmac, ext_vlan, int_vlan)
    syn = f.to_lbd_ext("S")
    live.ext.send(syn)
    out = live.int.expect(tcp_match(seq=f.cseq, flags=0x02),
                          what="SYN of %s:%d at the target side" % (client, cport))
    p = F.Parsed(out)
    f.target, f.tport, f.saddr, f.sport = p.dst, p.dport, p.src, p.sport
    f.syn_in, f.syn_out = syn, out
    exp = F.rewrite(syn, smac=LIVE_LBD_MACS[1], dmac=F.NEIGH_MACS.get(f.target, "?"),
                    src=f.saddr, dst=f.target, sport=f.sport, dport=f.tport, vlan=f.vlan_in)
    F.assert_frame(out, exp, "SYN %s:%d -> %s:%d" % (client, cport, vip, vport))
    f.cseq = (f.cseq + 1) & 0xffffffff
    f.synack_in, f.synack_out = f.send_rev("SA")
    f.tseq = (f.tseq + 1) & 0xffffffff
    f.send_fwd("A")
    return f


def bulk_trace(lbd, pairs, vip, vport, proto="tcp"):
    """lbctl trace for many (client, port) pairs over one control connection."""
    ctl = Ctl(lbd.sock)
    try:
        res = ctl.call_many([{"cmd": "trace", "src": "%s:%d" % (c, p), "dst": "%s:%d" % (vip, vport),
                              "protocol": proto} for c, p in pairs])
    finally:
        ctl.close()
    bad = [r for r in res if not r.get("ok")]
    assert not bad, "trace failed: %s" % bad[:3]
    return [r["result"] for r in res]


def bulk_trace_multi(lbd, items):
    """lbctl trace for many (client, port, vip, vport, proto) over one connection."""
    ctl = Ctl(lbd.sock)
    try:
        res = ctl.call_many([{"cmd": "trace", "src": "%s:%d" % (c, p), "dst": "%s:%d" % (v, vp),
                              "protocol": proto} for c, p, v, vp, proto in items])
    finally:
        ctl.close()
    bad = [r for r in res if not r.get("ok")]
    assert not bad, "trace failed: %s" % bad[:3]
    return [r["result"] for r in res]


def clients_for(lbd, want, vip=F.VIP, vport=80, net="203.0.113", first_port=45000):
    """Client endpoints whose new connections lbd would send to the given
    targets: want = {"addr:port": how many}. Returns [(client, port, target)]."""
    left = dict(want)
    out = []
    cands = [("%s.%d" % (net, 1 + i % 250), first_port + i) for i in range(2000)]
    for (c, p), tr in zip(cands, bulk_trace(lbd, cands, vip, vport)):
        if left.get(tr["target"], 0) > 0:
            left[tr["target"]] -= 1
            out.append((c, p, tr["target"]))
            if not any(left.values()):
                return out
    raise AssertionError("no clients found for %s" % left)
