# SPDX-License-Identifier: BSD-3-Clause
"""The resources this server serves, and the discovery documents for them."""
from dataclasses import dataclass

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                  "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
                  "gitTreeState": "clean", "buildDate": "2024-12-11T17:59:15Z",
                  "goVersion": "go1.23.3", "compiler": "gc", "platform": "linux/amd64"}


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    store: str                       # storage key: two views can share one store
    short: tuple = ()
    status: bool = False             # has a status subresource
    generation: bool = False         # keeps metadata.generation
    categories: tuple = ()
    verbs: tuple = ("create", "delete", "deletecollection", "get", "list", "patch",
                    "update", "watch")

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def group_resource(self):
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural


_ALL = [
    Resource("", "v1", "services", "service", "Service", True, "services", ("svc",),
             status=True, generation=True, categories=("all",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "nodes", "node", "Node", False, "nodes", ("no",), status=True),
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, "namespaces", ("ns",),
             status=True, verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "events", "event", "Event", True, "events", ("ev",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice",
             True, "endpointslices", generation=True),
    Resource("events.k8s.io", "v1", "events", "event", "Event", True, "events", ("ev",)),
]

# (group, version, plural) -> Resource
BY_PATH = {(r.group, r.version, r.plural): r for r in _ALL}
# storage name -> the Resource whose shape is stored (core v1 for events)
BY_STORE = {r.store: r for r in _ALL if r.group in ("", "discovery.k8s.io")}
GROUPS = {"discovery.k8s.io": "v1", "events.k8s.io": "v1"}


def lookup(name):
    """'services', 'svc', 'endpointslices', 'events.k8s.io/events' ... -> Resource."""
    if "/" in name:
        g, p = name.rsplit("/", 1)
        for r in _ALL:
            if r.group == g and r.plural == p:
                return r
    for r in _ALL:
        if name in (r.plural, r.singular, r.kind) or name in r.short:
            return r
    raise KeyError("unknown resource %r" % name)


def for_kind(api_version, kind):
    for r in _ALL:
        if r.api_version == api_version and r.kind == kind:
            return r
    raise KeyError("no resource for %s %s" % (api_version, kind))


def resource_list(group, version):
    out = []
    for r in _ALL:
        if r.group != group or r.version != version:
            continue
        e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
             "kind": r.kind, "verbs": list(r.verbs)}
        if r.short:
            e["shortNames"] = list(r.short)
        if r.categories:
            e["categories"] = list(r.categories)
        out.append(e)
        if r.status:
            out.append({"name": r.plural + "/status", "singularName": "",
                        "namespaced": r.namespaced, "kind": r.kind,
                        "verbs": ["get", "patch", "update"]})
    if not out:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (group, version) if group else version,
            "resources": out}


def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(name):
    gv = {"groupVersion": "%s/%s" % (name, GROUPS[name]), "version": GROUPS[name]}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": [gv],
            "preferredVersion": gv}


def api_group_list():
    groups = []
    for name in GROUPS:
        g = api_group(name)
        del g["kind"], g["apiVersion"]
        groups.append(g)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


_NODE_INFO = {k: "" for k in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                              "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                              "operatingSystem", "architecture")}
_EMPTY = {
    "services": {"spec": {}, "status": {"loadBalancer": {}}},
    "endpointslices": {"addressType": "", "endpoints": None},
    "nodes": {"spec": {}, "status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                                     "nodeInfo": _NODE_INFO}},
    "namespaces": {"spec": {}, "status": {}},
    ("", "events"): {"involvedObject": {}, "source": {}, "firstTimestamp": None,
                     "lastTimestamp": None, "eventTime": None, "reportingComponent": "",
                     "reportingInstance": ""},
    ("events.k8s.io", "events"): {"eventTime": None, "deprecatedFirstTimestamp": None,
                                  "deprecatedLastTimestamp": None},
}


def bookmark_object(res, rv):
    """What the watch cache sends in a BOOKMARK: the type's zero value with only
    metadata.resourceVersion set, serialized the way Go serializes it."""
    import copy
    empty = _EMPTY.get(res.plural) or _EMPTY.get((res.group, res.plural)) or {}
    return {"kind": res.kind, "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(rv), "creationTimestamp": None},
            **copy.deepcopy(empty)}


def _gv_paths():
    out = {}
    for g, v in [("", "v1")] + sorted(GROUPS.items()):
        out["api/v1" if not g else "apis/%s/%s" % (g, v)] = (g, v)
    return out


def openapi_v3_root():
    """Enough OpenAPI v3 for kubectl to see that the server validates fields
    itself (fieldValidation on PATCH), so it skips client-side schema
    validation; no schemas are served."""
    return {"paths": {p: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, "F" * 16)}
                      for p in _gv_paths()}}


def openapi_v3_gv(path):
    gv = _gv_paths().get(path)
    if gv is None:
        return None
    g, v = gv
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]
    paths = {}
    for r in _ALL:
        if r.group != g or r.version != v:
            continue
        base = "/api/v1" if not g else "/apis/%s/%s" % (g, v)
        item = base + ("/namespaces/{namespace}/%s/{name}" if r.namespaced else "/%s/{name}") % r.plural
        gvk = {"group": g, "version": v, "kind": r.kind}
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": params,
              "responses": {"200": {"description": "OK"}}}
        paths[item] = {"get": dict(op, **{"x-kubernetes-action": "get"}),
                       "put": dict(op, **{"x-kubernetes-action": "put"}),
                       "patch": dict(op, **{"x-kubernetes-action": "patch"}),
                       "delete": dict(op, **{"x-kubernetes-action": "delete"})}
        coll = item.rsplit("/", 1)[0]
        paths[coll] = {"post": dict(op, **{"x-kubernetes-action": "post"}),
                       "get": dict(op, **{"x-kubernetes-action": "list"})}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}


# ----- OpenAPI v2 as kubectl < 1.30 fetches it: gnostic's openapi_v2.Document
# in protobuf. Only paths with PATCH operations, their GVK extension and the
# fieldValidation query parameter: enough for kubectl to leave validation to
# the server. Field numbers from gnostic's OpenAPIv2.proto.

def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _msg(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _s(num, text):
    return _msg(num, text.encode())


def openapi_v2_pb():
    paths = b""
    for r in _ALL:
        base = "/api/v1" if not r.group else "/apis/%s/%s" % (r.group, r.version)
        item = base + ("/namespaces/{namespace}/%s/{name}" if r.namespaced else "/%s/{name}") % r.plural
        gvk = 'group: "%s"\nkind: %s\nversion: %s\n' % (r.group, r.kind, r.version)
        op = b""
        for name in ("dryRun", "fieldManager", "fieldValidation", "force"):
            query = _s(2, "query") + _s(4, name) + _s(6, "string")        # QueryParameterSubSchema
            op += _msg(8, _msg(1, _msg(2, _msg(3, query))))                # ParametersItem>Parameter>NonBody
        op += _msg(13, _s(1, "x-kubernetes-group-version-kind") + _msg(2, _s(2, gvk)))   # NamedAny
        paths += _msg(2, _s(1, item) + _msg(2, _msg(8, op)))               # NamedPathItem{PathItem.patch}
    info = _s(1, "Kubernetes") + _s(2, SERVER_VERSION["gitVersion"])
    return _s(1, "2.0") + _msg(2, info) + _msg(8, paths)
