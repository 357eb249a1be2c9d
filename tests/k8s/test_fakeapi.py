# SPDX-License-Identifier: BSD-3-Clause
"""The fake API server checked against the protocol (raw HTTP/1.1 over TLS)
and against real clients (kubectl of several versions, python3-kubernetes)."""
import glob
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

from fakeapi import ApiError, ControlClient, FakeAPI
from fakeapi import objects as O
from rawclient import Raw

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    srv = FakeAPI(str(tmp_path_factory.mktemp("fakeapi")), seed=1)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def srv(api, request):
    api.clear_faults()
    api.set(bookmark_interval=60.0, watch_410_http=False, anonymous=True, continue_ttl=300.0)
    yield api
    api.close_watches()
    api.clear_faults()
    api.set(bookmark_interval=60.0, watch_410_http=False, anonymous=True, continue_ttl=300.0)
    if not api.is_up:
        api.up()


_n = [0]


def fresh_ns(srv):
    _n[0] += 1
    ns = "t%d" % _n[0]
    srv.create(O.namespace(ns, manifest=True))
    return ns


def svc_path(ns, name=None, sub=None):
    p = "/api/v1/namespaces/%s/services" % ns
    if name:
        p += "/" + name
    if sub:
        p += "/" + sub
    return p


def is_status(body, code, reason):
    assert body["kind"] == "Status" and body["apiVersion"] == "v1", body
    assert body["status"] == "Failure" and body["metadata"] == {} or "continue" in body["metadata"], body
    assert body["code"] == code and body["reason"] == reason, body
    assert body["message"]
    return True


# ------------------------------------------------------------- TLS and auth

def test_tls_and_bearer_auth(srv):
    st, _, body = Raw(srv).req("GET", "/api/v1/services")
    assert st == 200 and body["kind"] == "ServiceList"
    st, _, body = Raw(srv, token="wrong").req("GET", "/api/v1/services")
    assert st == 401 and is_status(body, 401, "Unauthorized")
    # no credentials: anonymous may read /version only
    st, _, body = Raw(srv, token=None).req("GET", "/version")
    assert st == 200 and body["major"] == "1"
    st, _, body = Raw(srv, token=None).req("GET", "/api/v1/namespaces/default/services")
    assert st == 403 and is_status(body, 403, "Forbidden")
    assert 'User "system:anonymous" cannot list resource "services"' in body["message"]
    srv.set(anonymous=False)
    st, _, body = Raw(srv, token=None).req("GET", "/version")
    assert st == 401
    # the certificate must verify against the CA with the 127.0.0.1 SAN
    bad = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection((srv.host, srv.port)) as s:
            bad.wrap_socket(s, server_hostname="127.0.0.1")


def test_client_certificate_auth(srv):
    r = Raw(srv, token=None, cert=(srv.path("client.crt"), srv.path("client.key")))
    st, _, body = r.req("GET", "/api/v1/nodes")
    assert st == 200, body
    assert srv.requests()[-1]["user"] == "lbd"
    crt = srv.issue_client_cert("other")
    st, _, _ = Raw(srv, token=None, cert=crt).req("GET", "/api/v1/nodes")
    assert st == 200 and srv.requests()[-1]["user"] == "other"


def test_token_rotation(srv, tmp_path):
    old = srv.token
    sa = srv.path("serviceaccount")
    assert os.path.islink(os.path.join(sa, "token"))
    new = srv.rotate_token()
    assert open(srv.path("token")).read() == new
    assert open(os.path.join(sa, "token")).read() == new
    assert Raw(srv, token=old).req("GET", "/api/v1/nodes")[0] == 401
    assert Raw(srv, token=new).req("GET", "/api/v1/nodes")[0] == 200
    newer = srv.rotate_token(grace=0.5)
    assert Raw(srv, token=new).req("GET", "/api/v1/nodes")[0] == 200
    assert Raw(srv, token=newer).req("GET", "/api/v1/nodes")[0] == 200
    time.sleep(0.6)
    assert Raw(srv, token=new).req("GET", "/api/v1/nodes")[0] == 401
    kc = json.load(open(srv.path("kubeconfig")))
    assert kc["users"][0]["user"]["token"] == newer                     # rewritten
    assert kc["users"][1]["user"]["tokenFile"] == srv.path("token")      # follows the file


def test_discovery(srv):
    r = Raw(srv)
    assert r.req("GET", "/api")[2]["versions"] == ["v1"]
    groups = {g["name"] for g in r.req("GET", "/apis")[2]["groups"]}
    assert {"discovery.k8s.io", "events.k8s.io"} <= groups
    core = {x["name"]: x for x in r.req("GET", "/api/v1")[2]["resources"]}
    assert core["services"]["namespaced"] and core["services"]["kind"] == "Service"
    assert "watch" in core["services"]["verbs"] and "services/status" in core
    assert core["nodes"]["namespaced"] is False and "events" in core
    disc = r.req("GET", "/apis/discovery.k8s.io/v1")[2]
    assert disc["groupVersion"] == "discovery.k8s.io/v1"
    assert disc["resources"][0]["name"] == "endpointslices"
    assert r.req("GET", "/apis/events.k8s.io/v1")[2]["resources"][0]["kind"] == "Event"
    st, _, body = r.req("GET", "/apis/nope.example.com/v1")
    assert st == 404 and is_status(body, 404, "NotFound")


# ----------------------------------------------------------------- objects

