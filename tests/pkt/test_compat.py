# SPDX-License-Identifier: BSD-3-Clause
"""The compatibility contract through a running lbd: every pick of
tests/compat/vectors-v1.txt (literal values, see the file's header) sends the
client's first packet to the contract's target, and `lbctl trace` reports the
contract's hash and slot."""

from pathlib import Path

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

VECTORS = Path(__file__).resolve().parents[1] / "compat" / "vectors-v1.txt"


def load():
    targets, tables, fes, picks = {}, {}, {}, []
    for line in VECTORS.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        w = line.split()
        if w[0] == "target":
            targets[w[1]] = w[2]
        elif w[0] == "table":
            tables[w[1]] = (int(w[2]), [(x[0], int(x[2:])) for x in w[3:]])
        elif w[0] == "frontend":
            ep, proto = w[2].split("/")
            vip, port = ep.split(":")
            fes[w[1]] = dict(vip=vip, port=int(port), proto=proto, method=w[3], affinity=w[4],
                             table=w[5])
        elif w[0] == "pick":
            c, cp = w[2].split(":")
            picks.append(dict(fe=w[1], client=c, cport=int(cp), hash=int(w[3], 16),
                              slot=int(w[4]), target=targets[w[5]]))
    return targets, tables, fes, picks


def test_picks_through_lbd(pcap_lbd):
    targets, tables, fes, picks = load()
    assert len(picks) == 32
    conf_fes = []
    for name, fe in fes.items():
        size, members = tables[fe["table"]]
        conf_fes.append({
            "name": name, "vip": fe["vip"], "protocol": fe["proto"], "port": fe["port"],
            "method": fe["method"], "session_affinity": fe["affinity"], "maglev_size": size,
            "targets": [{"address": targets[lab].split(":")[0],
                         "port": int(targets[lab].split(":")[1]), "weight": wt}
                        for lab, wt in members]})
    lb = pcap_lbd(fes=conf_fes)
    frames = []
    for i, pk in enumerate(picks):
        fe = fes[pk["fe"]]
        pay = b"pick%02d" % i
        if fe["proto"] == "tcp":
            frames.append(F.tcp(pk["client"], pk["cport"], fe["vip"], fe["port"], "S", payload=pay,
                                dmac=F.PCAP_MACS[0]))
        else:
            frames.append(F.udp(pk["client"], pk["cport"], fe["vip"], fe["port"], pay,
                                dmac=F.PCAP_MACS[0]))
    st = lb.feed(ext=frames)
    traces = H.bulk_trace_multi(lb.lbd, [(pk["client"], pk["cport"], fes[pk["fe"]]["vip"],
                                          fes[pk["fe"]]["port"], fes[pk["fe"]]["proto"])
                                         for pk in picks])
    lb.finish()
    assert H.drops_of(st["total"]) == {}
    out = {}
    for fr in lb.frames("int"):
        raw = F.ip_bytes(fr)
        p = F.Parsed(fr)
        out[raw[-6:]] = "%s:%d" % (p.dst, p.dport)
    for i, (pk, tr) in enumerate(zip(picks, traces)):
        assert (tr["hash"], tr["slot"]) == (pk["hash"], pk["slot"]), (pk, tr)
        assert out.get(b"pick%02d" % i) == pk["target"], "pick %d %s: went to %s" % (
            i, pk, out.get(b"pick%02d" % i))
