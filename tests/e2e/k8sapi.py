# SPDX-License-Identifier: BSD-3-Clause
"""The fake kube-apiserver (tests/k8s/fakeapi) as a process inside a network
namespace, driven over its control socket (a Unix socket: reachable from the
root namespace), for the end-to-end test and the Kubernetes demo.

    api = NsApi("lbd-lb", workdir); api.start()
    api.ctl.create(obj) ...; api.kubeconfig; api.stop()
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
K8S = HERE.parent / "k8s"
sys.path.insert(0, str(K8S))

from fakeapi import objects as O            # noqa: E402,F401  (re-exported)
from fakeapi.control import ControlClient   # noqa: E402

PYTHON = "/usr/bin/python3"


class NsApi:
    def __init__(self, netns, workdir):
        self.netns = netns
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.ctl = ControlClient(str(self.dir))
        self.kubeconfig = str(self.dir / "kubeconfig")
        self.log = self.dir / "fakeapi.log"

    def start(self, timeout=30):
        logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, PYTHON, "-m", "fakeapi", "serve", "--dir",
             str(self.dir), "--port", "0", "--bookmark-interval", "5"],
            cwd=str(K8S), stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while not (self.dir / "server.json").exists() or not (self.dir / "control.sock").exists():
            if self.proc.poll() is not None:
                raise RuntimeError("fakeapi exited: %s" % self.log.read_text())
            if time.monotonic() > deadline:
                raise RuntimeError("fakeapi did not start: %s" % self.log.read_text())
            time.sleep(0.1)
        self.info = json.loads((self.dir / "server.json").read_text())
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def ingress(self, name, ns="default"):
        s = self.ctl.get("services", name, namespace=ns)
        return (((s or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []

    def wait_ingress(self, name, ns="default", timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            ing = self.ingress(name, ns)
            if ing:
                return ing
            if time.monotonic() > deadline:
                raise AssertionError("no status.loadBalancer.ingress on %s/%s after %d s" %
                                     (ns, name, timeout))
            time.sleep(0.2)
