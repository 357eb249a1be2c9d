# SPDX-License-Identifier: BSD-3-Clause
"""lbd as the LoadBalancer provider, against the fake API server: a Service's
life (VIP, finalizer, status, frontends, deletion), endpoints and nodes
changing its targets, ownership by class, Events."""
import ipaddress

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from lbdk8s import (Cluster, O, F, POOL, CLASS, CLEANUP, NODE_NAMES, wait_for)  # noqa: E402


@pytest.fixture
def cluster(tmp_path, pcap_lbd):
    made = []

    def make(**kw):
        c = Cluster(tmp_path / ("c%d" % len(made)), pcap_lbd, **kw)
        made.append(c)
        return c.start()
    yield make
    for c in made:
        try:
            c.stop()
        except Exception:       # noqa: BLE001 - teardown of last resort
            pass


def in_pool(ip):
    return ipaddress.ip_address(ip) in ipaddress.ip_network(POOL)


def test_service_lifecycle(cluster):
    c = cluster()
    svc = c.api.create(O.service("web", ports=[(80, 8080, "http")], load_balancer_class=CLASS))
    node_port = svc["spec"]["ports"][0]["nodePort"]
    ing = c.wait_serving("web")
    assert len(ing) == 1 and in_pool(ing[0]["ip"]), ing
    assert ing[0]["ipMode"] == "Proxy"
    assert ing[0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    s = c.svc("web")
    assert CLEANUP in s["metadata"]["finalizers"]
    # the frontend, its origin and its targets: every node's NodePort, FullNAT
    fe = c.frontends()["default/web:http"]
    assert fe["vip"] == ing[0]["ip"] and fe["port"] == 80 and fe["method"] == "fullnat"
    assert fe["origin"] == "k8s default/web port http" and fe["source"] == "kubernetes"
    assert fe["service"] == {"namespace": "default", "name": "web", "port": "http"}
    t = c.targets("default/web:http")
    assert sorted(t) == sorted("%s:%d" % (n, node_port) for n in F.NODES)
    assert {x["node"] for x in t.values()} == set(NODE_NAMES)
    sv = c.services()["default/web"]
    assert sv["state"] == "serving" and sv["vips"] == [ing[0]["ip"]]
    # the status was written through the status subresource, with User-Agent lbd/
    writes = c.api.requests(method="PATCH", subresource="status", name="web")
    assert writes and all(w["user_agent"].startswith("lbd/") for w in writes)
    assert c.events("AddressAssigned")
    # deleted: frontend gone, finalizer removed (so the object goes), address released
    c.api.delete("services", "web", namespace="default")
    wait_for(lambda: c.svc("web") is None, 15, "the Service to go (finalizer removed)")
    wait_for(lambda: "default/web:http" not in c.frontends(), 10, "the frontend to go")
    c.api.create(O.service("web2", ports=[(443, 8443, "https")], load_balancer_class=CLASS))
    assert c.wait_serving("web2")[0]["ip"] == ing[0]["ip"]     # lowest free again


def test_local_policy_endpoints(cluster):
    """Local: ready endpoints with DNAT; terminating ones kept without new
    flows; none ready -> serving+terminating ones take flows."""
    c = cluster()
    svc = c.api.create(O.service("api", ports=[(8080, 8080, "http")], load_balancer_class=CLASS,
                                 external_traffic_policy="Local"))
    pods = F.PODS
    sl = c.api.create(O.endpoint_slice(svc, [
        {"ip": pods[0], "node": "node1"},
        {"ip": pods[1], "node": "node2", "ready": False, "serving": True, "terminating": True}]))
    c.wait_serving("api")
    fe = "default/api:http"
    assert c.frontends()[fe]["method"] == "dnat"
    t = wait_for(lambda: c.targets(fe) if len(c.targets(fe)) == 2 else None, 10, "two targets")
    assert t["%s:8080" % pods[0]]["state"] == "active"
    assert t["%s:8080" % pods[1]]["state"] == "terminating"
    assert t["%s:8080" % pods[0]]["node"] == "node1"
    # the ready one goes not-ready: the serving+terminating one takes flows
    sl["endpoints"][0]["conditions"] = {"ready": False, "serving": False, "terminating": True}
    c.api.update(sl)
    try:
        wait_for(lambda: c.targets(fe)["%s:8080" % pods[1]]["state"] == "active", 10,
                 "the terminating-but-serving endpoint to take flows")
    except AssertionError:
        print("TARGETS", c.targets(fe))
        print("SLICE", c.api.get("endpointslices", sl["metadata"]["name"], namespace="default"))
        print(c.lbd.stderr_tail(30))
        raise
    # a second slice of the same Service adds an endpoint
    c.api.create(O.endpoint_slice(svc, [{"ip": "198.51.100.23", "node": "node3"}],
                                  name="api-extra"))
    wait_for(lambda: "198.51.100.23:8080" in c.targets(fe), 10, "the second slice's endpoint")


def test_nodes_change_targets(cluster):
    c = cluster()
    svc = c.api.create(O.service("web", ports=[(80, 8080, "http")], load_balancer_class=CLASS))
    np = svc["spec"]["ports"][0]["nodePort"]
    c.wait_serving("web")
    fe = "default/web:http"
    n1 = "%s:%d" % (F.NODES[0], np)
    n2 = "%s:%d" % (F.NODES[1], np)
    n3 = "%s:%d" % (F.NODES[2], np)
    node = c.api.get("nodes", "node1")
    for cond in node["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["status"] = "False"
    c.api.update_status(node)
    wait_for(lambda: n1 not in c.targets(fe), 10, "NotReady node1 to leave")
    c.api.patch("nodes", "node2", {"metadata": {"labels": {
        "node.kubernetes.io/exclude-from-external-load-balancers": "true"}}})
    wait_for(lambda: n2 not in c.targets(fe), 10, "excluded node2 to leave")
    assert n3 in c.targets(fe)
    c.api.patch("nodes", "node2", {"metadata": {"labels": {
        "node.kubernetes.io/exclude-from-external-load-balancers": None}}})
    wait_for(lambda: n2 in c.targets(fe), 10, "node2 back")


def test_ownership_by_class_and_type(cluster):
    c = cluster()
    c.api.create(O.service("other", ports=[(80, 8080, "http")], load_balancer_class="example.com/x"))
    c.api.create(O.service("plain", ports=[(80, 8080, "http")]))
    mine = c.api.create(O.service("mine", ports=[(80, 8080, "http")], load_balancer_class=CLASS))
    c.wait_serving("mine")
    assert set(c.services()) == {"default/mine"}
    assert not c.ingress("other") and not c.ingress("plain")
    # type change: frontends withdrawn, ingress cleared, finalizer removed
    mine = c.svc("mine")
    mine["spec"]["type"] = "ClusterIP"
    for p in mine["spec"]["ports"]:
        p.pop("nodePort", None)
    mine["spec"].pop("loadBalancerClass", None)
    mine["spec"].pop("externalTrafficPolicy", None)
    mine["spec"].pop("allocateLoadBalancerNodePorts", None)
    c.api.update(mine)
    wait_for(lambda: "default/mine:http" not in c.frontends(), 10, "frontend withdrawn")
    wait_for(lambda: not c.ingress("mine"), 10, "ingress cleared")
    wait_for(lambda: CLEANUP not in (c.svc("mine")["metadata"].get("finalizers") or []), 10,
             "finalizer removed")


def test_unsupported_and_exhausted(cluster):
    c = cluster(pools=[{"name": "tiny", "addresses": ["192.0.2.70-192.0.2.70"]}])
    c.api.create(O.service("one", ports=[(80, 8080, "http"), (9, 9, "disc", "SCTP")],
                           load_balancer_class=CLASS))
    c.wait_serving("one")
    wait_for(lambda: any("SCTP" in e.get("note", "") + e.get("message", "")
                         for e in c.events()), 10, "an Event about SCTP")
    assert "default/one:http" in c.frontends()
    c.api.create(O.service("two", ports=[(80, 8080, "http")], load_balancer_class=CLASS))
    wait_for(lambda: c.events("AllocationFailed"), 10, "an AllocationFailed Event")
    sv = c.services()["default/two"]
    assert sv["state"] == "pending" and sv["reason"]
    assert "pending" in c.lbd.lbctl("services").stdout
    # freeing the address serves the waiting Service
    c.api.delete("services", "one", namespace="default")
    assert c.wait_serving("two", timeout=20)[0]["ip"] == "192.0.2.70"
