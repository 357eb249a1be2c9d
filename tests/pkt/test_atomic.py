# SPDX-License-Identifier: BSD-3-Clause
"""Control operations publish completely or change nothing (issue 5): a
drain whose snapshot cannot be built is not kept; a reload whose static
neighbours cannot be set keeps the running config and says so; how
per-frontend and all-frontends drains combine, through lbctl.

A build fails only when memory runs out, so these tests arm lbd's
failpoints (LBD_FAILPOINTS, see README.md) to make the next builds or
neighbour updates fail as if it had."""

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

T = "%s:30080" % F.NODES[0]


def states(lbd, fe):
    return {"%s:%d" % (t["address"], t["port"]): t["state"]
            for t in lbd.json("targets", fe)["targets"]}


def test_failed_drain_changes_nothing(pcap_lbd, monkeypatch):
    monkeypatch.setenv("LBD_FAILPOINTS", "snapshot_build=1")
    p = pcap_lbd()
    p.feed()
    lbd = p.lbd
    gen = lbd.generation()
    r = lbd.lbctl("drain", T, check=False)
    assert r.returncode != 0
    assert "failpoint snapshot_build" in r.stderr
    assert states(lbd, "web")[T] == "active"
    assert lbd.generation() == gen
    st = lbd.json("status")
    assert st["snapshots"]["failed"] == 1
    # the undrain of a target that is not drained changes nothing either
    u = lbd.json("undrain", T)
    assert u["changed"] is False and u["generation"] == gen
    # the next attempt works and is published
    d = lbd.json("drain", T)
    assert d["changed"] is True and d["generation"] == gen + 1
    assert states(lbd, "web")[T] == "drained"
    assert states(lbd, "guarded")[T] == "drained"
    p.finish()


def test_failed_reload_changes_nothing(pcap_lbd, monkeypatch):
    """Before: a reload reported success when the static neighbours failed.
    Now nothing of the new file goes live, and status says why."""
    monkeypatch.setenv("LBD_FAILPOINTS", "neighbours=1")
    p = pcap_lbd()
    p.feed()
    lbd = p.lbd
    gen = lbd.generation()
    text = lbd.conf_text.replace('name = "web";', 'name = "web2";', 1)
    assert text != lbd.conf_text
    lbd.write_config(text)
    r = lbd.lbctl("reload", check=False)
    assert r.returncode != 0
    assert "static neighbours" in r.stderr and "failpoint" in r.stderr
    names = [f["name"] for f in lbd.json("frontends")["frontends"]]
    assert "web" in names and "web2" not in names
    st = lbd.json("status")
    assert st["last_reload"]["ok"] is False
    assert "static neighbours" in st["last_reload"]["error"]
    assert lbd.generation() == gen
    # the same file again: now it goes live
    r = lbd.json("reload")
    assert r["generation"] == gen + 1
    names = [f["name"] for f in lbd.json("frontends")["frontends"]]
    assert "web2" in names and "web" not in names
    assert lbd.json("status")["last_reload"]["ok"] is True
    p.finish()


def test_drain_combinations(pcap_lbd):
    """docs/lbctl.md's rule: a frontend's own entry wins over the
    all-frontends one; undrain in one frontend of a target drained for all
    is an exception, and lbctl says the target stays drained elsewhere."""
    p = pcap_lbd()
    p.feed()
    lbd = p.lbd

    def both():
        return states(lbd, "web")[T], states(lbd, "guarded")[T]

    lbd.lbctl("drain", T)
    assert both() == ("drained", "drained")
    r = lbd.lbctl("undrain", T, "web")
    assert "still drained in every other frontend" in r.stdout
    assert both() == ("active", "drained")
    lbd.lbctl("drain", T, "web")
    assert both() == ("drained", "drained")
    lbd.lbctl("undrain", T)
    assert both() == ("active", "active")
    lbd.lbctl("drain", T, "guarded")
    assert both() == ("active", "drained")
    r = lbd.lbctl("drain", T, "guarded")
    assert "nothing changed" in r.stdout
    lbd.lbctl("drain", T)
    lbd.lbctl("undrain", T, "guarded")
    assert both() == ("drained", "active")
    lbd.lbctl("undrain", T)
    assert both() == ("active", "active")
    # why a target takes no new flows, in the table and in JSON
    lbd.lbctl("drain", T, "web")
    t = {"%s:%d" % (x["address"], x["port"]): x for x in lbd.json("targets", "web")["targets"]}
    assert t[T]["reasons"] == ["drained (lbctl drain, this frontend)"]
    assert "drained (lbctl drain, this frontend)" in lbd.lbctl("targets", "web").stdout
    p.finish()


def test_origins_and_loop_status(pcap_lbd):
    p = pcap_lbd()
    p.feed()
    lbd = p.lbd
    fes = {f["name"]: f for f in lbd.json("frontends")["frontends"]}
    assert fes["web"]["source"] == "config"
    assert fes["web"]["origin"].startswith("config %s:" % lbd.conf_path)
    st = lbd.json("status")
    assert st["event_loop"]["passes"] > 0
    assert st["snapshots"]["published"] >= 1
    assert "event loop:" in lbd.lbctl("status").stdout
    p.finish()
