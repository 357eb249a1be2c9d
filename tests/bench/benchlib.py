# SPDX-License-Identifier: BSD-3-Clause
"""Running lbd and dpdk-testpmd for the benchmarks: configs, processes,
counters, the machine's description. Used by bench.py; no test framework."""

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Addresses of the benchmark topology (the trace generator's defaults match).
EXT_NET, EXT_ADDR = "192.0.2.0/24", "192.0.2.1/24"
INT_ADDR = "198.51.100.1/24"
VIP, VIP_DNAT = "192.0.2.10", "192.0.2.20"
TARGETS = ["198.51.100.%d" % i for i in range(11, 22)]     # .21 only in churn configs
SNAT = ["198.51.100.%d" % i for i in range(2, 10)]
PCAP_MAC = "02:70:63:61:70:00"          # the first net_pcap port's MAC


class BenchError(RuntimeError):
    pass


# --- the machine ---

def _read(path, default=""):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def meminfo():
    out = {}
    for line in _read("/proc/meminfo").splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def hugepages():
    """(total, free, size_kb) of the default hugepage size."""
    m = meminfo()
    size = int(m.get("Hugepagesize", "0 kB").split()[0] or 0)
    return int(m.get("HugePages_Total", 0)), int(m.get("HugePages_Free", 0)), size


def hugepage_free_mb():
    _, free, size = hugepages()
    return free * size // 1024


def machine():
    cpu = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.*)$", cpu, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*(.*)$", cpu, re.M)
    total, free, size = hugepages()
    try:
        dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        dpdk = "?"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    flags = re.search(r"^flags\s*:\s*(.*)$", cpu, re.M)
    return {
        "cpu_model": model.group(1).strip() if model else "?",
        "cpu_mhz": float(mhz.group(1)) if mhz else None,
        "cpus": os.cpu_count(),
        "hypervisor": bool(flags and " hypervisor" in flags.group(1)),
        "hugepages_total": total, "hugepages_free": free, "hugepage_kb": size,
        "kernel": platform.release(), "dpdk": dpdk, "lbd_commit": commit,
    }


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
    raise TypeError(v)


def libconfig(conf):
    return "# written by tests/bench/bench.py\n" + "".join(
        "%s = %s;\n" % (k, _value(v, 0)) for k, v in conf.items())


def target_mac(addr):
    return "02:00:00:00:01:%02x" % int(addr.split(".")[-1])


def frontends(targets=None):
    targets = targets or TARGETS[:10]
    tl = [{"address": t, "port": 30080} for t in targets]
    return [
        {"name": "web", "vip": VIP, "port": 80, "method": "fullnat", "targets": tl},
        {"name": "dns", "vip": VIP, "protocol": "udp", "port": 53, "method": "fullnat",
         "targets": [{"address": t, "port": 30053} for t in targets]},
        {"name": "pods", "vip": VIP_DNAT, "port": 8080, "method": "dnat",
         "targets": [{"address": TARGETS[0], "port": 8080}]},
    ]


def lbd_config(workdir, prefix, ext_dev, int_dev, workers, flow_capacity, huge, memory_mb,
               eal_args=(), targets=None, int_role_port_both=False):
    return {
        "lbd": {"socket": str(Path(workdir) / "lbd.sock"), "control_lcore": 0},
        "eal": {"file_prefix": prefix, "no_huge": not huge, "memory_mb": memory_mb,
                "args": list(eal_args)},
        "ports": [
            {"name": "ext", "device": ext_dev, "role": "external", "address": EXT_ADDR},
            {"name": "int", "device": int_dev, "role": "internal", "address": INT_ADDR,
             "neighbours": [{"address": t, "mac": target_mac(t)} for t in TARGETS]},
        ],
        "workers": {
            "lcores": list(range(1, workers + 1)),
            "flow_capacity": flow_capacity,
            "snat_addresses": SNAT,
            "snat_ports": [1024, 65535],
            # nothing expires during a run: the tables fill and evict
            "timeouts": {"tcp_syn": 600, "tcp_established": 3600, "tcp_fin": 60, "udp": 600},
        },
        "frontends": frontends(targets),
    }


# --- processes ---

