# SPDX-License-Identifier: BSD-3-Clause
"""meta.k8s.io/v1 Table responses (what `kubectl get` asks for), with the
columns kube-apiserver prints for the types served here."""
import calendar
import time


def _age(ts, now=None):
    if not ts:
        return "<unknown>"
    d = int((now or time.time()) - calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")))
    d = max(d, 0)
    if d < 120:
        return "%ds" % d
    m = d // 60
    if m < 10:
        return "%dm%ds" % (m, d % 60) if d % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    return "%dd%dh" % (h // 24, h % 24) if h < 192 and h % 24 else "%dd" % (h // 24)


def _col(name, typ="string", fmt="", priority=0, desc=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


def _svc(o):
    sp, st = o.get("spec", {}), o.get("status", {})
    ext = [i.get("ip") or i.get("hostname") for i in st.get("loadBalancer", {}).get("ingress") or []]
    ext += sp.get("externalIPs") or []
    if sp.get("type") == "LoadBalancer" and not ext:
        ext_s = "<pending>"
    elif sp.get("type") == "ExternalName":
        ext_s = sp.get("externalName", "<none>")
    else:
        ext_s = ",".join(ext) or "<none>"
    ports = ",".join("%d%s/%s" % (p["port"], ":%d" % p["nodePort"] if p.get("nodePort") else "",
                                  p.get("protocol", "TCP")) for p in sp.get("ports") or []) or "<none>"
    sel = ",".join("%s=%s" % kv for kv in sorted((sp.get("selector") or {}).items())) or "<none>"
    return [o["metadata"]["name"], sp.get("type", ""), sp.get("clusterIP") or "<none>", ext_s, ports,
            _age(o["metadata"].get("creationTimestamp")), sel]


def _node(o):
    conds = {c["type"]: c["status"] for c in o.get("status", {}).get("conditions") or []}
    r = conds.get("Ready")
    status = "Ready" if r == "True" else "NotReady" if r == "False" else "Unknown"
    if o.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = o["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels
                            if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    addrs = o.get("status", {}).get("addresses") or []
    ip = lambda t: next((a["address"] for a in addrs if a["type"] == t), "<none>")
    return [o["metadata"]["name"], status, roles, _age(o["metadata"].get("creationTimestamp")),
            o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
            ip("InternalIP"), ip("ExternalIP")]


def _eps(o):
    ports = ",".join(str(p.get("port", "")) for p in o.get("ports") or []) or "<unset>"
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses", [])]
    shown = ",".join(addrs[:3]) + (" + %d more..." % (len(addrs) - 3) if len(addrs) > 3 else "")
    return [o["metadata"]["name"], o.get("addressType", ""), ports, shown or "<unset>",
            _age(o["metadata"].get("creationTimestamp"))]


def _event(o):
    io = o.get("involvedObject") or o.get("regarding") or {}
    seen = o.get("lastTimestamp") or o.get("deprecatedLastTimestamp") or \
        (o.get("eventTime") or "")[:19] + "Z" if (o.get("eventTime") or o.get("lastTimestamp")) else None
    return [_age(seen or o["metadata"].get("creationTimestamp")), o.get("type", ""), o.get("reason", ""),
            "%s/%s" % ((io.get("kind") or "").lower(), io.get("name", "")),
            o.get("message") or o.get("note") or ""]


def _ns(o):
    return [o["metadata"]["name"], o.get("status", {}).get("phase", ""),
            _age(o["metadata"].get("creationTimestamp"))]


COLUMNS = {
    "services": ([_col("Name", fmt="name"), _col("Type"), _col("Cluster-IP"), _col("External-IP"),
                  _col("Port(s)"), _col("Age"), _col("Selector", priority=1)], _svc),
    "nodes": ([_col("Name", fmt="name"), _col("Status"), _col("Roles"), _col("Age"), _col("Version"),
               _col("Internal-IP", priority=1), _col("External-IP", priority=1)], _node),
    "endpointslices": ([_col("Name", fmt="name"), _col("AddressType"), _col("Ports"), _col("Endpoints"),
                        _col("Age")], _eps),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")], _event),
    "namespaces": ([_col("Name", fmt="name"), _col("Status"), _col("Age")], _ns),
}


def wants_table(accept):
    return "as=Table" in (accept or "") and "g=meta.k8s.io" in accept


def table(res, objs, meta=None, include_object="Metadata"):
    cols, row = COLUMNS[res.store]
    rows = []
    for o in objs:
        r = {"cells": row(o)}
        if include_object == "Object":
            r["object"] = dict(o, kind=res.kind, apiVersion=res.api_version)
        elif include_object != "None":
            r["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": o["metadata"]}
        rows.append(r)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta or {},
            "columnDefinitions": cols, "rows": rows}
