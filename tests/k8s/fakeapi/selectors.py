# SPDX-License-Identifier: BSD-3-Clause
"""Label and field selectors as the apiserver parses them."""
import re

from .errors import bad_request

_REQ = re.compile(r"""\s*(?:
    (?P<notexists>!\s*(?P<nk>[^\s,!=()]+)) |
    (?P<setk>[^\s,!=()]+)\s+(?P<setop>in|notin)\s*\((?P<vals>[^)]*)\) |
    (?P<k>[^\s,!=()]+)\s*(?P<op>==|=|!=)\s*(?P<v>[^\s,!=()]*) |
    (?P<exists>[^\s,!=()]+)
)\s*(?:,|$)""", re.X)


def parse_labels(sel):
    """-> list of (key, op, set-of-values); ops: =, !=, in, notin, exists, !exists."""
    reqs = []
    sel = (sel or "").strip()
    pos = 0
    while pos < len(sel):
        m = _REQ.match(sel, pos)
        if not m or m.end() == pos:
            raise bad_request('unable to parse requirement: found %r, expected: key' % sel[pos:])
        if m.group("notexists"):
            reqs.append((m.group("nk"), "!exists", set()))
        elif m.group("setk"):
            vals = {v.strip() for v in m.group("vals").split(",") if v.strip()}
            reqs.append((m.group("setk"), m.group("setop"), vals))
        elif m.group("k"):
            op = "!=" if m.group("op") == "!=" else "="
            reqs.append((m.group("k"), op, {m.group("v")}))
        else:
            reqs.append((m.group("exists"), "exists", set()))
        pos = m.end()
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for k, op, vals in reqs:
        have = k in labels
        v = labels.get(k)
        if op == "=" and (not have or v not in vals):
            return False
        if op == "!=" and have and v in vals:
            return False
        if op == "in" and (not have or v not in vals):
            return False
        if op == "notin" and have and v in vals:
            return False
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
    return True


# store -> field -> getter on the stored (core-shaped) object
_FIELDS = {
    "services": {"spec.clusterIP": lambda o: o.get("spec", {}).get("clusterIP", ""),
                 "spec.type": lambda o: o.get("spec", {}).get("type", "")},
    "nodes": {"spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false"},
    "events": {"involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
               "involvedObject.namespace": lambda o: o.get("involvedObject", {}).get("namespace", ""),
               "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name", ""),
               "involvedObject.uid": lambda o: o.get("involvedObject", {}).get("uid", ""),
               "involvedObject.apiVersion": lambda o: o.get("involvedObject", {}).get("apiVersion", ""),
               "involvedObject.resourceVersion": lambda o: o.get("involvedObject", {}).get("resourceVersion", ""),
               "involvedObject.fieldPath": lambda o: o.get("involvedObject", {}).get("fieldPath", ""),
               "reason": lambda o: o.get("reason", ""),
               "reportingComponent": lambda o: o.get("reportingComponent", ""),
               "source": lambda o: o.get("source", {}).get("component", ""),
               "type": lambda o: o.get("type", "")},
    "namespaces": {"status.phase": lambda o: o.get("status", {}).get("phase", "")},
    "endpointslices": {},
}
# events.k8s.io/v1 field names for the same selectors
_EVENTS_V1 = {"regarding.kind": "involvedObject.kind", "regarding.name": "involvedObject.name",
              "regarding.namespace": "involvedObject.namespace", "regarding.uid": "involvedObject.uid",
              "reportingController": "reportingComponent", "deprecatedSource": "source"}


def parse_fields(sel, store, v1_events=False):
    reqs = []
    for part in (sel or "").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise bad_request('invalid selector: %r; can\'t understand %r' % (sel, part))
        k, op, v = m.group(1), m.group(2), m.group(3)
        if v1_events:
            k = _EVENTS_V1.get(k, k)
        if k == "metadata.name":
            get = _name
        elif k == "metadata.namespace":
            get = _ns
        elif k in _FIELDS.get(store, {}):
            get = _FIELDS[store][k]
        else:
            raise bad_request('"%s" is not a known field selector: only "metadata.name", '
                              '"metadata.namespace"' % k if store in ("services", "endpointslices")
                              else 'field label not supported: %s' % k)
        reqs.append((get, op != "!=", v))
    return reqs


def _name(o):
    return o.get("metadata", {}).get("name", "")


def _ns(o):
    return o.get("metadata", {}).get("namespace", "")


def match_fields(reqs, obj):
    return all((get(obj) == v) == eq for get, eq, v in reqs)
