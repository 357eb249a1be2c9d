# SPDX-License-Identifier: BSD-3-Clause
"""lib/kapi against the fake kube-apiserver (tests/k8s/fakeapi): list and
watch, paging, split events, bookmarks, 410 both ways, expired continue
tokens, Retry-After, garbage, hung streams, an API that goes away, token
rotation, client certificates, in-cluster files, TLS verification and the
generic request API. No root; each test takes a few seconds.

kapi_probe (tests/kapi/kapi_probe.c) runs the library on a lib/ev loop; the
ASan build is used by default (LBD_BUILD), and every probe must exit 0 with
no sanitizer report."""
import base64
import errno
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from kapiprobe import Probe, find_fakeapi, probe_path

FAKEAPI = find_fakeapi()
if FAKEAPI is None:
    pytest.skip("the fake API server (tests/k8s/fakeapi) is not in this tree; "
                "set LB_FAKEAPI_DIR to the directory that holds it", allow_module_level=True)
if not os.path.exists(probe_path()):
    pytest.skip("%s is not built (make build-asan)" % probe_path(), allow_module_level=True)
sys.path.insert(0, FAKEAPI)
from fakeapi import FakeAPI, objects as O  # noqa: E402

FAST = ["--backoff-base-ms", "100", "--backoff-max-ms", "1000", "--seed", "1"]


@pytest.fixture
def srv(tmp_path):
    O.reset()
    s = FakeAPI(str(tmp_path / "api"), bookmark_interval=60.0)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def probes():
    started = []

    def start(*args, **kw):
        p = Probe(*args, **kw)
        started.append(p)
        p.wait(10, ev="ready")
        return p
    yield start
    for p in started:
        p.kill()


def populate(srv, n=5, endpoints=3, nodes=2):
    for i in range(n):
        svc = srv.create(O.service("web%d" % i, "default", ports=[(80, 8080, "http")]))
        srv.create(O.endpoint_slice(svc, ["10.244.%d.%d" % (i, j + 1) for j in range(endpoints)]))
    for i in range(nodes):
        srv.create(O.node("n%d" % i, "192.168.1.%d" % (10 + i)))


def synced(p, timeout=10):
    return p.wait(timeout, ev="synced")


def kc(srv):
    return ["--kubeconfig", srv.path("kubeconfig")]


def names(events):
    return [e["name"] for e in events]