def test_service_defaulting_like_the_apiserver(srv):
    ns = fresh_ns(srv)
    r = Raw(srv)
    man = O.service("web", ns, ports=[(80, None, "http"), (53, None, "dns", "UDP")],
                    external_traffic_policy="Local", manifest=True)
    st, _, s = r.req("POST", svc_path(ns), man)
    assert st == 201, s
    m, sp = s["metadata"], s["spec"]
    assert s["kind"] == "Service" and s["apiVersion"] == "v1"
    assert m["uid"] and m["generation"] == 1 and m["creationTimestamp"].endswith("Z")
    assert int(m["resourceVersion"]) == srv.resource_version
    assert m["managedFields"][0]["manager"] == "fakeapi-test"
    assert m["managedFields"][0]["operation"] == "Update"
    assert sp["clusterIP"].startswith("10.") and sp["clusterIPs"] == [sp["clusterIP"]]
    assert sp["ipFamilies"] == ["IPv4"] and sp["ipFamilyPolicy"] == "SingleStack"
    assert sp["sessionAffinity"] == "None" and sp["internalTrafficPolicy"] == "Cluster"
    assert sp["allocateLoadBalancerNodePorts"] is True
    assert [p["protocol"] for p in sp["ports"]] == ["TCP", "UDP"]
    assert [p["targetPort"] for p in sp["ports"]] == [80, 53]
    nps = [p["nodePort"] for p in sp["ports"]]
    assert all(30000 <= p <= 32767 for p in nps) and len(set(nps)) == 2
    assert 30000 <= sp["healthCheckNodePort"] <= 32767 and sp["healthCheckNodePort"] not in nps
    assert s["status"] == {"loadBalancer": {}}
    # no node ports when asked, no healthCheckNodePort for Cluster
    man2 = O.service("raw", ns, allocate_lb_node_ports=False, manifest=True)
    s2 = r.req("POST", svc_path(ns), man2)[2]
    assert "nodePort" not in s2["spec"]["ports"][0] and "healthCheckNodePort" not in s2["spec"]
    assert s2["spec"]["externalTrafficPolicy"] == "Cluster"
    # AlreadyExists, Invalid, missing namespace
    st, _, body = r.req("POST", svc_path(ns), man)
    assert st == 409 and is_status(body, 409, "AlreadyExists")
    assert body["details"] == {"name": "web", "kind": "services"}
    bad = O.service("bad", ns, ports=[80, 81], manifest=True)
    for p in bad["spec"]["ports"]:
        del p["name"]
    st, _, body = r.req("POST", svc_path(ns), bad)
    assert st == 422 and is_status(body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "spec.ports[0].name"
    st, _, body = r.req("POST", svc_path("nosuchns"), O.service("x", "nosuchns", manifest=True))
    assert st == 404 and body["details"]["kind"] == "namespaces"
    # a nodePort another Service holds
    taken = O.service("taken", ns, ports=[(80, None, None, None, nps[0])], manifest=True)
    st, _, body = r.req("POST", svc_path(ns), taken)
    assert st == 422 and "already allocated" in body["message"]


def test_factories_are_what_the_server_returns(srv):
    ns = fresh_ns(srv)
    svc = O.service("fac", ns, ports=[(443, 8443, "https")], load_balancer_class="lbd.io/lb")
    stored = srv.create(svc)
    assert stored["spec"] == svc["spec"]
    assert list(stored["metadata"]) == list(svc["metadata"])
    assert list(stored) == list(svc)
    eps = O.endpoint_slice(stored, ["10.244.1.%d" % i for i in range(1, 21)], ports=None)
    got = srv.create(eps)
    assert got["endpoints"] == eps["endpoints"] and got["ports"] == [
        {"name": "https", "port": 8443, "protocol": "TCP"}]
    assert got["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]
    assert got["metadata"]["labels"][O.SERVICE_NAME_LABEL] == "fac"
    n = srv.create(O.node("fac-node-1", "192.168.0.11", exclude_from_lb=True, ready=False))
    assert n["metadata"]["labels"][O.EXCLUDE_LB_LABEL] == "true"
    assert [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"] == ["False"]
    assert n["status"]["addresses"][0] == {"type": "InternalIP", "address": "192.168.0.11"}
    # apply: spec/metadata through the resource, status through /status
    n = srv.apply(O.node("fac-node-1", "192.168.0.11", ready=True, unschedulable=True))
    assert [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    assert n["spec"]["unschedulable"] is True and O.EXCLUDE_LB_LABEL not in n["metadata"]["labels"]
    n = srv.patch("nodes", "fac-node-1", {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
                  type="strategic", subresource="status")
    assert [c["status"] for c in n["status"]["conditions"]] == ["False", "False", "False", "Unknown"]
    lst = Raw(srv).req("GET", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=%s"
                       % (ns, urllib.parse.quote("kubernetes.io/service-name=fac")))[2]
    assert lst["kind"] == "EndpointSliceList" and lst["apiVersion"] == "discovery.k8s.io/v1"
    assert len(lst["items"]) == 1 and "kind" not in lst["items"][0]
    assert lst["items"][0]["metadata"]["name"] == eps["metadata"]["name"]


# ------------------------------------------------------------------- lists

def test_paged_list_is_consistent_and_tokens_expire(srv):
    ns = fresh_ns(srv)
    for i in range(25):
        srv.create(O.service("s%02d" % i, ns, manifest=True))
    r = Raw(srv)
    st, _, p1 = r.req("GET", svc_path(ns) + "?limit=10")
    assert st == 200 and len(p1["items"]) == 10
    assert p1["metadata"]["remainingItemCount"] == 15 and p1["metadata"]["continue"]
    rv = p1["metadata"]["resourceVersion"]
    # a write between pages is not seen by the rest of this list
    srv.create(O.service("s00a", ns, manifest=True))
    srv.delete("services", "s20", ns)
    cont = urllib.parse.quote(p1["metadata"]["continue"])
    p2 = r.req("GET", svc_path(ns) + "?limit=10&continue=" + cont)[2]
    p3 = r.req("GET", svc_path(ns) + "?limit=10&continue=" + urllib.parse.quote(p2["metadata"]["continue"]))[2]
    names = [i["metadata"]["name"] for i in p1["items"] + p2["items"] + p3["items"]]
    assert names == ["s%02d" % i for i in range(25)]
    assert p2["metadata"]["resourceVersion"] == rv and "continue" not in p3["metadata"]
    # expiry on demand: 410 Expired with an inconsistent continue token
    srv.expire_continue_tokens()
    st, _, body = r.req("GET", svc_path(ns) + "?limit=10&continue=" + cont)
    assert st == 410 and is_status(body, 410, "Expired")
    assert body["metadata"]["continue"]
    later = r.req("GET", svc_path(ns) + "?limit=100&continue=" + urllib.parse.quote(body["metadata"]["continue"]))[2]
    assert "s00a" not in [i["metadata"]["name"] for i in later["items"]]   # after the start key
    # expiry by age
    srv.set(continue_ttl=0.2)
    p1 = r.req("GET", svc_path(ns) + "?limit=5")[2]
    time.sleep(0.3)
    assert r.req("GET", svc_path(ns) + "?limit=5&continue=" + urllib.parse.quote(p1["metadata"]["continue"]))[0] == 410
    # resourceVersion=0 is served whole (watch cache semantics)
    full = r.req("GET", svc_path(ns) + "?limit=5&resourceVersion=0")[2]
    assert len(full["items"]) == 25 and "continue" not in full["metadata"]
    # Exact: the list as it was at rv
    old = r.req("GET", svc_path(ns) + "?resourceVersion=%s&resourceVersionMatch=Exact" % rv)[2]
    on = [i["metadata"]["name"] for i in old["items"]]
    assert "s20" in on and "s00a" not in on and old["metadata"]["resourceVersion"] == rv
    srv.compact()
    st, _, body = r.req("GET", svc_path(ns) + "?resourceVersion=%s&resourceVersionMatch=Exact" % rv)
    assert st == 410 and body["reason"] == "Expired"
    st, _, body = r.req("GET", svc_path(ns) + "?resourceVersion=%d" % (srv.resource_version + 100))
    assert st == 504 and body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_selectors(srv):
    ns = fresh_ns(srv)
    srv.create(O.service("a", ns, labels={"tier": "web", "env": "prod"}, manifest=True))
    srv.create(O.service("b", ns, labels={"tier": "db"}, manifest=True))
    srv.create(O.service("c", ns, manifest=True))
    r = Raw(srv)

    def names(q):
        st, _, body = r.req("GET", svc_path(ns) + "?" + q)
        assert st == 200, body
        return [i["metadata"]["name"] for i in body["items"]]
    q = urllib.parse.quote
    assert names("labelSelector=" + q("tier=web")) == ["a"]
    assert names("labelSelector=" + q("tier!=web")) == ["b", "c"]
    assert names("labelSelector=" + q("tier in (web,db),!env")) == ["b"]
    assert names("labelSelector=tier") == ["a", "b"]
    assert names("fieldSelector=" + q("metadata.name=c")) == ["c"]
    assert names("fieldSelector=" + q("metadata.name!=c")) == ["a", "b"]
    st, _, body = r.req("GET", svc_path(ns) + "?fieldSelector=" + q("spec.foo=1"))
    assert st == 400 and body["reason"] == "BadRequest"


# ------------------------------------------------------------------ watches

def _watch(srv, ns, rv, extra=""):
    return Raw(srv).stream(svc_path(ns) + "?watch=1&allowWatchBookmarks=true&resourceVersion=%s%s" % (rv, extra))


def test_watch_events_in_order_and_timeout(srv):
    ns = fresh_ns(srv)
    rv = srv.list("services", ns)["metadata"]["resourceVersion"]
    w = _watch(srv, ns, rv, "&timeoutSeconds=2")
    assert w.status == 200 and w.headers["transfer-encoding"] == "chunked"
    assert w.headers["content-type"] == "application/json"
    srv.wait_for_watches("services")
    srv.create(O.service("w1", ns, manifest=True))
    srv.patch("services", "w1", {"metadata": {"labels": {"x": "y"}}}, ns)
    srv.delete("services", "w1", ns)
    evs = w.events(3)
    assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(e["object"]["kind"] == "Service" and e["object"]["apiVersion"] == "v1" for e in evs)
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    t0 = time.time()
    rest = w.events()
    assert w.ended                               # the server ends the stream at timeoutSeconds
    assert [e["type"] for e in rest] == ["BOOKMARK"]     # and says where it got to first
    assert time.time() - t0 < 2.5
    # replay from an older resourceVersion, and the initial state without one
    w2 = _watch(srv, ns, rv, "&timeoutSeconds=1")
    assert [e["type"] for e in w2.events()] == ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
    srv.create(O.service("w2", ns, manifest=True))
    w3 = Raw(srv).stream(svc_path(ns) + "?watch=true&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in w3.events()] == [("ADDED", "w2")]
    assert [w["resource"] for w in srv.watches(active=False)[-3:]] == ["services"] * 3


def test_watch_label_selector_transitions(srv):
    ns = fresh_ns(srv)
    srv.create(O.service("l", ns, manifest=True))
    rv = srv.resource_version
    w = Raw(srv).stream(svc_path(ns) + "?watch=1&labelSelector=sel%%3Dyes&timeoutSeconds=2&resourceVersion=%d" % rv)
    srv.wait_for_watches("services")
    srv.patch("services", "l", {"metadata": {"labels": {"sel": "yes"}}}, ns)
    srv.patch("services", "l", {"metadata": {"labels": {"sel": "yes", "more": "1"}}}, ns)
    srv.patch("services", "l", {"metadata": {"labels": {"sel": "no"}}}, ns)
    assert [e["type"] for e in w.events(3)] == ["ADDED", "MODIFIED", "DELETED"]
    w.close()


def test_watch_bookmarks(srv):
    ns = fresh_ns(srv)
    srv.set(bookmark_interval=0.2)
    rv = srv.resource_version
    w = _watch(srv, ns, rv, "&timeoutSeconds=3")
    srv.create(O.node("bm-node", "192.168.9.9"))      # another resource moves the revision on
    ev = w.events(1)[0]
    assert ev["type"] == "BOOKMARK"
    o = ev["object"]
    assert o["kind"] == "Service" and o["apiVersion"] == "v1"
    assert o["metadata"] == {"resourceVersion": o["metadata"]["resourceVersion"], "creationTimestamp": None}
    assert int(o["metadata"]["resourceVersion"]) == srv.resource_version
    assert o["spec"] == {} and o["status"] == {"loadBalancer": {}}
    w.close()


def test_watch_too_old_resource_version(srv):
    ns = fresh_ns(srv)
    rv = srv.resource_version
    srv.create(O.service("old", ns, manifest=True))
    srv.compact()
    w = _watch(srv, ns, rv)
    assert w.status == 200
    ev = w.events()
    assert len(ev) == 1 and ev[0]["type"] == "ERROR"
    assert is_status(ev[0]["object"], 410, "Expired") and "too old resource version" in ev[0]["object"]["message"]
    assert w.ended
    srv.set(watch_410_http=True)
    st, _, body = Raw(srv).req("GET", svc_path(ns) + "?watch=1&resourceVersion=%d" % rv)
    assert st == 410 and is_status(body, 410, "Expired")
    # an established watch told it is too old (as when etcd compaction overtakes it)
    srv.set(watch_410_http=False)
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=5")
    srv.add_fault("stream-error", resource="services", namespace=ns, count=1)
    srv.create(O.service("old2", ns, manifest=True))
    ev = w.events()
    assert [e["type"] for e in ev] == ["ERROR"] and ev[0]["object"]["code"] == 410 and w.ended
    # a resourceVersion from the future waits, then 504 ResourceVersionTooLarge
    t0 = time.time()
    st, _, body = Raw(srv).req("GET", svc_path(ns) + "?watch=1&resourceVersion=%d" % (srv.resource_version + 50))
    assert st == 504 and body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert time.time() - t0 >= 2.9
    # a watch from the compaction point itself is fine
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=1")
    assert w.status == 200 and [e["type"] for e in w.events()] == ["BOOKMARK"]


def test_watch_split_events_across_chunks(srv):
    ns = fresh_ns(srv)
    srv.add_fault("split", resource="services", max_piece=3)
    rv = srv.resource_version
    w = _watch(srv, ns, rv, "&timeoutSeconds=2")
    srv.wait_for_watches("services")
    for i in range(5):
        srv.create(O.service("sp%d" % i, ns, manifest=True))
    evs = w.events(5)
    assert [e["object"]["metadata"]["name"] for e in evs] == ["sp%d" % i for i in range(5)]
    assert max(len(c) for c in w.chunks) <= 3
    total = sum(len(c) for c in w.chunks)
    assert len(w.chunks) >= total / 3
    w.close()


def test_watch_drip_hang_garbage_close(srv):
    ns = fresh_ns(srv)
    fid = srv.add_fault("stream-hang", resource="services")
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=5")
    srv.wait_for_watches("services")
    srv.create(O.service("h1", ns, manifest=True))
    w.sock.settimeout(0.5)
    with pytest.raises((socket.timeout, TimeoutError)):
        w.read_chunk()
    w.sock.settimeout(5)
    srv.clear_faults(fid)
    # the stream resumes where it was (the partial read above consumed nothing)
    assert [e["object"]["metadata"]["name"] for e in w.events(1)] == ["h1"]
    srv.add_fault("stream-garbage", resource="services", count=1, data="\x00\xffnot json\n")
    srv.create(O.service("h2", ns, manifest=True))
    with pytest.raises(ValueError):
        w.events(1)
    w.close()
    srv.close_watches()         # the server notices a client gone only when it writes
    deadline = time.time() + 2
    while srv.active_watches("services") and time.time() < deadline:
        time.sleep(0.01)
    srv.add_fault("stream-close", resource="services", after_events=1, count=1)
    srv.add_fault("drip", resource="services", max_piece=50, delay=0.001)
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=5")
    srv.wait_for_watches("services")
    srv.create(O.service("h3", ns, manifest=True))
    srv.create(O.service("h4", ns, manifest=True))
    evs = w.events()
    assert [e["object"]["metadata"]["name"] for e in evs] == ["h3"]
    assert w.closed and not w.ended                 # abrupt: no terminating chunk


def test_close_watches_and_active_counters(srv):
    ns = fresh_ns(srv)
    ws = [_watch(srv, ns, srv.resource_version, "&timeoutSeconds=10") for _ in range(3)]
    srv.wait_for_watches("services", 3)
    assert srv.active_watches("services") == 3 and srv.active_watches()["services"] == 3
    srv.close_watches("services")
    for w in ws:
        assert w.events() == [] and w.ended
    deadline = time.time() + 2
    while srv.active_watches("services") and time.time() < deadline:
        time.sleep(0.01)
    assert srv.active_watches("services") == 0
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=10")
    srv.wait_for_watches("services")
    srv.close_watches(abrupt=True)
    assert w.events() == [] and w.closed and not w.ended


def test_request_faults(srv):
    r = Raw(srv)
    srv.add_fault("error", verb="list", resource="nodes", code=503, retry_after=3, count=1)
    st, h, body = r.req("GET", "/api/v1/nodes")
    assert st == 503 and h["Retry-After"] == "3" and is_status(body, 503, "ServiceUnavailable")
    assert body["details"]["retryAfterSeconds"] == 3
    assert r.req("GET", "/api/v1/nodes")[0] == 200          # count=1: used up
    srv.add_fault("error", resource="nodes", code=429, retry_after=1, count=1)
    st, h, body = r.req("GET", "/api/v1/nodes")
    assert st == 429 and body["reason"] == "TooManyRequests" and h["Retry-After"] == "1"
    srv.add_fault("error", resource="nodes", code=500, count=1)
    st, _, body = r.req("GET", "/api/v1/nodes")
    assert st == 500 and body["reason"] == "InternalError"
    srv.add_fault("garbage", resource="nodes", count=1)
    st, _, body = r.req("GET", "/api/v1/nodes")
    assert st == 200 and isinstance(body, bytes)
    srv.add_fault("close", resource="nodes", count=1)
    with pytest.raises((http_client_errors())):
        r.req("GET", "/api/v1/nodes")
    fid = srv.add_fault("hang", resource="nodes", count=1)
    r.timeout = 0.5
    with pytest.raises((socket.timeout, TimeoutError)):
        r.req("GET", "/api/v1/nodes")
    srv.clear_faults(fid)
    r.timeout = 10
    srv.add_fault("delay", resource="nodes", seconds=0.3, count=1)
    t0 = time.time()
    assert r.req("GET", "/api/v1/nodes")[0] == 200 and time.time() - t0 >= 0.3
    assert srv.faults()[-1]["hits"] == 1 and srv.faults()[-1]["action"] == "delay"


def http_client_errors():
    import http.client
    return (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)


def test_down_and_up_keep_port_and_state(srv):
    ns = fresh_ns(srv)
    srv.create(O.service("persist", ns, manifest=True))
    port = srv.port
    w = _watch(srv, ns, srv.resource_version, "&timeoutSeconds=10")
    srv.wait_for_watches("services")
    srv.down()
    assert w.events() == [] and w.closed and not w.ended
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((srv.host, port), timeout=1)
    srv.up()
    assert srv.port == port
    assert Raw(srv).req("GET", svc_path(ns, "persist"))[0] == 200


# ------------------------------------------------------------------- writes

def test_put_conflict_and_status_subresource(srv):
    ns = fresh_ns(srv)
    r = Raw(srv)
    s = srv.create(O.service("st", ns, manifest=True))
    stale = json.loads(json.dumps(s))
    srv.patch("services", "st", {"metadata": {"labels": {"a": "b"}}}, ns)
    stale["spec"]["sessionAffinity"] = "ClientIP"
    st, _, body = r.req("PUT", svc_path(ns, "st"), stale)
    assert st == 409 and is_status(body, 409, "Conflict")
    assert "the object has been modified" in body["message"]
    # status through /status; the main resource ignores status and vice versa
    cur = srv.get("services", "st", ns)
    upd = json.loads(json.dumps(cur))
    upd["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "Proxy"}]}}
    upd["spec"]["sessionAffinity"] = "ClientIP"
    st, _, got = r.req("PUT", svc_path(ns, "st", "status"), upd)
    assert st == 200 and got["status"] == upd["status"] and got["spec"]["sessionAffinity"] == "None"
    assert got["metadata"]["generation"] == 1
    st, _, body = r.req("PUT", svc_path(ns, "st", "status"), upd)   # upd's RV is stale now
    assert st == 409
    st, _, got = r.req("PATCH", svc_path(ns, "st"), {"status": {"loadBalancer": {}}, "spec": {
        "sessionAffinity": "ClientIP"}}, "application/merge-patch+json")
    assert got["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.1"
    assert got["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert got["metadata"]["generation"] == 2
    # strategic merge on /status: ingress is atomic (replaced)
    st, _, got = r.req("PATCH", svc_path(ns, "st", "status"), {"status": {"loadBalancer": {"ingress": [
        {"ip": "192.0.2.2", "ipMode": "Proxy", "ports": [{"port": 80, "protocol": "TCP"}]}]}}},
        "application/strategic-merge-patch+json")
    assert st == 200 and [i["ip"] for i in got["status"]["loadBalancer"]["ingress"]] == ["192.0.2.2"]
    # a patch carrying a stale resourceVersion is refused
    st, _, body = r.req("PATCH", svc_path(ns, "st", "status"), {"metadata": {"resourceVersion": "1"},
                        "status": {"loadBalancer": {}}}, "application/merge-patch+json")
    assert st == 409 and body["reason"] == "Conflict"
    # a no-op write does not bump the resourceVersion (and sends no event)
    rv = srv.resource_version
    st, _, got = r.req("PATCH", svc_path(ns, "st", "status"), {"status": got["status"]},
                       "application/merge-patch+json")
    assert st == 200 and srv.resource_version == rv
    # unconditional PUT without resourceVersion; allocated fields are kept
    cur = srv.get("services", "st", ns)
    put = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "st", "namespace": ns},
           "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "x"}}}
    st, _, got = r.req("PUT", svc_path(ns, "st"), put)
    assert st == 200, got
    assert got["spec"]["clusterIP"] == cur["spec"]["clusterIP"]
    assert got["spec"]["ports"][0]["nodePort"] == cur["spec"]["ports"][0]["nodePort"]
    assert "labels" not in got["metadata"]
    st, _, body = r.req("PATCH", svc_path(ns, "st"), {"x": 1}, "application/apply-patch+yaml")
    assert st == 415


def test_patch_flavours(srv):
    ns = fresh_ns(srv)
    r = Raw(srv)
    srv.create(O.service("p", ns, ports=[(80, 8080, "http"), (443, 8443, "https")], manifest=True))
    smp = "application/strategic-merge-patch+json"
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"metadata": {"finalizers": ["a/x"]}}, smp)
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"metadata": {"finalizers": ["b/y"]}}, smp)
    assert got["metadata"]["finalizers"] == ["a/x", "b/y"]                 # merged, not replaced
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/x"]}}, smp)
    assert got["metadata"]["finalizers"] == ["b/y"]
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}}, smp)
    assert [(p["port"], p["targetPort"], p["name"]) for p in got["spec"]["ports"]] == \
        [(80, 8080, "http"), (443, 9443, "https")]
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}}, smp)
    assert [p["port"] for p in got["spec"]["ports"]] == [443]
    st, _, got = r.req("PATCH", svc_path(ns, "p"), {"metadata": {"finalizers": ["c/z"]}},
                       "application/merge-patch+json")
    assert got["metadata"]["finalizers"] == ["c/z"]                        # merge patch replaces lists
    jp = "application/json-patch+json"
    rv = got["metadata"]["resourceVersion"]
    st, _, got = r.req("PATCH", svc_path(ns, "p"), [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "d/w"},
        {"op": "replace", "path": "/spec/sessionAffinity", "value": "ClientIP"}], jp)
    assert st == 200 and got["metadata"]["finalizers"] == ["c/z", "d/w"]
    st, _, body = r.req("PATCH", svc_path(ns, "p"), [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv}], jp)
    assert st == 422 and body["reason"] == "Invalid"
    assert "test" in body["details"]["causes"][0]["message"]
    st, _, body = r.req("PATCH", svc_path(ns, "p"), "{not json", jp)
    assert st == 400
    st, _, body = r.req("PATCH", svc_path(ns, "nope"), {}, "application/merge-patch+json")
    assert st == 404 and is_status(body, 404, "NotFound")


