# SPDX-License-Identifier: BSD-3-Clause
"""Objects, the global resourceVersion counter (etcd's revision), the bounded
event history watches replay from, consistent paged lists, and the registry
rules for create/update/patch/delete. Stored objects are never mutated: every
write stores a new dict, so lists and snapshots can share them."""
import base64
import binascii
import bisect
import collections
import copy
import json
import random
import re
import threading
import time
import uuid

from . import defaults as D
from . import errors as E
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .resources import BY_STORE
from .selectors import match_fields, match_labels, parse_fields, parse_labels

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink")


class Entry:
    """One write: what a watch replays."""
    __slots__ = ("rv", "store", "type", "obj", "prev", "t", "lines", "ij")

    def __init__(self, rv, store, etype, obj, prev, t):
        self.rv, self.store, self.type, self.obj, self.prev, self.t = rv, store, etype, obj, prev, t
        self.lines = {}
        self.ij = None          # obj as JSON without kind/apiVersion


def key_of(obj):
    m = obj["metadata"]
    return (m.get("namespace") or "", m["name"])


def key_str(k):
    return "%s/%s" % k if k[0] else k[1]


def to_view(res, obj, with_type=True):
    """The stored object as this resource's API version shows it."""
    if res.group == "events.k8s.io":
        out = D.event_core_to_v1(obj)
    else:
        out = dict(obj)
    if not with_type:
        out.pop("kind", None)
        out.pop("apiVersion", None)
    return out


def from_view(res, obj):
    if res.group == "events.k8s.io":
        return D.event_v1_to_core(obj)
    return obj


