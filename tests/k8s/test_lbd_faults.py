# SPDX-License-Identifier: BSD-3-Clause
"""Fail static and recovery (ARCHITECTURE.md invariant 5): lbd keeps serving
the last good state while the API is down, answers 500s or sends garbage,
says so in lbctl status, and resynchronises by itself; a rotated token keeps
it authorised; a 409 on a status write is re-read and retried; a Service
that collides with a static frontend is reported, not served."""
import time

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

from lbdk8s import Cluster, O, F, CLASS, wait_for   # noqa: E402


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


def serve_one(c, name="web", port=80):
    c.api.create(O.service(name, ports=[(port, 8080, "http")], load_balancer_class=CLASS))
    return c.wait_serving(name)[0]["ip"]


def test_api_down_then_back(cluster):
    c = cluster()
    vip = serve_one(c)
    gen = c.lbd.generation()
    c.api.down()
    wait_for(lambda: "unreachable" in c.k8s_status()["state"], 20,
             "lbctl status to say the API is unreachable")
    time.sleep(1.5)
    # nothing withdrawn: same frontends, same snapshot
    assert c.frontends()["default/web:http"]["vip"] == vip
    assert c.lbd.generation() == gen
    assert c.k8s_status()["last_error"]
    c.api.up()
    wait_for(lambda: c.k8s_status()["state"] == "watching", 20, "the watches to come back")
    # changes made after the outage are picked up
    serve_one(c, "api", 8080)
    assert "default/api:http" in c.frontends()


def test_errors_and_garbage(cluster):
    c = cluster()
    serve_one(c)
    before = c.frontends()
    # every request answers 500, then the watch streams carry garbage
    fid = c.api.add_fault("error", code=500, message="etcd leader changed")
    c.api.close_watches()
    wait_for(lambda: any(r["errors"] > 0 for r in c.k8s_status()["resources"]), 20,
             "the 500s to be seen")
    time.sleep(1)
    assert c.frontends().keys() == before.keys()
    c.api.clear_faults(fid)
    c.api.add_fault("stream-garbage", count=3, data="{\"type\":\"ADDED\",\"object\":[}}}\n")
    c.api.close_watches()
    wait_for(lambda: c.k8s_status()["state"] == "watching", 30, "recovery from garbage")
    assert c.frontends().keys() == before.keys()
    # still converging
    serve_one(c, "after", 81)


def test_token_rotation(cluster):
    """The token file is re-read when it changes or on a 401, as bound
    service-account tokens rotate."""
    c = cluster(context="fake-tokenfile")
    serve_one(c)
    assert "token file" in c.k8s_status()["auth"]
    c.api.rotate_token(grace=0)
    c.api.close_watches()
    serve_one(c, "later", 81)
    assert c.api.requests(status=401) or True   # a 401 may or may not have been needed
    writes = c.api.requests(method="PATCH", name="later", subresource="status")
    assert writes and writes[-1]["status"] < 300


def test_status_conflict_retried(cluster):
    c = cluster()
    c.api.add_fault("error", code=409, count=1, method="PATCH", subresource="status",
                    message="the object has been modified; please apply your changes to the "
                    "latest version and try again")
    serve_one(c)
    gets = c.api.requests(method="GET", name="web")
    assert gets, "a 409 must be followed by a re-read of the Service"


def test_static_vip_not_given_to_a_service(cluster):
    """Pools may not hold a static frontend's VIP (--check-config refuses
    it), so a Service asking for that address is refused with an Event and
    the static frontend keeps it."""
    static_vip = "192.0.2.41"
    fes = F.frontends() + [{"name": "static", "vip": static_vip, "protocol": "tcp", "port": 80,
                            "targets": [{"address": n, "port": 30080} for n in F.NODES]}]
    c = cluster(fes=fes)
    c.api.create(O.service("clash", ports=[(80, 8080, "http")], load_balancer_class=CLASS,
                           annotations={"lbd.io/addresses": static_vip}))
    ev = wait_for(lambda: c.events("AllocationFailed"), 15, "an AllocationFailed Event")
    text = ev[0].get("note", "") + ev[0].get("message", "")
    assert static_vip in text
    assert c.frontends()["static"]["origin"].startswith("config ")
    assert "default/clash:http" not in c.frontends()
    assert not c.ingress("clash")
    assert c.services()["default/clash"]["state"] == "pending"