def test_finalizers_hold_deletion(srv):
    ns = fresh_ns(srv)
    r = Raw(srv)
    s = srv.create(O.service("fin", ns, finalizers=[O.CLEANUP_FINALIZER], manifest=True))
    w = _watch(srv, ns, s["metadata"]["resourceVersion"], "&timeoutSeconds=3")
    srv.wait_for_watches("services")
    st, _, got = r.req("DELETE", svc_path(ns, "fin"))
    assert st == 200 and got["metadata"]["deletionTimestamp"]
    assert got["metadata"]["deletionGracePeriodSeconds"] == 0 and got["metadata"]["generation"] == 2
    assert r.req("GET", svc_path(ns, "fin"))[0] == 200
    st, _, body = r.req("PATCH", svc_path(ns, "fin"), {"metadata": {"finalizers": [O.CLEANUP_FINALIZER, "new/one"]}},
                        "application/merge-patch+json")
    assert st == 422 and "no new finalizers" in body["message"]
    st, _, got = r.req("PATCH", svc_path(ns, "fin"), {"metadata": {"$deleteFromPrimitiveList/finalizers": [
        O.CLEANUP_FINALIZER]}}, "application/strategic-merge-patch+json")
    assert st == 200
    assert r.req("GET", svc_path(ns, "fin"))[0] == 404
    evs = w.events(2)
    assert [e["type"] for e in evs] == ["MODIFIED", "DELETED"]
    assert evs[0]["object"]["metadata"]["deletionTimestamp"]
    # without finalizers: gone at once, answered with a Success Status
    srv.create(O.service("nofin", ns, manifest=True))
    st, _, body = r.req("DELETE", svc_path(ns, "nofin"))
    assert st == 200 and body["kind"] == "Status" and body["status"] == "Success"
    w.close()