def test_list_then_watch(srv, probes):
    populate(srv)
    p = probes(*kc(srv), "--list-limit", "2", "--watch-timeout", "30", *FAST)
    synced(p)
    ends = {e["res"]: e for e in p.seen(ev="relist_end")}
    assert ends["services"]["count"] == 5
    assert ends["endpointslices"]["count"] == 5
    assert ends["nodes"]["count"] == 2
    assert sorted(names(p.seen(ev="object", res="services"))) == ["web%d" % i for i in range(5)]

    lists = srv.requests(verb="list", resource="services")
    assert len(lists) == 3                      # pages of 2, 2 and 1
    assert "continue" not in lists[0]["query"]
    assert all(r["query"]["limit"] == "2" for r in lists)
    assert all(r["query"].get("continue") for r in lists[1:])
    for r in lists:
        assert r["user_agent"] == "lbd/probe"
        assert r["headers"]["Authorization"] == "Bearer " + srv.token
        assert r["headers"]["Accept"] == "application/json"
    srv.wait_for_watches("services")
    w = srv.requests(verb="watch", resource="services")[0]["query"]
    assert w["resourceVersion"] == ends["services"]["rv"]
    assert w["allowWatchBookmarks"] == "true"
    assert 30 <= int(w["timeoutSeconds"]) < 60

    # ADDED, MODIFIED, DELETED in order, resourceVersions increasing
    srv.create(O.service("new", "default"))
    srv.patch("services", "new", {"metadata": {"labels": {"x": "y"}}})
    srv.delete("services", "new")
    evs = [p.wait(5, ev="object", res="services", name="new") for _ in range(3)]
    assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"]
    rvs = [int(e["rv"]) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > int(ends["services"]["rv"])
    st = p.resource("services")
    assert st["state"] == "watching" and st["synced"]
    assert st["resource_version"] == evs[-1]["rv"]
    c = st["counters"]
    assert (c["list_pages"], c["relists"], c["watches"]) == (3, 1, 1)
    assert (c["added"], c["modified"], c["deleted"], c["objects_listed"]) == (1, 1, 1, 5)
    assert sum(c[k] for k in ("gone", "http_errors", "transport_errors", "stalls",
                              "decode_errors")) == 0
    p.close()


def test_split_events_and_bookmarks(srv, probes):
    populate(srv, n=2)
    srv.set(bookmark_interval=0.3)
    # every watch write cut into 1..3-byte chunks, each flushed on its own
    srv.add_fault("split", max_piece=3, resource="services")
    p = probes(*kc(srv), "--watch-timeout", "30", "--full", *FAST)
    synced(p)
    for i in range(15):
        srv.create(O.service("s%02d" % i, "default", annotations={"note": "caf\u00e9 \u2603 %d" % i},
                             ports=[(80 + i, 8080, "http")]))
    got = [p.wait(10, ev="object", res="services", type="ADDED") for _ in range(15)]
    assert names(got) == ["s%02d" % i for i in range(15)]
    # whole objects: what the server stores, field for field
    for e in got:
        stored = srv.get("services", e["name"], namespace="default")
        assert e["obj"]["metadata"] == stored["metadata"]
        assert e["obj"]["spec"] == stored["spec"]
    time.sleep(1.0)
    st = p.resource("services")
    assert st["counters"]["bookmarks"] >= 1
    assert int(st["resource_version"]) >= int(got[-1]["rv"])
    # a watch the server ends resumes from the bookmark's resourceVersion: no relist
    rv = p.resource("services")["resource_version"]
    before = len(srv.requests(verb="watch", resource="services"))
    srv.close_watches("services")
    deadline = time.time() + 5
    while len(srv.requests(verb="watch", resource="services")) == before and time.time() < deadline:
        time.sleep(0.02)
    again = srv.requests(verb="watch", resource="services")[-1]["query"]
    assert int(again["resourceVersion"]) >= int(rv)
    st = p.resource("services")
    assert st["counters"]["relists"] == 1 and st["counters"]["watch_ends"] >= 1
    assert st["counters"]["decode_errors"] == 0
    p.close()


def test_gone_in_stream_and_as_status(srv, probes):
    populate(srv, n=3)
    p = probes(*kc(srv), "--watch-timeout", "30", *FAST)
    synced(p)
    # in-stream: a 410 ERROR event → relist
    srv.add_fault("stream-error", code=410, count=1, resource="services")
    srv.create(O.service("after", "default"))
    p.wait(5, ev="relist_begin", res="services")
    end = p.wait(5, ev="relist_end", res="services")
    assert end["count"] == 4
    p.wait(5, ev="state", res="services", state="watching")
    st = p.resource("services")["counters"]
    assert st["gone"] == 1 and st["relists"] == 2

    # as an HTTP status on the resumed watch
    srv.add_fault("error", code=410, count=1, verb="watch", resource="endpointslices")
    srv.close_watches("endpointslices")
    p.wait(5, ev="relist_begin", res="endpointslices")
    assert p.wait(5, ev="relist_end", res="endpointslices")["count"] == 3
    p.wait(5, ev="state", res="endpointslices", state="watching")
    c = p.resource("endpointslices")["counters"]
    assert c["gone"] == 1 and c["relists"] == 2 and c["watch_ends"] == 1
    assert [r["status"] for r in srv.requests(verb="watch", resource="endpointslices")][:2] == \
        [200, 410]

    # a real compaction behind the watch's back: the resumed watch is too old
    srv.set(watch_410_http=True)
    srv.add_fault("stream-hang", resource="nodes")
    time.sleep(0.2)
    srv.create(O.node("n9", "192.168.1.99"))
    srv.compact()
    srv.clear_faults()
    srv.close_watches("nodes", abrupt=True)
    p.wait(5, ev="relist_begin", res="nodes")
    assert p.wait(5, ev="relist_end", res="nodes")["count"] == 3
    c = p.resource("nodes")["counters"]
    assert c["gone"] == 1 and c["relists"] == 2
    p.close()


def test_expired_continue_token(srv, probes):
    populate(srv, n=7, nodes=0)
    fid = srv.add_fault("delay", seconds=0.4, verb="list", resource="services")
    p = probes(*kc(srv), "--resources", "services", "--list-limit", "2", *FAST)
    p.wait(5, ev="relist_begin", res="services")     # page 1 is in
    srv.expire_continue_tokens()                     # page 2 will be 410
    p.wait(5, ev="relist_begin", res="services")     # started over
    srv.clear_faults(fid)
    end = p.wait(10, ev="relist_end", res="services")
    assert end["count"] == 7
    c = p.resource("services")["counters"]
    assert c["gone"] == 1 and c["list_restarts"] == 1 and c["relists"] == 1
    lists = srv.requests(verb="list", resource="services")
    assert [("continue" in r["query"]) for r in lists][:3] == [False, True, False]
    assert lists[1]["status"] == 410
    p.close()


def test_list_failures(srv, probes):
    """Retry-After, backoff, a hung LIST, garbage instead of a list."""
    populate(srv, n=1)
    srv.add_fault("error", code=429, retry_after=1, count=1, verb="list", resource="nodes")
    srv.add_fault("garbage", count=1, verb="list", resource="nodes")
    srv.add_fault("error", code=500, count=3, verb="list", resource="endpointslices")
    srv.add_fault("hang", count=1, verb="list", resource="services")
    p = probes(*kc(srv), "--list-idle-ms", "500", *FAST)
    synced(p, 15)
    nl = srv.requests(verb="list", resource="nodes")
    assert len(nl) == 3 and nl[0]["status"] == 429 and nl[2]["status"] == 200
    assert nl[1]["fault"]                               # the garbage
    assert nl[1]["time"] - nl[0]["time"] >= 0.95        # Retry-After: 1, backoff alone ~0.1
    el = srv.requests(verb="list", resource="endpointslices")
    assert [r["status"] for r in el] == [500, 500, 500, 200]
    gaps = [b["time"] - a["time"] for a, b in zip(el, el[1:])]
    # jittered into [d/2, d] with d = 100, 200, 400 ms (plus the request itself)
    for g, d in zip(gaps, (0.1, 0.2, 0.4)):
        assert d / 2 - 0.01 <= g <= d + 0.5, gaps
    sl = srv.requests(verb="list", resource="services")
    # the silence is timed from the start of the transfer (connection set-up
    # included), the server logs the request once it has read it
    assert len(sl) == 2 and sl[1]["time"] - sl[0]["time"] >= 0.25
    c = p.resource("nodes")["counters"]
    assert (c["throttled"], c["http_errors"], c["decode_errors"], c["relists"]) == (1, 1, 1, 1)
    c = p.resource("endpointslices")["counters"]
    assert (c["http_errors"], c["relists"]) == (3, 1)
    assert "HTTP 500" in p.resource("endpointslices")["last_error"]
    c = p.resource("services")["counters"]
    assert (c["stalls"], c["relists"]) == (1, 1)
    # failed lists never opened a relist: the consumer's state stayed put
    for r in ("nodes", "endpointslices", "services"):
        assert len(p.seen(ev="relist_begin", res=r)) == 1
    p.close()


def test_garbage_and_hung_stream(srv, probes):
    populate(srv, n=2)
    p = probes(*kc(srv), "--watch-timeout", "1", "--watch-slack-ms", "600", *FAST)
    synced(p)
    # garbage in the services stream: counted, watch resumed from the last
    # good resourceVersion (no relist), later events still arrive
    srv.add_fault("stream-garbage", count=1, resource="services", then="close")
    srv.create(O.service("g1", "default"))
    p.wait(5, ev="state", res="services", state="backoff",
           error=lambda e: "invalid JSON" in e)
    srv.create(O.service("g2", "default"))
    assert p.wait(5, ev="object", res="services", name="g2")["type"] == "ADDED"
    c = p.resource("services")["counters"]
    assert c["decode_errors"] == 1 and c["relists"] == 1
    assert [e["name"] for e in p.seen(ev="object", res="services", type="ADDED")][-2:] == ["g1", "g2"]

    # a stream that stops sending: given up after timeoutSeconds + slack
    srv.add_fault("stream-hang", resource="nodes")
    srv.close_watches("nodes")      # the next watch is the hung one
    t0 = time.time()
    ev = p.wait(6, ev="state", res="nodes", state="backoff", error=lambda e: "no data" in e)
    srv.clear_faults()
    hung_for = time.time() - t0
    assert 1.5 <= hung_for <= 5.5, hung_for   # T in [1, 2) s + 0.6 s slack
    p.wait(5, ev="state", res="nodes", state="watching")
    c = p.resource("nodes")["counters"]
    assert c["stalls"] == 1 and c["relists"] == 1
    p.close()


def test_api_down_and_back(srv, probes):
    populate(srv, n=2)
    p = probes(*kc(srv), "--watch-timeout", "30", *FAST)
    synced(p)
    mark = p.mark()
    srv.down()
    for r in ("services", "endpointslices", "nodes"):
        p.wait(5, since=mark, ev="state", res=r, state="backoff")
    srv.create(O.service("while-down", "default"))
    time.sleep(1.5)
    # nothing was withdrawn: no relist, no DELETED
    assert len(p.seen(ev="relist_begin")) == 3
    assert not p.seen(ev="object", type="DELETED")
    srv.up()
    assert p.wait(10, ev="object", res="services", name="while-down")["type"] == "ADDED"
    for r in ("services", "endpointslices", "nodes"):
        st = p.resource(r)
        assert st["counters"]["relists"] == 1          # resumed, not relisted
        assert st["counters"]["transport_errors"] >= 1
    p.close()


def rewrite_in_place(path, data):
    """Same inode, size and mtime: only a re-read after a 401 can notice."""
    st = os.stat(path)
    assert len(data) == st.st_size
    with open(path, "r+") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_token_rotation(srv, probes):
    populate(srv, n=1)
    p = probes(*kc(srv), "--context", "fake-tokenfile", "--watch-timeout", "30", *FAST)
    synced(p)
    old = srv.token
    # rotation, as kubelet does it (the file is replaced): noticed before the
    # next request
    new = srv.rotate_token(grace=0)
    r = p.request("a", method="GET", path="/api/v1/namespaces/default/services/web0")
    assert r["status"] == 200 and r["body"]["metadata"]["name"] == "web0"
    assert srv.requests(path="/api/v1/namespaces/default/services/web0")[-1]["headers"][
        "Authorization"] == "Bearer " + new

    # the token revoked while the file looks unchanged: 401, forced re-read,
    # one retry with the new token (the reflectors are stopped meanwhile, so
    # that no watch reads the file between the rewrite and the mtime reset)
    for res in ("services", "endpointslices", "nodes"):
        p.send(cmd="stop", res=res)
    p.status()
    newer = new[:-4] + "ZZZZ"
    srv.add_token(newer)
    srv.revoke_token(new)
    rewrite_in_place(srv.path("token"), newer)
    r = p.request("b", method="GET", path="/api/v1/namespaces/default/services/web0")
    assert r["status"] == 200
    mark = p.mark()
    for res in ("services", "endpointslices", "nodes"):
        p.send(cmd="start", res=res)
    for res in ("services", "endpointslices", "nodes"):
        p.wait(5, since=mark, ev="relist_end", res=res)
    st = p.status()["kapi"]
    assert st["requests"]["auth_retries"] == 1
    assert [x["status"] for x in srv.requests(path="/api/v1/namespaces/default/services/web0")] \
        == [200, 401, 200]

    # a watch refused with 401 backs off until the file holds a good token
    p.wait(5, since=mark, ev="state", res="nodes", state="watching")
    srv.revoke_token(newer)
    srv.close_watches("nodes")
    p.wait(5, ev="state", res="nodes", state="backoff", error=lambda e: "401" in e)
    srv.rotate_token()
    p.wait(5, ev="state", res="nodes", state="watching")
    c = p.resource("nodes")["counters"]
    assert c["unauthorized"] >= 1 and c["relists"] == 2     # the restart relisted
    assert old not in srv.valid_tokens()
    p.close()


def test_requests(srv, probes):
    populate(srv, n=2)
    p = probes(*kc(srv), "--resources", "services", "--max-requests", "2",
               "--request-timeout-ms", "5000", *FAST)
    synced(p)
    base = "/api/v1/namespaces/default/services/"
    # status write through the status subresource; the watch sees it
    patch = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "Proxy"}]}}}
    mark = p.mark()
    r = p.request("st", method="PATCH", path=base + "web0/status", query="fieldManager=lbd",
                  content_type="application/merge-patch+json", body=json.dumps(patch))
    assert r["status"] == 200 and r["err"] == 0 and r["error"] == ""
    assert r["body"]["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10"
    m = p.wait(5, since=mark, ev="object", res="services", name="web0", type="MODIFIED")
    assert int(m["rv"]) == int(r["body"]["metadata"]["resourceVersion"])
    req = srv.requests(verb="patch", subresource="status")[-1]
    assert req["content_type"] == "application/merge-patch+json"
    assert req["query"]["fieldManager"] == "lbd"

    # a stale resourceVersion: 409 with the Status
    stale = dict(patch, metadata={"resourceVersion": "1"})
    r = p.request("c", method="PATCH", path=base + "web0/status",
                  content_type="application/merge-patch+json", body=json.dumps(stale))
    assert r["status"] == 409 and r["err"] == 0
    assert r["body"]["kind"] == "Status" and r["body"]["reason"] == "Conflict"
    assert r["error"].startswith("HTTP 409: ")
    # 404, a POST, a DELETE
    r = p.request("nf", method="GET", path=base + "nope")
    assert r["status"] == 404 and "not found" in r["error"]
    ev = O.event(srv.get("services", "web1", namespace="default"), "IPAllocated",
                 "Assigned IP 192.0.2.11")
    r = p.request("ev", method="POST", path="/apis/events.k8s.io/v1/namespaces/default/events",
                  content_type="application/json", body=json.dumps(ev))
    assert r["status"] == 201, r
    assert r["body"]["reason"] == "IPAllocated"
    mark = p.mark()
    r = p.request("del", method="DELETE", path=base + "web1")
    assert r["status"] == 200
    assert p.wait(5, since=mark, ev="object", res="services", name="web1")["type"] == "DELETED"

    # not JSON: the raw body, no parsed body
    srv.add_fault("garbage", count=1, path=base + "garbage")
    r = p.request("gb", method="GET", path=base + "garbage")
    assert r["status"] == 200 and r["body"] is None and r["raw_len"] > 0

    # a timeout
    srv.add_fault("hang", path=base + "slow")
    t0 = time.time()
    r = p.request("to", method="GET", path=base + "slow", timeout_ms=400)
    assert r["err"] == -errno.ETIMEDOUT and r["status"] == 0
    assert 0.3 <= time.time() - t0 <= 3

    # at most max_requests (2) at once; the rest wait their turn
    srv.add_fault("delay", seconds=0.4, path=base + "web0")
    t0 = time.time()
    mark = p.mark()
    for i in range(6):
        p.send(cmd="request", tag="c%d" % i, method="GET", path=base + "web0")
    rs = [p.wait(10, since=mark, ev="response", tag="c%d" % i) for i in range(6)]
    assert all(x["status"] == 200 for x in rs)
    assert time.time() - t0 >= 1.1                   # three rounds of 0.4 s
    arrivals = sorted(x["time"] for x in srv.requests(path=base + "web0", method="GET"))[-6:]
    for a, b in zip(arrivals, arrivals[2:]):
        assert b - a >= 0.35, arrivals               # never three in flight

    # cancel: no callback; shutdown: the rest end with -ECANCELED
    p.send(cmd="request", tag="h1", method="GET", path=base + "slow")
    p.send(cmd="request", tag="h2", method="GET", path=base + "slow")
    time.sleep(0.3)
    p.send(cmd="cancel", tag="h1")
    assert p.wait(5, ev="cancelled", tag="h1")["rc"] == 0
    p.send(cmd="quit")
    r = p.wait(5, ev="response", tag="h2")
    assert r["err"] == -errno.ECANCELED and "shutting down" in r["error"]
    assert not p.seen(ev="response", tag="h1")
    p.close()
    srv.clear_faults()


def make_other_ca(d):
    sys.path.insert(0, FAKEAPI)
    from fakeapi import certs
    os.makedirs(d, exist_ok=True)
    certs.make_ca(d)
    return os.path.join(d, "ca.crt")


def write_kubeconfig(path, cluster, user):
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "x",
                   "clusters": [{"name": "c", "cluster": cluster}],
                   "users": [{"name": "u", "user": user}],
                   "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}, f)
    return path


def b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def test_tls_and_identities(srv, probes, tmp_path):
    populate(srv, n=1, nodes=1)
    one = ["--resources", "nodes", *FAST]
    # a server certificate from another CA: refused, nothing delivered
    bad = write_kubeconfig(str(tmp_path / "bad"), {"server": srv.url,
                           "certificate-authority": make_other_ca(str(tmp_path / "ca2"))},
                           {"token": srv.token})
    p = probes("--kubeconfig", bad, *one)
    e = p.wait(5, ev="state", res="nodes", state="backoff")
    assert "certificate" in e["error"] or "SSL" in e["error"], e
    assert not p.seen(ev="relist_begin")
    assert p.resource("nodes")["counters"]["transport_errors"] >= 1
    p.close()

    # client certificate (files), and everything inline (curl blobs)
    p = probes(*kc(srv), "--context", "fake-cert", *one)
    assert p.wait(5, ev="relist_end", res="nodes")["count"] == 1
    p.close()
    inline = write_kubeconfig(str(tmp_path / "inline"), {
        "server": srv.url, "certificate-authority-data": b64file(srv.path("ca.crt"))}, {
        "client-certificate-data": b64file(srv.path("client.crt")),
        "client-key-data": b64file(srv.path("client.key"))})
    p = probes("--kubeconfig", inline, *one)
    assert p.wait(5, ev="relist_end", res="nodes")["count"] == 1
    assert "Authorization" not in srv.requests(verb="list", resource="nodes")[-1]["headers"]
    p.close()

    # insecure-skip-tls-verify: works, with a warning
    insecure = write_kubeconfig(str(tmp_path / "insecure"), {
        "server": srv.url, "insecure-skip-tls-verify": True}, {"token": srv.token})
    p = probes("--kubeconfig", insecure, *one)
    assert p.wait(5, ev="relist_end", res="nodes")["count"] == 1
    assert p.seen(ev="log", level="warn", msg=lambda m: "insecure-skip-tls-verify" in m)
    p.close()

    # in-cluster: the projected service-account volume under a test root
    root = tmp_path / "root"
    sa = root / "var/run/secrets/kubernetes.io"
    sa.mkdir(parents=True)
    os.symlink(srv.path("serviceaccount"), str(sa / "serviceaccount"))
    p = probes("--in-cluster=" + str(root), *one, env={
        "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(srv.port)})
    assert p.wait(5, ev="relist_end", res="nodes")["count"] == 1
    srv.rotate_token()                  # kubelet swaps ..data
    r = p.request("x", method="GET", path="/api/v1/nodes/n0")
    assert r["status"] == 200
    assert p.status()["kapi"]["token_reloads"] == 1     # the first read is not counted
    p.close()

    # a broken kubeconfig: a clear error, exit 1
    out = subprocess.run([probe_path(), "--kubeconfig", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 1
    msg = json.loads(out.stdout.splitlines()[0])
    assert msg["ev"] == "conf_error" and str(tmp_path / "missing") in msg["msg"]


def test_parse_budget_spreads_work(srv, probes):
    """300 Services with 20-endpoint slices, parsed under a 1 ms budget per
    loop pass: the work is spread over many passes (budget_deferrals), and
    everything arrives. The figure for 1,000 Services is bench_kapi_list.py's."""
    for i in range(300):
        svc = srv.create(O.service("b%03d" % i, "default", ports=[(80, 8080, "http")]))
        srv.create(O.endpoint_slice(svc, ["10.%d.%d.%d" % (i // 250, i % 250, j + 1)
                                          for j in range(20)]))
    p = probes(*kc(srv), "--resources", "services,endpointslices", "--list-limit", "100",
               "--budget-us", "1000", "--quiet", *FAST)
    s = synced(p, 30)
    ends = {e["res"]: e["count"] for e in p.seen(ev="relist_end")}
    assert ends == {"services": 300, "endpointslices": 300}
    st = p.status()["kapi"]
    assert st["budget_deferrals"] > 0
    print("\n300 Services x 20 endpoints, budget 1 ms: longest loop pass %d us over %d passes, "
          "%d deferrals, %d pauses" % (s["loop"]["max_pass_us"], s["loop"]["passes"],
                                       st["budget_deferrals"], st["paused"]))
    p.close()