def _all_cpus():
    """Children run on every CPU (the driver pins itself off the worker's)."""
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def _kill(proc, sig=signal.SIGTERM, timeout=20):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Lbd:
    """lbd on a config dict; counters through lbctl, control requests
    through one persistent connection (what lbctl sends, without a process
    per request)."""

    def __init__(self, build, workdir, conf, name="lbd"):
        self.build = Path(build)
        self.dir = Path(workdir)
        self.conf = conf
        self.sock = conf["lbd"]["socket"]
        self.conf_path = self.dir / ("%s.conf" % name)
        self.log_path = self.dir / ("%s.log" % name)
        self.proc = None
        self.conn = None
        self.write_config(conf)

    def write_config(self, conf):
        tmp = self.conf_path.with_suffix(".tmp")
        tmp.write_text(libconfig(conf))
        os.replace(tmp, self.conf_path)

    def start(self, timeout=120):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(self.build / "app/lbd/lbd"), "-c", str(self.conf_path)],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=_all_cpus)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchError("lbd exited with %d while starting:\n%s" % (
                    self.proc.returncode, self.tail()))
            if os.path.exists(self.sock):
                try:
                    self.status = self.request({"cmd": "status"})
                    return self
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise BenchError("lbd did not answer within %ds:\n%s" % (timeout, self.tail()))
            time.sleep(0.1)

    def tail(self, n=30):
        return "\n".join(_read(self.log_path).splitlines()[-n:])

    def request(self, req, timeout=10):
        if self.conn is None:
            self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.conn.settimeout(timeout)
            self.conn.connect(self.sock)
            self.rbuf = b""
        self.conn.sendall((json.dumps(req) + "\n").encode())
        while b"\n" not in self.rbuf:
            chunk = self.conn.recv(1 << 20)
            if not chunk:
                raise OSError("lbd closed the control connection")
            self.rbuf += chunk
        line, _, self.rbuf = self.rbuf.partition(b"\n")
        resp = json.loads(line)
        if not resp.get("ok"):
            raise BenchError("lbd: %s: %s" % (req.get("cmd"), resp.get("error")))
        return resp["result"]

    def stats(self):
        st = self.request({"cmd": "stats"})
        st["t"] = time.monotonic()
        return st

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        _kill(self.proc)
        if self.proc is not None and self.proc.returncode not in (0, None):
            raise BenchError("lbd exited with %d:\n%s" % (self.proc.returncode, self.tail()))
        self.log.close()


class Testpmd:
    """dpdk-testpmd, non-interactive, printing port statistics every second;
    a reader thread keeps (time, port, rx, tx, rx-missed, tx-errors) samples."""

    STAT = re.compile(r"NIC statistics for port (\d+)")
    RX = re.compile(r"RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)")
    TX = re.compile(r"TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)")

    def __init__(self, workdir, prefix, eal, args, name="testpmd"):
        self.log_path = Path(workdir) / ("%s.log" % name)
        self.cmd = ["stdbuf", "-oL", shutil.which("dpdk-testpmd") or "dpdk-testpmd",
                    "--file-prefix=%s" % prefix, "--no-pci"] + list(eal) + ["--"] + list(args) + [
                    "--stats-period=1"]
        self.samples = []
        self.proc = None

    def _reader(self):
        port = None
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                m = self.STAT.search(line)
                if m:
                    port = int(m.group(1))
                    cur = {"t": time.monotonic(), "port": port}
                    continue
                m = self.RX.search(line)
                if m and port is not None:
                    cur["rx"], cur["rx_missed"] = int(m.group(1)), int(m.group(2))
                    continue
                m = self.TX.search(line)
                if m and port is not None:
                    cur["tx"], cur["tx_errors"] = int(m.group(1)), int(m.group(2))
                    self.samples.append(cur)
                    port = None

    def start(self, timeout=120):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     preexec_fn=_all_cpus)
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.samples:
            if self.proc.poll() is not None:
                self.thread.join(5)
                raise BenchError("testpmd exited with %d:\n%s" % (
                    self.proc.returncode, "\n".join(_read(self.log_path).splitlines()[-30:])))
            if time.monotonic() > deadline:
                raise BenchError("testpmd printed no statistics within %ds" % timeout)
            time.sleep(0.1)
        return self

    def last(self, port):
        for s in reversed(self.samples):
            if s["port"] == port:
                return s
        return None

    def stop(self):
        _kill(self.proc, signal.SIGINT)
        self.thread.join(10)


def pcap_frames(path):
    """Frames in a pcap written by gen_trace (little-endian, 16-byte records)."""
    data = Path(path).stat().st_size
    with open(path, "rb") as f:
        f.read(24)
        hdr = f.read(16)
    if len(hdr) < 16:
        return 0
    incl = int.from_bytes(hdr[8:12], "little")
    return (data - 24) // (16 + incl)
