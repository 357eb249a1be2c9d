# SPDX-License-Identifier: BSD-3-Clause
"""What the apiserver's registry strategies do to an object on its way in:
defaulting, IP and port allocation, validation, generation, managedFields,
and the events.k8s.io/v1 <-> core v1 Event conversion. Shared by the server
and by the object factories, so both produce the same shapes."""
import copy
import ipaddress
import json
import random
import time

from .errors import FieldError

# ------------------------------------------------------------------ helpers


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def now_micro(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def ordered(d, order):
    """Re-key d in Go struct field order (unknown keys keep their place at the end)."""
    if not isinstance(d, dict):
        return d
    out = {k: d[k] for k in order if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
              "generation", "creationTimestamp", "deletionTimestamp",
              "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields")
TOP_ORDER = ("kind", "apiVersion", "metadata", "spec", "status")
SVC_SPEC_ORDER = ("ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs",
                  "sessionAffinity", "loadBalancerIP", "loadBalancerSourceRanges", "externalName",
                  "externalTrafficPolicy", "healthCheckNodePort", "publishNotReadyAddresses",
                  "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy",
                  "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
                  "trafficDistribution")
SVC_PORT_ORDER = ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")
EPS_ORDER = ("kind", "apiVersion", "metadata", "addressType", "endpoints", "ports")


def tidy(res_store, obj):
    """Key order of kube-apiserver's JSON output."""
    if "metadata" in obj:
        obj["metadata"] = ordered(obj["metadata"], META_ORDER)
    if res_store == "endpointslices":
        return ordered(obj, EPS_ORDER)
    if res_store == "services" and isinstance(obj.get("spec"), dict):
        sp = obj["spec"]
        if isinstance(sp.get("ports"), list):
            sp["ports"] = [ordered(p, SVC_PORT_ORDER) for p in sp["ports"]]
        obj["spec"] = ordered(sp, SVC_SPEC_ORDER)
    return ordered(obj, TOP_ORDER)


# ---------------------------------------------------------------- allocator

class Allocator:
    """ClusterIPs and NodePorts. Like the real allocators, dynamic allocation
    picks at random from the upper part of each range and leaves the lower part
    to addresses and ports a user asks for (the object factories hand those out
    in order), so the two do not collide by accident."""

    def __init__(self, cidr4="10.96.0.0/12", cidr6=None, node_ports=(30000, 32767), seed=None):
        self.net4 = ipaddress.ip_network(cidr4)
        self.net6 = ipaddress.ip_network(cidr6) if cidr6 else None
        self.port_lo, self.port_hi = node_ports
        self.ips = set()
        self.ports = set()
        self.rng = random.Random(seed)

    def net(self, family):
        return self.net4 if family == "IPv4" else self.net6

    def families(self):
        return ["IPv4"] + (["IPv6"] if self.net6 else [])

    def take_ip(self, ip):
        self.ips.add(str(ipaddress.ip_address(ip)))

    def alloc_ip(self, family):
        net = self.net(family)
        size = net.num_addresses
        lo = size // 2
        for _ in range(10000):
            ip = str(net.network_address + self.rng.randrange(lo, size - 1))
            if ip not in self.ips:
                self.ips.add(ip)
                return ip
        raise RuntimeError("service CIDR exhausted")

    def alloc_port(self):
        lo = (self.port_lo + self.port_hi) // 2
        free = [p for p in range(lo, self.port_hi + 1) if p not in self.ports] or \
            [p for p in range(self.port_lo, self.port_hi + 1) if p not in self.ports]
        if not free:
            raise RuntimeError("node port range exhausted")
        p = self.rng.choice(free)
        self.ports.add(p)
        return p

    def release_service(self, svc):
        sp = svc.get("spec", {})
        for ip in sp.get("clusterIPs") or []:
            if ip != "None":
                self.ips.discard(ip)
        for p in sp.get("ports") or []:
            if p.get("nodePort"):
                self.ports.discard(p["nodePort"])
        if sp.get("healthCheckNodePort"):
            self.ports.discard(sp["healthCheckNodePort"])


# ------------------------------------------------------------------ services

def _needs_node_ports(sp):
    t = sp.get("type")
    return t == "NodePort" or (t == "LoadBalancer" and sp.get("allocateLoadBalancerNodePorts", True))


def _wants_hc_port(sp):
    return sp.get("type") == "LoadBalancer" and sp.get("externalTrafficPolicy") == "Local"


def service_defaults(svc):
    """SetDefaults_Service (pkg/apis/core/v1/defaults.go), no allocation."""
    sp = svc.setdefault("spec", {})
    sp.setdefault("type", "ClusterIP")
    sp.setdefault("sessionAffinity", "None")
    if sp["sessionAffinity"] == "ClientIP":
        cfg = sp.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        cfg.setdefault("timeoutSeconds", 10800)
    for p in sp.get("ports") or []:
        p.setdefault("protocol", "TCP")
        if p.get("targetPort") in (None, 0, ""):
            p["targetPort"] = p.get("port")
    if sp["type"] in ("NodePort", "LoadBalancer"):
        sp.setdefault("externalTrafficPolicy", "Cluster")
    if sp["type"] == "LoadBalancer":
        sp.setdefault("allocateLoadBalancerNodePorts", True)
    if sp["type"] != "ExternalName":
        sp.setdefault("internalTrafficPolicy", "Cluster")
    svc.setdefault("status", {}).setdefault("loadBalancer", {})
    return svc


def _validate_service(svc, alloc, old=None):
    sp = svc["spec"]
    errs = []
    t = sp.get("type")
    if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        errs.append(FieldError("spec.type", "Unsupported value", t,
                               'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'))
    ports = sp.get("ports") or []
    if not ports and t != "ExternalName" and sp.get("clusterIP") != "None":
        errs.append(FieldError("spec.ports", "Required value"))
    names = set()
    keys = set()
    for i, p in enumerate(ports):
        f = "spec.ports[%d]" % i
        if len(ports) > 1 and not p.get("name"):
            errs.append(FieldError(f + ".name", "Required value"))
        if p.get("name"):
            if p["name"] in names:
                errs.append(FieldError(f + ".name", "Duplicate value", p["name"]))
            names.add(p["name"])
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            errs.append(FieldError(f + ".port", "Invalid value", port,
                                   "must be between 1 and 65535, inclusive"))
        if p.get("protocol") not in ("TCP", "UDP", "SCTP"):
            errs.append(FieldError(f + ".protocol", "Unsupported value", p.get("protocol"),
                                   'supported values: "SCTP", "TCP", "UDP"'))
        if (port, p.get("protocol")) in keys:
            errs.append(FieldError(f, "Duplicate value", "{%s %s}" % (port, p.get("protocol"))))
        keys.add((port, p.get("protocol")))
        np = p.get("nodePort")
        if np and not _needs_node_ports(sp) and t != "LoadBalancer":
            errs.append(FieldError(f + ".nodePort", "Forbidden",
                                   detail="may not be used when `type` is '%s'" % t))
        if np and not alloc.port_lo <= np <= alloc.port_hi:
            errs.append(FieldError(f + ".nodePort", "Invalid value", np,
                                   "provided port is not in the valid range. The range of valid ports is %d-%d"
                                   % (alloc.port_lo, alloc.port_hi)))
    if sp.get("sessionAffinity") not in ("None", "ClientIP"):
        errs.append(FieldError("spec.sessionAffinity", "Unsupported value", sp.get("sessionAffinity"),
                               'supported values: "ClientIP", "None"'))
    to = sp.get("sessionAffinityConfig", {}).get("clientIP", {}).get("timeoutSeconds")
    if sp.get("sessionAffinity") == "ClientIP" and not (isinstance(to, int) and 0 < to <= 86400):
        errs.append(FieldError("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "Invalid value",
                               to, "must be greater than 0 and less than 86400"))
    if sp.get("externalTrafficPolicy") and t not in ("NodePort", "LoadBalancer"):
        errs.append(FieldError("spec.externalTrafficPolicy", "Invalid value",
                               sp["externalTrafficPolicy"],
                               "may only be set for externally-accessible services"))
    if sp.get("externalTrafficPolicy") not in (None, "Cluster", "Local"):
        errs.append(FieldError("spec.externalTrafficPolicy", "Unsupported value",
                               sp["externalTrafficPolicy"], 'supported values: "Cluster", "Local"'))
    if sp.get("loadBalancerClass") is not None and t != "LoadBalancer":
        errs.append(FieldError("spec.loadBalancerClass", "Forbidden",
                               detail="may only be used when `type` is 'LoadBalancer'"))
    if "allocateLoadBalancerNodePorts" in sp and t != "LoadBalancer":
        errs.append(FieldError("spec.allocateLoadBalancerNodePorts", "Forbidden",
                               detail="may only be used when `type` is 'LoadBalancer'"))
    if sp.get("ipFamilyPolicy") not in (None, "SingleStack", "PreferDualStack", "RequireDualStack"):
        errs.append(FieldError("spec.ipFamilyPolicy", "Unsupported value", sp["ipFamilyPolicy"],
                               'supported values: "PreferDualStack", "RequireDualStack", "SingleStack"'))
    if sp.get("ipFamilyPolicy") == "RequireDualStack" and not alloc.net6:
        errs.append(FieldError("spec.ipFamilyPolicy", "Invalid value", "RequireDualStack",
                               "this cluster is not configured for dual-stack services"))
    for r in sp.get("loadBalancerSourceRanges") or []:
        try:
            ipaddress.ip_network(r.strip(), strict=False)
        except ValueError:
            errs.append(FieldError("spec.loadBalancerSourceRanges", "Invalid value", r,
                                   "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 "))
    if old is not None:
        osp = old["spec"]
        if osp.get("clusterIP") not in (None, "") and sp.get("clusterIP") != osp.get("clusterIP") \
                and t != "ExternalName" and osp.get("type") != "ExternalName":
            errs.append(FieldError("spec.clusterIPs[0]", "Invalid value", sp.get("clusterIP"),
                                   "may not change once set"))
        if t == "LoadBalancer" and osp.get("type") == "LoadBalancer" and \
                sp.get("loadBalancerClass") != osp.get("loadBalancerClass"):
            errs.append(FieldError("spec.loadBalancerClass", "Invalid value", sp.get("loadBalancerClass"),
                                   "may not change once set"))
    return errs


def _allocate_service(svc, alloc, old, errs):
    sp = svc["spec"]
    t = sp["type"]
    if t == "ExternalName":
        for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            sp.pop(k, None)
        return
    osp = old["spec"] if old is not None else {}
    # PUT without allocated values keeps the old ones (patchAllocatedValues)
    if old is not None and not sp.get("clusterIP") and osp.get("clusterIP"):
        sp["clusterIP"] = osp["clusterIP"]
        sp["clusterIPs"] = list(osp.get("clusterIPs") or [osp["clusterIP"]])
        sp.setdefault("ipFamilies", list(osp.get("ipFamilies") or []))
        sp.setdefault("ipFamilyPolicy", osp.get("ipFamilyPolicy"))
    policy = sp.get("ipFamilyPolicy") or "SingleStack"
    if sp.get("clusterIP") == "None":
        sp["clusterIPs"] = ["None"]
        sp.setdefault("ipFamilies", alloc.families()[:1] if policy == "SingleStack" else alloc.families())
        sp["ipFamilyPolicy"] = policy
    elif old is None or not osp.get("clusterIP"):
        wanted = sp.get("clusterIPs") or ([sp["clusterIP"]] if sp.get("clusterIP") else [])
        fams = sp.get("ipFamilies") or []
        if not fams:
            fams = [("IPv6" if ipaddress.ip_address(wanted[0]).version == 6 else "IPv4")] if wanted \
                else alloc.families()[:1]
            if policy != "SingleStack" and alloc.net6:
                fams = fams + [f for f in alloc.families() if f not in fams]
        ips = []
        for i, fam in enumerate(fams):
            net = alloc.net(fam)
            if net is None:
                errs.append(FieldError("spec.ipFamilies[%d]" % i, "Invalid value", fam,
                                       "not configured on this cluster"))
                continue
            if i < len(wanted):
                ip = wanted[i]
                try:
                    ok = ipaddress.ip_address(ip) in net
                except ValueError:
                    ok = False
                if not ok:
                    errs.append(FieldError("spec.clusterIPs", "Invalid value", wanted,
                                           "failed to allocate IP %s: the provided IP (%s) is not in the "
                                           "valid range. The range of valid IPs is %s" % (ip, ip, net)))
                elif ip in alloc.ips:
                    errs.append(FieldError("spec.clusterIPs", "Invalid value", wanted,
                                           "failed to allocate IP %s: provided IP is already allocated" % ip))
                else:
                    alloc.take_ip(ip)
                    ips.append(ip)
            else:
                ips.append(alloc.alloc_ip(fam))
        if ips:
            sp["clusterIP"] = ips[0]
            sp["clusterIPs"] = ips
        sp["ipFamilies"] = fams
        sp["ipFamilyPolicy"] = policy
    # node ports: keep old ones by (port, protocol) on update, then allocate
    oldports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                for p in osp.get("ports") or [] if p.get("nodePort")}
    mine = set(oldports.values())
    if osp.get("healthCheckNodePort"):
        mine.add(osp["healthCheckNodePort"])
    keep = set()
    if _needs_node_ports(sp):
        for i, p in enumerate(sp.get("ports") or []):
            np = p.get("nodePort")
            if not np and old is not None and oldports.get((p["port"], p["protocol"])):
                np = p["nodePort"] = oldports[(p["port"], p["protocol"])]
            if np:
                if np in alloc.ports and np not in mine and np not in keep:
                    errs.append(FieldError("spec.ports[%d].nodePort" % i, "Invalid value", np,
                                           "provided port is already allocated"))
                alloc.ports.add(np)
                keep.add(np)
            else:
                # the same port number for the same service port on another protocol
                same = next((q["nodePort"] for q in sp["ports"][:i]
                             if q.get("nodePort") and q.get("port") == p["port"]), None)
                p["nodePort"] = same or alloc.alloc_port()
                keep.add(p["nodePort"])
    elif old is None or osp.get("type") != sp["type"]:
        # LoadBalancer with allocateLoadBalancerNodePorts=false keeps user-set ones
        for p in sp.get("ports") or []:
            if sp["type"] != "LoadBalancer":
                p.pop("nodePort", None)
            elif p.get("nodePort"):
                alloc.ports.add(p["nodePort"])
                keep.add(p["nodePort"])
    else:
        keep |= {p["nodePort"] for p in sp.get("ports") or [] if p.get("nodePort")}
    if _wants_hc_port(sp):
        hc = sp.get("healthCheckNodePort") or osp.get("healthCheckNodePort")
        if hc and hc in alloc.ports and hc not in mine:
            errs.append(FieldError("spec.healthCheckNodePort", "Invalid value", hc,
                                   "provided port is already allocated"))
        sp["healthCheckNodePort"] = hc or alloc.alloc_port()
        alloc.ports.add(sp["healthCheckNodePort"])
        keep.add(sp["healthCheckNodePort"])
    else:
        sp.pop("healthCheckNodePort", None)
    for p in mine - keep:
        alloc.ports.discard(p)


