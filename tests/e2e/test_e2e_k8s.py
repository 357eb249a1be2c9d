# SPDX-License-Identifier: BSD-3-Clause
"""End to end, driven by the Kubernetes API: a fake kube-apiserver in lbd-lb
describes the namespace topology (three Ready nodes, kube-proxy-style
NodePort rules on them, "pods" = the nginx servers on the nodes), lbd
watches it, and real kernel TCP from lbd-client goes through the VIPs lbd
allocated:

- externalTrafficPolicy Cluster: FullNAT to every node's NodePort; the nodes
  see lbd's SNAT address;
- externalTrafficPolicy Local: DNAT straight to the ready pods; the pods see
  the real client address, and the nodes route client-bound replies through
  lbd's internal address (the documented Local-policy topology);
- an endpoint that stops being ready takes no new connections.
"""
import subprocess
import time

import pytest

import lbdconf  # noqa: F401  (path set up by the e2e conftest-less import)
from k8sapi import NsApi, O
from test_e2e import (Client, Lbd, NODES, ADDR_NODE, CLIENT_IP, SNAT_IP, REPO, _tail,
                      _why_not_runnable, assert_burst_ok)

CLASS = "lbd.io/lbd"
NODEPORT = 30080
PODPORT = 8080
LB_INT = "198.51.100.1"


@pytest.fixture
def topology():
    why = _why_not_runnable()
    if why:
        pytest.skip(why)
    topo = str(REPO / "tests" / "e2e" / "topo.sh")
    subprocess.run([topo, "down"], capture_output=True, timeout=60)
    r = subprocess.run([topo, "up"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        subprocess.run([topo, "down"], capture_output=True, timeout=60)
        pytest.fail("topo.sh up failed:\n%s%s" % (r.stdout, r.stderr))
    # Local policy: the nodes send client-bound replies through lbd
    for n in NODES:
        subprocess.run(["ip", "-n", "lbd-" + n, "route", "add", "192.0.2.0/24", "via", LB_INT],
                       check=True)
    yield
    r = subprocess.run([topo, "down"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "topo.sh down failed:\n%s" % r.stderr


@pytest.fixture
def k8s(topology, tmp_path):
    api = NsApi("lbd-lb", tmp_path / "api").start()
    for n, ip in NODES.items():
        api.ctl.create(O.node(n, ip))
    conf = (REPO / "config" / "demo-k8s.conf").read_text().replace(
        "/run/lbd-e2e/fakeapi/kubeconfig", api.kubeconfig)
    d = Lbd(tmp_path)
    import lbdconf as LC
    d.write_conf(LC.set_socket(conf, str(d.sock)))
    d.start()
    try:
        yield api, d
        d.check_alive()
    finally:
        rc = d.stop()
        api.stop()
        print("---- lbd log tail ----\n" + _tail(d.log))
    assert rc == 0, "lbd did not stop cleanly (status %s)\n%s" % (rc, _tail(d.log))


def client_for(vip):
    c = Client.__new__(Client)
    import selectors
    from test_e2e import HERE, PYTHON
    c.proc = subprocess.Popen(
        ["ip", "netns", "exec", "lbd-client", PYTHON, str(HERE / "httpclient.py"), vip, "80"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    c.sel = selectors.DefaultSelector()
    c.sel.register(c.proc.stdout, selectors.EVENT_READ)
    return c


def burst_until_ok(d, vip, n, timeout=20):
    """The first requests also warm ARP on both sides: retry until one works."""
    c = client_for(vip)
    try:
        deadline = time.monotonic() + timeout
        while True:
            r = c.burst(1, 1)
            if r["ok"] == 1:
                break
            d.check_alive()
            assert time.monotonic() < deadline, "VIP %s never answered: %s\n%s" % (
                vip, r["first_errors"], _tail(d.log))
            time.sleep(0.5)
        r = c.burst(n, concurrency=4)
        assert_burst_ok(d, r)
        return r
    finally:
        c.close()


def test_cluster_and_local_services(k8s):
    api, d = k8s
    web = api.ctl.create(O.service("web", ports=[{"name": "http", "port": 80, "targetPort": PODPORT,
                                                  "nodePort": NODEPORT}],
                                   load_balancer_class=CLASS, manifest=True))
    assert web["spec"]["ports"][0]["nodePort"] == NODEPORT
    pods = api.ctl.create(O.service("pods", ports=[(80, PODPORT, "http")], load_balancer_class=CLASS,
                                    external_traffic_policy="Local"))
    api.ctl.create(O.endpoint_slice(pods, [{"ip": ip, "node": n} for n, ip in NODES.items()]))
    web_vip = api.wait_ingress("web")[0]["ip"]
    pods_vip = api.wait_ingress("pods")[0]["ip"]
    assert web_vip != pods_vip
    assert api.ingress("web")[0]["ipMode"] == "Proxy"

    # Cluster: FullNAT to the NodePorts of every node; nodes see lbd's SNAT address
    r = burst_until_ok(d, web_vip, 200)
    print("Cluster %s: %s" % (web_vip, r["nodes"]))
    assert set(r["nodes"]) == set(NODES), r["nodes"]
    assert r["client_addrs"] == [SNAT_IP], r["client_addrs"]
    assert r["peers"] == ["%s:80" % web_vip]

    # Local: DNAT to the pods; the pods see the real client address
    r = burst_until_ok(d, pods_vip, 200)
    print("Local %s: %s" % (pods_vip, r["nodes"]))
    assert set(r["nodes"]) == set(NODES), r["nodes"]
    assert r["client_addrs"] == [CLIENT_IP], r["client_addrs"]
    assert r["peers"] == ["%s:80" % pods_vip]

    # an endpoint going not-ready takes no new connections
    sl = api.ctl.list("endpointslices", namespace="default",
                      label_selector="kubernetes.io/service-name=pods")["items"][0]
    sl["endpoints"][0]["conditions"] = {"ready": False, "serving": False, "terminating": True}
    sl["apiVersion"], sl["kind"] = "discovery.k8s.io/v1", "EndpointSlice"
    api.ctl.update(sl)
    gone = ADDR_NODE[sl["endpoints"][0]["addresses"][0]]
    deadline = time.monotonic() + 10
    while True:
        t = {x["address"]: x for x in d.ctl("targets", "default/pods:http")["targets"]}
        if t[NODES[gone]]["state"] == "terminating":
            break
        assert time.monotonic() < deadline, "endpoint %s still %s" % (gone, t)
        time.sleep(0.2)
    r = burst_until_ok(d, pods_vip, 100)
    assert gone not in r["nodes"], r["nodes"]

    # lbctl shows the Services and where each frontend comes from
    svcs = {s["name"]: s for s in d.ctl("services")["services"]}
    assert svcs["web"]["state"] == "serving" and svcs["web"]["vips"] == [web_vip]
    fes = {f["name"]: f for f in d.ctl("frontends")["frontends"]}
    assert fes["default/web:http"]["method"] == "fullnat"
    assert fes["default/pods:http"]["method"] == "dnat"
    assert fes["default/pods:http"]["origin"] == "k8s default/pods port http"
