# SPDX-License-Identifier: BSD-3-Clause
"""lbd against the fake API server: shared helpers of tests/k8s/test_lbd_*.py.

A Cluster is a FakeAPI (in-process, TLS on 127.0.0.1) with three Ready
nodes whose InternalIPs are the packet tests' node addresses, and an lbd on
net_pcap ports (tests/pkt's harness) whose config adds a `kubernetes` group
pointing at the fake server's kubeconfig and a pool of VIPs. Traffic tests
live in tests/e2e; these check the control plane through the API and lbctl.
"""
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "pkt"))

import pktframes as F            # noqa: E402
import pktharness as H           # noqa: E402
from fakeapi import FakeAPI, objects as O   # noqa: E402

POOL = "192.0.2.64/27"           # on the external subnet, away from lbd's addresses
CLASS = "lbd.io/lbd"
NODE_NAMES = ("node1", "node2", "node3")
CLEANUP = "service.kubernetes.io/load-balancer-cleanup"


def wait_for(pred, timeout=10.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
        except Exception as e:          # noqa: BLE001 - reported below
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
        time.sleep(interval)


class Cluster:
    def __init__(self, tmp, pcap_lbd, context="fake", class_less=False, pools=None,
                 fes=None, extra_k8s=None, nodes=True, **api_kw):
        self.tmp = Path(tmp)
        self.api = FakeAPI(str(self.tmp / "api"), **api_kw)
        self.api.start()
        if nodes:
            for name, ip in zip(NODE_NAMES, F.NODES):
                self.api.create(O.node(name, ip))
        k8s = {"kubeconfig": str(Path(self.api.path("kubeconfig"))), "context": context,
               "load_balancer_class": CLASS, "class_less": class_less,
               "backoff_min_ms": 100, "backoff_max_ms": 1000, "maglev_size": 251,
               "event_interval": 1}
        k8s.update(extra_k8s or {})

        def hook(conf):
            conf["kubernetes"] = k8s
            conf["pools"] = pools if pools is not None else [
                {"name": "vips", "addresses": [POOL]}]
        self.p = pcap_lbd(conf_hook=hook, fes=fes)
        self.lbd = self.p.lbd

    def start(self):
        self.p.feed()
        return self

    def stop(self):
        try:
            self.p.finish()
        finally:
            self.api.stop()

    # --- views ---

    def svc(self, name, ns="default"):
        return self.api.get("services", name, namespace=ns)

    def ingress(self, name, ns="default"):
        s = self.svc(name, ns)
        return ((s or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") or []

    def frontends(self):
        return {f["name"]: f for f in self.lbd.json("frontends")["frontends"]}

    def targets(self, fe):
        return {"%s:%d" % (t["address"], t["port"]): t
                for t in self.lbd.json("targets", fe)["targets"]}

    def services(self):
        return {"%s/%s" % (s["namespace"], s["name"]): s
                for s in self.lbd.json("services")["services"]}

    def k8s_status(self):
        return self.lbd.json("status").get("kubernetes")

    def events(self, reason=None):
        evs = self.api.objects("events")
        return [e for e in evs if reason is None or e.get("reason") == reason]

    def wait_serving(self, name, ns="default", timeout=15):
        return wait_for(lambda: self.ingress(name, ns), timeout,
                        "status.loadBalancer.ingress of %s/%s" % (ns, name))
