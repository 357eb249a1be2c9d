# SPDX-License-Identifier: BSD-3-Clause
"""Runs kapi_probe (lib/kapi on a lib/ev loop) and reads its JSON lines."""
import json
import os
import queue
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("LBD_BUILD") or os.path.join(ROOT, "build-asan")


def probe_path():
    return os.path.join(build_dir(), "tests", "kapi", "kapi_probe")


def find_fakeapi():
    """The directory holding the fakeapi package: $LB_FAKEAPI_DIR, else tests/k8s."""
    for d in (os.environ.get("LB_FAKEAPI_DIR"), os.path.join(ROOT, "tests", "k8s")):
        if d and os.path.isfile(os.path.join(d, "fakeapi", "__init__.py")):
            return d
    return None


class Probe:
    """kapi_probe as a subprocess. Every event it prints is kept in .events;
    wait() returns the first event (after those already waited past) that
    matches."""

    def __init__(self, *args, env=None, cpus=None):
        e = dict(os.environ)
        e.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        e.update(env or {})
        self.args = [probe_path(), *args]
        self.p = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1,
                                  env=e, preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
                                  if cpus else None)
        self.q = queue.Queue()
        self.events = []
        self.pos = 0
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                self.q.put({"ev": "garbage", "line": line})
        self.q.put(None)

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr.append(line)

    def _pull(self, timeout):
        try:
            ev = self.q.get(timeout=max(timeout, 0))
        except queue.Empty:
            return False
        if ev is None:
            self.q.put(None)
            return None
        self.events.append(ev)
        if os.environ.get("KAPI_PROBE_ECHO"):
            sys.stderr.write("probe: %s\n" % json.dumps(ev)[:400])
        return True

    def mark(self):
        """A position in the event history for wait(since=...)."""
        self.drain()
        return len(self.events)

    def wait(self, timeout=5.0, what=None, since=None, **match):
        """The first event matching every key=value (a callable value is a
        predicate on the field) after the last one wait() returned, or after
        position since."""
        end = time.time() + timeout
        i = self.pos if since is None else since
        while True:
            while i < len(self.events):
                ev = self.events[i]
                i += 1
                if all(v(ev.get(k)) if callable(v) else ev.get(k) == v for k, v in match.items()):
                    self.pos = i
                    return ev
            left = end - time.time()
            got = self._pull(left) if left > 0 else False
            if not got:
                tail = "\n".join(json.dumps(e)[:300] for e in self.events[-25:])
                raise AssertionError("kapi_probe: %s waiting for %s %r\nlast events:\n%s\nstderr:\n%s"
                                     % ("exited" if got is None else "timeout", what or "",
                                        match, tail, "".join(self.stderr[-30:])))

    def drain(self, seconds=0.0):
        """Collects what arrives for a while."""
        end = time.time() + seconds
        while self._pull(end - time.time()):
            pass
        while self._pull(0):
            pass

    def seen(self, **match):
        self.drain()
        return [e for e in self.events
                if all(v(e.get(k)) if callable(v) else e.get(k) == v for k, v in match.items())]

    def send(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()

    def request(self, tag, timeout=10.0, **kw):
        self.send(cmd="request", tag=tag, **kw)
        return self.wait(timeout, ev="response", tag=tag)

    def status(self):
        self.send(cmd="status")
        return self.wait(5, ev="status")

    def resource(self, name):
        for r in self.status()["kapi"]["resources"]:
            if r["name"] == name:
                return r
        raise KeyError(name)

    def close(self, timeout=15.0):
        """quit; the probe must exit 0 with no sanitizer report (ASan checks leaks)."""
        if self.p.poll() is None:
            try:
                self.send(cmd="quit")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.wait(timeout, ev="bye")
            finally:
                try:
                    self.p.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.p.kill()
                    self.p.wait()
        time.sleep(0.05)
        err = "".join(self.stderr)
        assert self.p.returncode == 0, "kapi_probe exited %s:\n%s" % (self.p.returncode, err[-4000:])
        assert "Sanitizer" not in err and "runtime error" not in err, err[-4000:]

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