def prepare_service(svc, alloc, old=None):
    """Defaults, validates and allocates; returns the list of FieldErrors (the
    allocator is only changed when there are none)."""
    service_defaults(svc)
    sp, osp = svc["spec"], (old or {}).get("spec", {})
    if old is not None and not sp.get("clusterIP") and osp.get("clusterIP") and \
            sp["type"] != "ExternalName":
        # an update that leaves out allocated values keeps them (patchAllocatedValues)
        sp["clusterIP"] = osp["clusterIP"]
        sp["clusterIPs"] = list(osp.get("clusterIPs") or [osp["clusterIP"]])
        for k in ("ipFamilies", "ipFamilyPolicy"):
            if k not in sp and k in osp:
                sp[k] = copy.deepcopy(osp[k])
    errs = _validate_service(svc, alloc, old)
    if errs:
        return errs
    ips, ports = set(alloc.ips), set(alloc.ports)
    _allocate_service(svc, alloc, old, errs)
    if errs:
        alloc.ips, alloc.ports = ips, ports
    return errs


# ----------------------------------------------------------- endpointslices

def validate_endpointslice(eps):
    errs = []
    at = eps.get("addressType")
    if at not in ("IPv4", "IPv6", "FQDN"):
        errs.append(FieldError("addressType", "Unsupported value", at,
                               '"FQDN", "IPv4", "IPv6"' if at else "")
                    if at else FieldError("addressType", "Required value"))
    eps_list = eps.get("endpoints")
    if eps_list is not None and not isinstance(eps_list, list):
        errs.append(FieldError("endpoints", "Invalid value", "", "must be a list"))
        eps_list = []
    for i, e in enumerate(eps_list or []):
        addrs = e.get("addresses") or []
        if len(addrs) != 1:
            errs.append(FieldError("endpoints[%d].addresses" % i, "Invalid value", len(addrs),
                                   "must have exactly 1 address"))
        for a in addrs:
            try:
                v = ipaddress.ip_address(a).version
                if at in ("IPv4", "IPv6") and "IPv%d" % v != at:
                    raise ValueError
            except ValueError:
                if at != "FQDN":
                    errs.append(FieldError("endpoints[%d].addresses[0]" % i, "Invalid value", a,
                                           "must be a valid %s address" % at))
    if len(eps_list or []) > 1000:
        errs.append(FieldError("endpoints", "Too many", len(eps_list), "must have at most 1000 items"))
    for i, p in enumerate(eps.get("ports") or []):
        if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            errs.append(FieldError("ports[%d].protocol" % i, "Unsupported value", p.get("protocol"),
                                   'supported values: "SCTP", "TCP", "UDP"'))
    return errs