class Store:
    def __init__(self, alloc=None, history=20000, start_rv=1000, continue_ttl=300.0):
        self.cond = threading.Condition(threading.RLock())
        self.alloc = alloc or D.Allocator()
        self.rv = start_rv
        self.objs = {s: {} for s in BY_STORE}
        self.hist = []
        self.hist_rvs = []
        self.history = history
        self.compact_rv = start_rv
        self.continue_ttl = continue_ttl
        self.snapshots = collections.OrderedDict()   # (store, rv) -> (time, sorted items)
        self.rng = random.Random()
        self.json_cache = {}    # (store, key) -> (object, its JSON as a list item)

    # ------------------------------------------------------------ internals

    def _commit(self, store, etype, obj, prev):
        """Caller holds the lock. Bumps the revision, stores, records the event."""
        self.rv += 1
        obj = dict(obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=str(self.rv))
        obj = D.tidy(store, obj)
        k = key_of(obj)
        if etype == "DELETED":
            self.json_cache.pop((store, k), None)
            self.objs[store].pop(k, None)
        else:
            self.objs[store][k] = obj
        e = Entry(self.rv, store, etype, obj, prev, time.time())
        e.ij = json.dumps({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")},
                          separators=(",", ":")).encode()
        if etype != "DELETED":
            self.json_cache[(store, k)] = (obj, e.ij)
        self.hist.append(e)
        self.hist_rvs.append(self.rv)
        if len(self.hist) > self.history * 2:
            cut = len(self.hist) - self.history
            self.compact_rv = self.hist[cut - 1].rv
            del self.hist[:cut]
            del self.hist_rvs[:cut]
            self._drop_snapshots()
        self.cond.notify_all()
        return obj

    def _drop_snapshots(self):
        for k in [k for k in self.snapshots if k[1] < self.compact_rv]:
            del self.snapshots[k]

    def compact(self, rv=None):
        """Forget history up to rv (default: everything). Watches from older
        resourceVersions get 410; continue tokens from before it expire."""
        with self.cond:
            rv = self.rv if rv is None else min(int(rv), self.rv)
            i = bisect.bisect_right(self.hist_rvs, rv)
            del self.hist[:i]
            del self.hist_rvs[:i]
            self.compact_rv = max(self.compact_rv, rv)
            self._drop_snapshots()

    def expire_continue_tokens(self):
        with self.cond:
            self.snapshots.clear()

    def _lookup(self, res, ns, name):
        return self.objs[res.store].get((ns or "", name) if res.namespaced else ("", name))

    def _must(self, res, ns, name):
        o = self._lookup(res, ns, name)
        if o is None:
            raise E.not_found(res, name)
        return o

    # ---------------------------------------------------------------- reads

    def get(self, res, ns, name):
        with self.cond:
            return self._must(res, ns, name)

    def state_at(self, store, rv):
        """{key: obj} as it was at revision rv (rv >= compact_rv)."""
        with self.cond:
            state = dict(self.objs[store])
            i = bisect.bisect_right(self.hist_rvs, rv)
            for e in reversed(self.hist[i:]):
                if e.store != store:
                    continue
                k = key_of(e.obj)
                if e.type == "ADDED":
                    state.pop(k, None)
                else:
                    state[k] = e.prev
            return state

    def _snapshot(self, store, rv):
        now = time.time()
        snap = self.snapshots.get((store, rv))
        if snap is not None and now - snap[0] > self.continue_ttl:
            del self.snapshots[(store, rv)]
            snap = None
        return snap

    def list(self, res, ns=None, label_selector=None, field_selector=None, limit=None,
             cont=None, resource_version=None, resource_version_match=None, raw=False):
        """The List object; raw=True: its JSON bytes (items serialized once per
        object version and reused)."""
        lsel = parse_labels(label_selector) if label_selector else []
        fsel = parse_fields(field_selector, res.store, res.group == "events.k8s.io") \
            if field_selector else []
        limit = int(limit) if limit not in (None, "", "0", 0) else None
        rvp = resource_version or None
        with self.cond:
            if cont:
                if rvp:
                    raise E.bad_request("specifying resource version is not allowed when using continue")
                try:
                    tok = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4)))
                    trv, start = int(tok["rv"]), tok["start"]
                except (ValueError, KeyError, TypeError, binascii.Error):
                    raise E.bad_request("continue key is not valid: incorrect encoded start "
                                        "resourceVersion (version meta.k8s.io/v1)") from None
                if trv == -1:
                    items, list_rv = sorted(self.objs[res.store].items()), self.rv
                else:
                    snap = self._snapshot(res.store, trv)
                    if snap is None:
                        raise E.expired(
                            "The provided continue parameter is too old to display a consistent list "
                            "result. You can start a new list without the continue parameter, or use "
                            "the continue token in this response to retrieve the remainder of the "
                            "results. Continuing with the provided token results in an inconsistent "
                            "list - objects that were created, modified, or deleted between the time "
                            "the first chunk was returned and now may show up in the list.",
                            self._token(-1, start))
                    items, list_rv = snap[1], trv
                start_key = start
            else:
                start_key = None
                match = resource_version_match
                if match and not rvp:
                    raise E.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
                if rvp in (None, "0") and match in (None, "NotOlderThan"):
                    list_rv = self.rv
                    items = sorted(self.objs[res.store].items())
                    if rvp == "0":
                        limit = None   # served from the watch cache: no paging
                else:
                    try:
                        want = int(rvp)
                    except ValueError:
                        raise E.bad_request('Invalid value: "%s": must be a valid resource version'
                                            % rvp) from None
                    if match == "Exact" or (match is None and limit):
                        if want > self.rv:
                            raise E.too_large_rv(want, self.rv)
                        if want < self.compact_rv:
                            raise E.expired("The resourceVersion for the provided list is too old.")
                        items, list_rv = sorted(self.state_at(res.store, want).items()), want
                    elif match in (None, "NotOlderThan"):
                        deadline = time.time() + 3
                        while self.rv < want and time.time() < deadline:
                            self.cond.wait(deadline - time.time())
                        if self.rv < want:
                            raise E.too_large_rv(want, self.rv)
                        list_rv, items = self.rv, sorted(self.objs[res.store].items())
                    else:
                        raise E.bad_request('resourceVersionMatch: Unsupported value: "%s"' % match)
            out = []
            keys = [key_str(k) for k, _ in items] if start_key is not None else None
            i = bisect.bisect_right(keys, start_key) if keys is not None else 0
            n = len(items)
            last = None
            while i < n:
                k, o = items[i]
                i += 1
                if res.namespaced and ns and k[0] != ns:
                    continue
                if lsel and not match_labels(lsel, o["metadata"].get("labels")):
                    continue
                if fsel and not match_fields(fsel, o):
                    continue
                out.append(o)
                last = k
                if limit is not None and len(out) >= limit:
                    break
            meta = {"resourceVersion": str(list_rv)}
            nsf = res.namespaced and ns
            more = limit is not None and len(out) >= limit and i < n and \
                (not nsf or items[i][0][0] == ns)
            if more:
                if (res.store, list_rv) not in self.snapshots:
                    self.snapshots[(res.store, list_rv)] = (time.time(), items)
                    while len(self.snapshots) > 256:
                        self.snapshots.popitem(last=False)
                meta["continue"] = self._token(list_rv, key_str(last))
                if not lsel and not fsel:
                    meta["remainingItemCount"] = sum(1 for k, _ in items[i:] if not nsf or k[0] == ns)
            if raw:
                head = json.dumps({"kind": res.kind + "List", "apiVersion": res.api_version,
                                   "metadata": meta}, separators=(",", ":"))
                return (head[:-1] + ',"items":[').encode() + \
                    b",".join(self._item_json(res, o) for o in out) + b"]}"
            return {"kind": res.kind + "List", "apiVersion": res.api_version,
                    "metadata": meta, "items": [to_view(res, o, with_type=False) for o in out]}

    def _item_json(self, res, o):
        if res.group == "events.k8s.io":
            return json.dumps(to_view(res, o, with_type=False), separators=(",", ":")).encode()
        k = (res.store, key_of(o))
        c = self.json_cache.get(k)
        if c is None or c[0] is not o:
            c = (o, json.dumps(to_view(res, o, with_type=False), separators=(",", ":")).encode())
            self.json_cache[k] = c
        return c[1]

    @staticmethod
    def _token(rv, start):
        t = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"},
                       separators=(",", ":"))
        return base64.b64encode(t.encode()).decode().rstrip("=")

    # --------------------------------------------------------------- writes

    def _check_body(self, res, body):
        if not isinstance(body, dict):
            raise E.bad_request("the object provided is unrecognized (must be of type %s)" % res.kind)
        if body.get("apiVersion") not in (None, res.api_version):
            raise E.bad_request("the API version in the data (%s) does not match the expected API "
                                "version (%s)" % (body["apiVersion"], res.api_version))
        if body.get("kind") not in (None, res.kind):
            raise E.bad_request("the kind in the data (%s) does not match the expected kind (%s)"
                                % (body["kind"], res.kind))

    def create(self, res, ns, body, manager="fakeapi", new_api=None):
        self._check_body(res, body)
        obj = from_view(res, copy.deepcopy(body))
        obj["kind"], obj["apiVersion"] = BY_STORE[res.store].kind, BY_STORE[res.store].api_version
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise E.bad_request("metadata must be an object")
        for k in _SERVER_META:
            meta.pop(k, None)
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise E.bad_request("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        with self.cond:
            if not meta.get("name"):
                if meta.get("generateName"):
                    while True:
                        meta["name"] = meta["generateName"] + "".join(
                            self.rng.choice(_GEN_CHARS) for _ in range(5))
                        if self._lookup(res, ns, meta["name"]) is None:
                            break
                else:
                    raise E.invalid(res, "", [E.FieldError("metadata.name", "Required value",
                                                           detail="name or generateName is required")])
            name = meta["name"]
            if len(name) > 253 or not _NAME_RE.match(name):
                raise E.invalid(res, name, [E.FieldError(
                    "metadata.name", "Invalid value", name,
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric character")])
            if res.namespaced and ("", ns) not in self.objs["namespaces"]:
                raise E.not_found(BY_STORE["namespaces"], ns)
            if self._lookup(res, ns, name) is not None:
                raise E.already_exists(res, name)
            errs = self._prepare(res, obj, None, None, new_api)
            if errs:
                raise E.invalid(res, name, errs)
            now = time.time()
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = D.now_rfc3339(now)
            if res.generation:
                meta["generation"] = 1
            meta["managedFields"] = D.managed_fields(None, manager, "Update", res.api_version,
                                                     body, None, D.now_rfc3339(now))
            return self._commit(res.store, "ADDED", obj, None)

    def _prepare(self, res, obj, old, subresource, new_api=None):
        """Type strategy; returns field errors. old None = create."""
        s = res.store
        if s == "services":
            if old is None:
                obj["status"] = {"loadBalancer": {}}
            if subresource == "status":
                obj.setdefault("status", {})
                return []
            return D.prepare_service(obj, self.alloc, old)
        if s == "endpointslices":
            D.endpointslice_defaults(obj)
            return D.validate_endpointslice(obj)
        if s == "events":
            D.event_core_defaults(obj)
            if old is None:
                return D.validate_event(obj, res.group == "events.k8s.io" if new_api is None else new_api)
            return []
        if s == "namespaces" and old is None:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        if s == "nodes" and old is None:
            obj.setdefault("spec", {})
            obj.setdefault("status", {})
        return []

    def update(self, res, ns, name, body, subresource=None, manager="fakeapi"):
        self._check_body(res, body)
        with self.cond:
            old = self._must(res, ns, name)
            new = from_view(res, copy.deepcopy(body))
            meta = new.setdefault("metadata", {})
            if meta.get("name") not in (None, name):
                raise E.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                    % (meta["name"], name))
            if res.namespaced and meta.get("namespace") not in (None, "", ns):
                raise E.bad_request("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            return self._update(res, old, new, subresource, manager, body)

    def _update(self, res, old, new, subresource, manager, touched):
        name = old["metadata"]["name"]
        meta = new.setdefault("metadata", {})
        rv = meta.get("resourceVersion")
        if rv not in (None, "") and rv != old["metadata"]["resourceVersion"]:
            raise E.conflict(res, name)
        if meta.get("uid") not in (None, "", old["metadata"]["uid"]):
            raise E.conflict(res, name, "Precondition failed: UID in precondition: %s, UID in object "
                             "meta: %s" % (old["metadata"]["uid"], meta["uid"]))
        new["kind"], new["apiVersion"] = old["kind"], old["apiVersion"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            new.pop("status", None)
            if status is not None:
                new["status"] = status
            meta = new["metadata"]
        else:
            if res.status or res.store == "services":
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "managedFields"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
                else:
                    meta.pop(k, None)
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = old["metadata"]["namespace"]
            if old["metadata"].get("deletionTimestamp"):
                added = [f for f in meta.get("finalizers") or []
                         if f not in (old["metadata"].get("finalizers") or [])]
                if added:
                    raise E.invalid(res, name, [E.FieldError(
                        "metadata.finalizers", "Forbidden",
                        detail="no new finalizers can be added if the object is being deleted, "
                               "found new finalizers %s" % _go_strings(added))])
        errs = self._prepare(res, new, old, subresource)
        if errs:
            raise E.invalid(res, name, errs)
        if res.generation and D.spec_of(res.store, new) != D.spec_of(res.store, old):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        if not meta.get("labels") and "labels" in meta:
            del meta["labels"]
        if not meta.get("annotations") and "annotations" in meta:
            del meta["annotations"]
        if not meta.get("finalizers") and "finalizers" in meta:
            del meta["finalizers"]
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if D.tidy(res.store, dict(new, metadata=dict(meta))) == old:
            return old          # no-op: the real server does not write either
        meta["managedFields"] = D.managed_fields(old["metadata"].get("managedFields"), manager,
                                                 "Update", res.api_version,
                                                 touched if isinstance(touched, dict) else new,
                                                 subresource, D.now_rfc3339())
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._release(res, new)
            return self._commit(res.store, "DELETED", new, old)
        return self._commit(res.store, "MODIFIED", new, old)

    def patch(self, res, ns, name, ptype, patch, subresource=None, manager="fakeapi"):
        """ptype: json | merge | strategic. patch: parsed JSON or bytes/str."""
        if isinstance(patch, (bytes, str)):
            try:
                patch = json.loads(patch)
            except ValueError as e:
                raise E.bad_request("error decoding patch: %s" % e) from None
        with self.cond:
            old = self._must(res, ns, name)
            view = to_view(res, old)
            try:
                if ptype == "json":
                    new = json_patch(view, patch)
                elif ptype == "merge":
                    if not isinstance(patch, dict):
                        raise E.bad_request("json: cannot unmarshal into a map")
                    new = merge_patch(view, patch)
                elif ptype == "strategic":
                    new = strategic_merge_patch(view, patch, res.store)
                else:
                    raise E.unsupported_media_type(None)
            except PatchError as e:
                if e.code == 400:
                    raise E.bad_request(e.message) from None
                raise E.unprocessable(e.message) from None
            if not isinstance(new, dict):
                raise E.bad_request("patch did not produce an object")
            self._check_body(res, new)
            new = from_view(res, new)
            meta = new.setdefault("metadata", {})
            if meta.get("name") != name:
                raise E.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                    % (meta.get("name"), name))
            touched = patch if isinstance(patch, dict) else new
            return self._update(res, old, new, subresource, manager, touched)

    def delete(self, res, ns, name, options=None):
        """-> (object, gone). gone False: finalizers keep it (deletionTimestamp set)."""
        options = options or {}
        with self.cond:
            old = self._must(res, ns, name)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise E.conflict(res, name, "Precondition failed: UID in precondition: %s, UID in "
                                 "object meta: %s" % (pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise E.conflict(res, name, "Precondition failed: ResourceVersion in precondition: %s, "
                                 "ResourceVersion in object meta: %s"
                                 % (pre["resourceVersion"], old["metadata"]["resourceVersion"]))
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return old, False
                new = copy.deepcopy(old)
                m = new["metadata"]
                m["deletionTimestamp"] = D.now_rfc3339()
                m["deletionGracePeriodSeconds"] = 0
                if m.get("generation"):
                    m["generation"] += 1
                return self._commit(res.store, "MODIFIED", new, old), False
            if res.store == "namespaces":
                for s, objs in self.objs.items():
                    if s != "namespaces":
                        for k in [k for k in objs if k[0] == name]:
                            self.delete(BY_STORE[s], name, k[1])
            self._release(res, old)
            return self._commit(res.store, "DELETED", old, old), True

    def _release(self, res, obj):
        if res.store == "services":
            self.alloc.release_service(obj)

    # ---------------------------------------------------------------- watch

    def watch_begin(self, res, ns, resource_version):
        """-> (initial entries, rv to stream after). Raises ApiError 410 when rv is too old."""
        with self.cond:
            if resource_version in (None, "", "0"):
                init = [Entry(int(o["metadata"]["resourceVersion"]), res.store, "ADDED", o, None, 0)
                        for _, o in sorted(self.objs[res.store].items())
                        if not (res.namespaced and ns and o["metadata"]["namespace"] != ns)]
                return init, self.rv
            try:
                rv = int(resource_version)
            except ValueError:
                raise E.bad_request('Invalid value: "%s": must be a valid resource version'
                                    % resource_version) from None
            if rv < self.compact_rv:
                raise E.ApiError(410, "Expired", "too old resource version: %d (%d)" % (rv, self.compact_rv))
            deadline = time.time() + 3
            while rv > self.rv and time.time() < deadline:
                self.cond.wait(deadline - time.time())
            if rv > self.rv:
                raise E.too_large_rv(rv, self.rv)
            return [], rv

    def events_after(self, store, rv, timeout):
        """Entries of `store` with resourceVersion > rv; waits up to timeout for one.
        Returns (entries, newest rv seen, compacted?)."""
        with self.cond:
            deadline = time.time() + timeout
            while True:
                if rv < self.compact_rv:
                    return [], rv, True
                i = bisect.bisect_right(self.hist_rvs, rv)
                out = [e for e in self.hist[i:] if e.store == store]
                if out or time.time() >= deadline:
                    newest = self.hist_rvs[-1] if len(self.hist_rvs) > i else rv
                    return out, max(rv, newest), False
                self.cond.wait(max(0.0, deadline - time.time()))

    def current_rv(self):
        return self.rv


def _go_strings(xs):
    return "[]string{%s}" % ", ".join('"%s"' % x for x in xs)