def test_events_both_apis(srv):
    ns = fresh_ns(srv)
    r = Raw(srv)
    s = srv.create(O.service("ev", ns, manifest=True))
    new = O.event(s, "IPAllocated", "Assigned IP 192.0.2.7")
    st, _, got = r.req("POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns, new)
    assert st == 201 and got["note"] == "Assigned IP 192.0.2.7" and got["regarding"]["name"] == "ev"
    old = O.event(s, "Legacy", "core event", api="v1")
    st, _, got2 = r.req("POST", "/api/v1/namespaces/%s/events" % ns, old)
    assert st == 201 and got2["message"] == "core event"
    core = r.req("GET", "/api/v1/namespaces/%s/events" % ns)[2]
    by = {e["reason"]: e for e in core["items"]}
    assert by["IPAllocated"]["message"] == "Assigned IP 192.0.2.7"
    assert by["IPAllocated"]["reportingComponent"] == "lbd.io/lbd"
    assert by["IPAllocated"]["involvedObject"]["uid"] == s["metadata"]["uid"]
    v1 = r.req("GET", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns)[2]
    assert {e["reason"] for e in v1["items"]} == {"IPAllocated", "Legacy"}
    assert {e.get("note") for e in v1["items"]} == {"Assigned IP 192.0.2.7", "core event"}
    sel = r.req("GET", "/api/v1/namespaces/%s/events?fieldSelector=%s" % (
        ns, urllib.parse.quote("involvedObject.name=ev,reason=Legacy")))[2]
    assert [e["reason"] for e in sel["items"]] == ["Legacy"]
    bad = dict(new)
    del bad["reportingController"]
    bad["metadata"] = {"name": "bad", "namespace": ns}
    st, _, body = r.req("POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns, bad)
    assert st == 422 and body["details"]["causes"][0]["field"] == "reportingController"


def test_request_log(srv):
    ns = fresh_ns(srv)
    srv.clear_requests()
    r = Raw(srv)
    r.req("POST", svc_path(ns), O.service("log", ns, manifest=True))
    r.req("PATCH", svc_path(ns, "log", "status"), {"status": {}}, "application/merge-patch+json")
    r.req("GET", svc_path(ns) + "?limit=5&labelSelector=a%3Db")
    reqs = srv.requests()
    assert [(q["method"], q["verb"], q["subresource"], q["status"]) for q in reqs] == [
        ("POST", "create", None, 201), ("PATCH", "patch", "status", 200), ("GET", "list", None, 200)]
    assert reqs[0]["user_agent"] == "fakeapi-test/1.0" and reqs[0]["content_type"] == "application/json"
    assert json.loads(reqs[0]["body"])["metadata"]["name"] == "log"
    assert reqs[1]["content_type"] == "application/merge-patch+json"
    assert reqs[2]["query"] == {"limit": "5", "labelSelector": "a=b"}
    assert reqs[2]["namespace"] == ns and reqs[2]["resource"] == "services"
    assert srv.requests(verb="patch", subresource="status")[0]["id"] == reqs[1]["id"]


# ----------------------------------------------------- standalone + control

def test_standalone_process_and_control_channel(tmp_path):
    d = tmp_path / "srv"
    objs = tmp_path / "objs.json"
    objs.write_text(json.dumps([O.node("n1", "192.168.1.1"), O.service("boot", "demo", manifest=True)]))
    p = subprocess.Popen([sys.executable, "-m", "fakeapi", "serve", "--dir", str(d), "--objects",
                          str(objs), "--control-port", "0"], cwd=HERE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(p.stdout.readline())
        assert info["url"].startswith("https://127.0.0.1:")
        c = ControlClient(str(d))
        assert [o["metadata"]["name"] for o in c.objects("services", "demo")] == ["boot"]
        c.create(O.service("ctl", "demo", manifest=True))
        c.add_fault("error", verb="list", resource="nodes", code=503, count=1)
        assert c.get("services", "nope", "demo") is None
        with pytest.raises(ApiError) as e:
            c.delete("services", "nope", "demo")
        assert e.value.code == 404
        port = info["port"]
        st = subprocess.run([sys.executable, "-m", "fakeapi", "ctl", "--dir", str(d), "faults"],
                            cwd=HERE, capture_output=True, text=True, check=True)
        assert json.loads(st.stdout)[0]["action"] == "error"
        c.down()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
        c.up()
        assert c.info()["port"] == port and c.info()["up"]
    finally:
        p.terminate()
        p.wait(5)


# ------------------------------------------------------------- real clients

def _kubectls():
    found = []
    if os.path.exists("/usr/bin/kubectl"):
        found.append("/usr/bin/kubectl")
    versions = sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"),
                      key=lambda p: int(p.rsplit(".", 1)[1]))
    if versions:
        found.append(versions[0])          # the oldest besides the default one
    found += [p for p in os.environ.get("FAKEAPI_KUBECTL", "").split(":") if p]
    return found or [None]


def _kube_minor(kubectl):
    out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
    return int(json.loads(out.stdout)["clientVersion"]["minor"].rstrip("+"))


@pytest.mark.parametrize("kubectl", _kubectls())
def test_kubectl(srv, kubectl, tmp_path):
    if kubectl is None:
        pytest.skip("no kubectl found (/usr/bin/kubectl, google-cloud-sdk, $FAKEAPI_KUBECTL)")
    ns = fresh_ns(srv)
    minor = _kube_minor(kubectl)
    env = dict(os.environ, KUBECONFIG=srv.path("kubeconfig"), HOME=str(tmp_path))

    def k(*args, check=True, stdin=None):
        r = subprocess.run([kubectl, "-n", ns, *args], env=env, capture_output=True, text=True,
                           input=stdin, timeout=30)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r
    assert "Server Version" in k("version").stdout
    man = tmp_path / "svc.json"
    man.write_text(json.dumps(O.service("kc", ns, ports=[(80, 8080, "http")],
                                        finalizers=[O.CLEANUP_FINALIZER], manifest=True)))
    k("create", "-f", str(man))
    got = json.loads(k("get", "svc", "kc", "-o", "json").stdout)
    assert got["spec"]["ports"][0]["nodePort"] and got["metadata"]["finalizers"] == [O.CLEANUP_FINALIZER]
    lst = json.loads(k("get", "svc", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in lst["items"]] == ["kc"]
    # apply: a three-way strategic merge patch
    m = json.loads(man.read_text())
    m["spec"]["ports"][0]["targetPort"] = 9090
    m["metadata"]["labels"] = {"applied": "yes"}
    man.write_text(json.dumps(m))
    k("apply", "-f", str(man))
    got = json.loads(k("get", "svc", "kc", "-o", "json").stdout)
    assert got["spec"]["ports"][0]["targetPort"] == 9090 and got["metadata"]["labels"] == {"applied": "yes"}
    assert got["metadata"]["generation"] == 2
    if minor >= 24:
        k("patch", "svc", "kc", "--subresource=status", "--type=merge", "-p",
          json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9", "ipMode": "Proxy"}]}}}))
        assert srv.get("services", "kc", ns)["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.9"
        # human output comes from the server's Table
        table = k("get", "svc").stdout.split("\n")
        assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
        assert table[1].split()[:4] == ["kc", "LoadBalancer", got["spec"]["clusterIP"], "192.0.2.9"]
    k("patch", "svc", "kc", "--type=json", "-p", json.dumps([{"op": "add", "path": "/metadata/annotations",
                                                             "value": {"a": "b"}}]))
    k("label", "svc", "kc", "x=y")
    # get -w: list, then watch from the list's resourceVersion
    wp = subprocess.Popen([kubectl, "-n", ns, "get", "svc", "-w", "-o", "json", "--request-timeout=8s"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    srv.wait_for_watches("services", timeout=10)
    k("delete", "svc", "kc", "--wait=false")
    assert srv.get("services", "kc", ns)["metadata"]["deletionTimestamp"]
    k("patch", "svc", "kc", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    deadline = time.time() + 10
    while srv.get("services", "kc", ns) is not None and time.time() < deadline:
        time.sleep(0.05)
    assert srv.get("services", "kc", ns) is None
    time.sleep(0.5)
    srv.close_watches("services")
    out, _ = wp.communicate(timeout=15)
    docs = []
    dec = json.JSONDecoder()
    i = 0
    while i < len(out):
        if out[i].isspace():
            i += 1
            continue
        o, i = dec.raw_decode(out, i)
        docs.append(o)
    assert any(d["metadata"].get("deletionTimestamp") for d in docs), out[:500]
    assert docs[0]["metadata"]["name"] == "kc"
    k("get", "nodes")
    k("get", "endpointslices")
    k("get", "events")
    ua = {q["user_agent"].split(" ")[0] for q in srv.requests(namespace=ns)}
    assert any(u.startswith("kubectl") for u in ua)


def test_python_kubernetes_client(srv):
    pytest.importorskip("kubernetes", reason="python3-kubernetes not installed")
    from kubernetes import client, config, watch
    ns = fresh_ns(srv)
    api_client = config.new_client_from_config(config_file=srv.path("kubeconfig"))
    v1 = client.CoreV1Api(api_client)
    body = O.service("py", ns, ports=[(80, 8080, "http")], manifest=True)
    v1.create_namespaced_service(ns, body)
    lst = v1.list_namespaced_service(ns)
    assert [s.metadata.name for s in lst.items] == ["py"]
    assert lst.items[0].spec.ports[0].node_port >= 30000
    rv = lst.metadata.resource_version
    got = []

    def run():
        w = watch.Watch()
        for ev in w.stream(v1.list_namespaced_service, ns, resource_version=rv, timeout_seconds=3,
                           allow_watch_bookmarks=True):
            got.append((ev["type"], ev["object"].metadata.name))
            if len(got) == 2:
                w.stop()
    srv.add_fault("split", resource="services", max_piece=5, count=1)
    t = threading.Thread(target=run)
    t.start()
    srv.wait_for_watches("services")
    v1.patch_namespaced_service_status("py", ns, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.3"}]}}})
    v1.delete_namespaced_service("py", ns)
    t.join(10)
    assert got == [("MODIFIED", "py"), ("DELETED", "py")]
    disc = client.DiscoveryV1Api(api_client)
    svc = srv.create(O.service("py2", ns))
    srv.create(O.endpoint_slice(svc, ["10.0.0.%d" % i for i in range(1, 4)]))
    eps = disc.list_namespaced_endpoint_slice(ns, label_selector="kubernetes.io/service-name=py2")
    assert [e.addresses[0] for e in eps.items[0].endpoints] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    with pytest.raises(client.exceptions.ApiException) as e:
        v1.read_namespaced_service("nope", ns)
    assert e.value.status == 404 and json.loads(e.value.body)["reason"] == "NotFound"


# ------------------------------------------------------------------- scale

def test_scale_1000_services_20_endpoints(tmp_path):
    """lbd's convergence test cluster: load, page through it over TLS, and
    stream 1,000 changes with per-event write times."""
    srv = FakeAPI(str(tmp_path), seed=2)
    srv.start()
    try:
        t0 = time.time()
        for i in range(1000):
            s = srv.create(O.service("s%04d" % i, "scale", ports=[(80, 8080, "http")]))
            srv.create(O.endpoint_slice(s, ["10.%d.%d.%d" % (1 + i // 250, i % 250, j) for j in range(1, 21)],
                                        name="s%04d-eps" % i))
        t_load = time.time() - t0
        r = Raw(srv)
        t0 = time.time()
        total, cont, pages = 0, "", 0
        while True:
            st, _, body = r.req("GET", "/apis/discovery.k8s.io/v1/endpointslices?limit=500" +
                                ("&continue=" + urllib.parse.quote(cont) if cont else ""))
            assert st == 200
            total += len(body["items"])
            pages += 1
            cont = body["metadata"].get("continue")
            if not cont:
                break
        t_list = time.time() - t0
        assert total == 1000 and pages == 2
        rv = body["metadata"]["resourceVersion"]
        # curl reads the stream as fast as lbd would (a Python reader in this
        # process would compete for the GIL and slow the writer down)
        out = tmp_path / "watch.out"
        curl = subprocess.Popen(
            ["curl", "-sS", "-N", "--cacert", srv.path("ca.crt"), "-H", "Authorization: Bearer " + srv.token,
             "-o", str(out), srv.url + "/apis/discovery.k8s.io/v1/endpointslices?watch=1&allowWatchBookmarks=true"
             "&timeoutSeconds=60&resourceVersion=" + rv])
        srv.wait_for_watches("endpointslices", timeout=10)
        t0 = time.time()
        for i in range(1000):
            srv.patch("endpointslices", "s%04d-eps" % i, [{"op": "replace", "path": "/endpoints/0/conditions/ready",
                                                        "value": False}], "scale", type="json")
            if i % 10 == 9:
                time.sleep(0.002)        # a busy cluster, not one burst
        deadline = time.time() + 30
        while len(srv.watch_writes("endpointslices")) < 1000 and time.time() < deadline:
            time.sleep(0.01)
        t_changes = time.time() - t0
        srv.close_watches()
        curl.wait(10)
        got = [json.loads(x) for x in out.read_bytes().splitlines() if x.strip()]
        assert len(got) == 1000 and all(e["type"] == "MODIFIED" for e in got)
        lat = sorted(x["written"] - x["committed"] for x in srv.watch_writes("endpointslices"))
        assert len(lat) == 1000
        p50, p99 = lat[500] * 1000, lat[989] * 1000
        print("\nfakeapi scale: load 1000 svc + 1000 slices x20 %.2fs; list 2 pages %.3fs; "
              "1000 changes streamed in %.2fs; commit->written p50 %.2f ms p99 %.2f ms"
              % (t_load, t_list, t_changes, p50, p99))
        assert t_list < 5
    finally:
        srv.stop()
