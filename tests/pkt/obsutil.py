# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of the observability tests: the counter lists read from
lib/stats/lb_stats.h (the one list lbd generates its outputs from), the
Prometheus text format, HTTP in a namespace, DPDK telemetry, paced traffic."""

import http.client
import json
import re
import socket
import subprocess
import threading
import time

import pktharness as H

STATS_H = H.REPO / "lib" / "stats" / "lb_stats.h"

_ENTRY = re.compile(
    r'X\(\s*([\w.\[\]]+),\s*"(\w+)",\s*"(\w+)",\s*(NULL|"((?:[^"\\]|\\.)*)"),\s*(COUNTER|GAUGE),'
    r'\s*\\?\s*(ONE|NS|US|MS)')


def stats_list(name):
    """[(key, metric family, extra label dict, type, unit)] of LB_STATS_<name>_LIST."""
    text = STATS_H.read_text() + (STATS_H.parent / "lb_stats_sets.h").read_text()
    start = text.index("#define LB_STATS_%s_LIST(X)" % name)
    end = start
    # the macro ends at the first line that does not continue it
    lines = text[start:].split("\n")
    body = []
    for line in lines:
        body.append(line)
        if not line.rstrip().endswith("\\"):
            break
    end = " ".join(l.rstrip("\\") for l in body)
    out = []
    for m in _ENTRY.finditer(end):
        labels = {}
        if m.group(5) is not None:
            k, v = m.group(5).replace('\\"', '"').split("=", 1)
            labels[k] = v.strip('"')
        typ = m.group(6)
        fam = "lbd_" + m.group(3) + ("_total" if typ == "COUNTER" else "")
        out.append((m.group(2), fam, labels, typ, m.group(7)))
    assert out, "no entries parsed from LB_STATS_%s_LIST" % name
    return out


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prom(text):
    """{(name, frozenset(labels)): value} of a text-format exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in out, "sample twice: %r" % line
        out[key] = float(m.group(3))
    return out


def prom_value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%s" % (name, labels)
    return samples[key]


def http_get(port, path, netns=None, method="GET", host="127.0.0.1", timeout=10):
    """(status, body text) of an HTTP request, made inside netns when given."""
    def do():
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, r.read().decode(), dict(r.getheaders())
        finally:
            c.close()
    if netns is None:
        return do()
    with H.in_netns(netns):
        # the socket is created (and stays) in the namespace
        return do()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def telemetry(prefix, cmd):
    """The reply of dpdk-telemetry.py to cmd on lbd's telemetry socket."""
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "dpdk-telemetry.py: %s" % r.stderr
    last = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert last, "dpdk-telemetry.py printed no reply to %s: %r %r" % (cmd, r.stdout, r.stderr)
    reply = json.loads(last[-1])
    name = cmd.split(",")[0]
    assert name in reply, reply
    return reply[name]


LOGFMT = re.compile(r'^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(error|warning|info|debug) '
                    r'msg="((?:[^"\\]|\\.)*)"((?: [a-z][a-z0-9_]*=(?:"(?:[^"\\]|\\.)*"|[^ "]+))*)$')


def log_lines(text):
    """lbd's own log lines (DPDK's EAL lines are not lbd's), each checked as
    logfmt: [(level, msg, {field: value})]."""
    out = []
    for line in text.splitlines():
        if not line.startswith("ts="):
            continue
        m = LOGFMT.match(line)
        assert m, "log line is not logfmt: %r" % line
        fields = dict((k, v.strip('"')) for k, v in
                      re.findall(r' ([a-z][a-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^ "]+)', m.group(3)))
        out.append((m.group(1), m.group(2), fields))
    return out


class Pacer(threading.Thread):
    """Sends frames from a Wire at a steady rate per stream in a thread of its
    own, and records when each frame left: streams = {name: (frames, pps)};
    sent[name] = [send times]."""

    def __init__(self, wire, streams, duration):
        super().__init__(daemon=True)
        self.wire, self.streams, self.duration = wire, streams, duration
        self.sent = {k: [] for k in streams}
        self.error = None

    def run(self):
        try:
            t0 = time.monotonic()
            idx = {k: 0 for k in self.streams}
            nxt = {k: t0 for k in self.streams}
            while True:
                now = time.monotonic()
                if now - t0 >= self.duration:
                    return
                k = min(nxt, key=nxt.get)
                if nxt[k] > now:
                    time.sleep(min(nxt[k] - now, 0.01))
                    continue
                frames, pps = self.streams[k]
                self.wire.send(frames[idx[k] % len(frames)])
                self.sent[k].append(time.time())
                idx[k] += 1
                nxt[k] += 1.0 / pps
        except Exception as e:   # reported by the test
            self.error = e

    def count(self, name, t_from=0, t_to=1e20):
        return sum(1 for t in self.sent[name] if t_from <= t < t_to)