def endpointslice_defaults(eps):
    for p in eps.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("name", "")
    eps.setdefault("endpoints", None)
    return eps


# -------------------------------------------------------------------- events

_CORE2V1 = [("eventTime", "eventTime"), ("series", "series"),
            ("reportingComponent", "reportingController"), ("reportingInstance", "reportingInstance"),
            ("action", "action"), ("reason", "reason"), ("involvedObject", "regarding"),
            ("related", "related"), ("message", "note"), ("type", "type"),
            ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
            ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")]


def event_core_to_v1(core):
    out = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": core.get("metadata", {})}
    for c, v in _CORE2V1:
        if c in core:
            out[v] = core[c]
    # omitempty on the events.k8s.io side
    for k in ("reportingController", "reportingInstance", "action", "reason", "note", "type"):
        if out.get(k) == "":
            del out[k]
    if out.get("deprecatedCount") == 0:
        del out["deprecatedCount"]
    out.setdefault("eventTime", None)
    out.setdefault("deprecatedFirstTimestamp", None)
    out.setdefault("deprecatedLastTimestamp", None)
    if out.get("deprecatedSource") == {}:
        del out["deprecatedSource"]
    if out.get("regarding") == {}:
        del out["regarding"]
    return out


def event_v1_to_core(ev):
    out = {"kind": "Event", "apiVersion": "v1", "metadata": ev.get("metadata", {})}
    for c, v in _CORE2V1:
        if v in ev:
            out[c] = ev[v]
    return event_core_defaults(out)


def event_core_defaults(core):
    core.setdefault("involvedObject", {})
    core.setdefault("source", {})
    core.setdefault("firstTimestamp", None)
    core.setdefault("lastTimestamp", None)
    core.setdefault("eventTime", None)
    core.setdefault("reportingComponent", "")
    core.setdefault("reportingInstance", "")
    return core


def validate_event(core, new_api):
    """ValidateEventCreate: events.k8s.io/v1 requires the new-style fields; core v1
    requires them only when eventTime is set. new_api: created via events.k8s.io."""
    errs = []
    ns = core.get("metadata", {}).get("namespace")
    io = core.get("involvedObject") or {}
    f = (lambda c, v: v) if new_api else (lambda c, v: c)
    if io.get("namespace") and io["namespace"] != ns:
        errs.append(FieldError(f("involvedObject.namespace", "regarding.namespace"), "Invalid value",
                               io["namespace"], "does not match event.namespace"))
    if new_api or core.get("eventTime"):
        if not core.get("eventTime"):
            errs.append(FieldError("eventTime", "Required value"))
        if not core.get("reportingComponent"):
            errs.append(FieldError(f("reportingComponent", "reportingController"), "Required value"))
        if not core.get("reportingInstance"):
            errs.append(FieldError("reportingInstance", "Required value"))
        if not core.get("action"):
            errs.append(FieldError("action", "Required value"))
        if not core.get("reason"):
            errs.append(FieldError("reason", "Required value"))
        if core.get("type") not in ("Normal", "Warning"):
            errs.append(FieldError("type", "Unsupported value", core.get("type", ""),
                                   'supported values: "Normal", "Warning"'))
        if len((core.get("message") or "").encode()) > 1024:
            errs.append(FieldError(f("message", "note"), "Too long",
                                   detail="may not be longer than 1024"))
        s = core.get("series")
        if s is not None and (not isinstance(s.get("count"), int) or s["count"] < 2):
            errs.append(FieldError("series.count", "Invalid value", s.get("count"),
                                   "should be at least 2"))
    return errs


# ------------------------------------------------------------ generation

def spec_of(store, obj):
    if store == "endpointslices":
        return (obj.get("addressType"), obj.get("endpoints"), obj.get("ports"))
    return obj.get("spec")


# ------------------------------------------------------------ managedFields

_MAPS = {("metadata", "labels"), ("metadata", "annotations"), ("spec", "selector"),
         ("status", "capacity"), ("status", "allocatable")}
_SKIP_META = {"name", "namespace", "generateName", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
              "managedFields", "selfLink"}


def _key(item, path):
    if path == ("spec", "ports"):
        k = {"port": item.get("port"), "protocol": item.get("protocol", "TCP")}
    elif path in (("status", "conditions"), ("status", "addresses")):
        k = {"type": item.get("type")}
        if path == ("status", "addresses"):
            k["address"] = item.get("address")
            k = dict(sorted(k.items()))
    elif path == ("metadata", "ownerReferences"):
        k = {"uid": item.get("uid")}
    else:
        return None
    return "k:" + json.dumps(k, separators=(",", ":"))


def _fields(v, path):
    if isinstance(v, dict):
        out = {".": {}} if path in _MAPS else {}
        for k, x in v.items():
            if k.startswith("$") or (path == ("metadata",) and k in _SKIP_META):
                continue
            out["f:" + k] = _fields(x, path + (k,))
        return out
    if isinstance(v, list):
        if path in (("metadata", "finalizers"), ("spec", "podCIDRs")):
            return {".": {}, **{"v:" + json.dumps(x): {} for x in v}}
        out = {}
        for item in v:
            k = _key(item, path) if isinstance(item, dict) else None
            if k is None:
                return {}
            out[k] = {".": {}, **_fields(item, path)}
        return {".": {}, **out} if out else {}
    return {}


def _union(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = _union(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def managed_fields(entries, manager, operation, api_version, touched, subresource, t):
    """Record that manager touched the fields of `touched` (a partial object)."""
    part = {k: v for k, v in touched.items() if k not in ("kind", "apiVersion")}
    if subresource == "status":
        part = {"status": part.get("status", {})}
    else:
        part.pop("status", None)
    fv = _fields(part, ())
    if fv.get("f:metadata") == {}:
        del fv["f:metadata"]
    out = [copy.deepcopy(e) for e in entries or []]
    for e in out:
        if e.get("manager") == manager and e.get("operation") == operation and \
                e.get("subresource") == subresource and e.get("apiVersion") == api_version:
            e["time"] = t
            e["fieldsV1"] = _union(e.get("fieldsV1", {}), fv)
            return out
    e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": t,
         "fieldsType": "FieldsV1", "fieldsV1": fv}
    if subresource:
        e["subresource"] = subresource
    out.append(e)
    return out
