# SPDX-License-Identifier: BSD-3-Clause
"""FakeAPI: the Python API tests drive the fake server with: lifecycle, auth,
faults, the request log, watch bookkeeping and objects."""
import collections
import copy
import itertools
import os
import random
import secrets
import socket
import ssl
import sys
import threading
import time

from . import certs
from . import defaults as D
from . import errors as E
from . import resources as R
from . import tables as T
from .faults import REQUEST_ACTIONS, STREAM_ACTIONS, Fault
from .handler import PUBLIC_PATHS, _Abort, _dumps, _Server
from .store import Store, to_view


class FakeAPI:
    """A fake kube-apiserver. See tests/k8s/README.md."""

    def __init__(self, dir, port=0, host="127.0.0.1", tls=True, tokens=None, anonymous=True,
                 history=20000, start_rv=1000, continue_ttl=300.0, bookmark_interval=60.0,
                 default_watch_timeout=1800.0, watch_410_http=False, service_cidr="10.96.0.0/12",
                 service_cidr6=None, node_port_range=(30000, 32767), log_bodies=True,
                 max_log=200000, seed=None, switch_interval=0.0005):
        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        self.host, self.port, self.tls = host, port, tls
        self.anonymous = anonymous
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.watch_410_http = watch_410_http
        self.log_bodies = log_bodies
        self.switch_interval = switch_interval
        self.lock = threading.RLock()
        self.alloc = D.Allocator(service_cidr, service_cidr6, tuple(node_port_range), seed=seed)
        self.store = Store(self.alloc, history=history, start_rv=start_rv, continue_ttl=continue_ttl)
        self.rng = random.Random(seed)
        self._tokens = {}                      # token -> expiry (None = forever)
        for t in tokens or [secrets.token_urlsafe(32)]:
            self._tokens[t] = None
        self.token = list(self._tokens)[0]
        self.conns = set()
        self._faults = []
        self._fault_ids = itertools.count(1)
        self._log = collections.deque(maxlen=max_log)
        self._req_ids = itertools.count(1)
        self._watch_ids = itertools.count(1)
        self._watches = {}
        self._watch_history = collections.deque(maxlen=10000)
        self._writes = collections.deque(maxlen=2000000)
        self._srv = None
        self._thread = None
        self._control = []
        self.ssl_ctx = None
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.create(R.lookup("namespaces"), None, {"metadata": {"name": ns}},
                              "kube-apiserver")

    # ----------------------------------------------------------- lifecycle

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self):
        # threads that write watch streams get the GIL back quickly while a
        # test thread is busy making changes (Python's default is 5 ms)
        if self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
        if self.tls:
            certs.make_ca(self.dir)
            if not os.path.exists(self.path("server.crt")):
                certs.issue(self.dir, "server", "kube-apiserver", server=True)
            if not os.path.exists(self.path("client.crt")):
                certs.issue(self.dir, "client", "lbd", org="system:masters")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(self.path("server.crt"), self.path("server.key"))
            ctx.load_verify_locations(self.path("ca.crt"))
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.set_alpn_protocols(["http/1.1"])
            self.ssl_ctx = ctx
        self.up()
        self._write_client_files()
        return self

    def up(self):
        """Listen (again) on the same port."""
        with self.lock:
            if self._srv is not None:
                return
            srv = _Server(self, (self.host, self.port))
            self.port = srv.server_address[1]
            self._srv = srv
            self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fakeapi", daemon=True)
            self._thread.start()

    def down(self):
        """Stop listening and drop every connection (watches end abruptly)."""
        with self.lock:
            srv, self._srv = self._srv, None
            if srv is None:
                return
            srv.closing = True
            conns = list(self.conns)
        srv.shutdown()
        srv.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.store.cond:
            self.store.cond.notify_all()
        self._thread.join(5)

    def restart(self, downtime=0.0):
        self.down()
        time.sleep(downtime)
        self.up()

    @property
    def is_up(self):
        return self._srv is not None

    def stop(self):
        for c in self._control:
            c.shutdown()
            c.server_close()
        self._control = []
        self.down()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def _write_client_files(self):
        d = self.dir
        certs.write_atomic(self.path("token"), self.token)
        if self.tls:
            certs.write_projected_token(self.path("serviceaccount"), self.token, "kube-system",
                                        self.path("ca.crt"))
        certs.write_atomic(self.path("kubeconfig"), certs.kubeconfig(
            self.url, self.path("ca.crt") if self.tls else None, self.token, self.path("token"),
            self.path("client.crt") if self.tls else None, self.path("client.key") if self.tls else None))
        certs.write_atomic(self.path("server.json"), _dumps(self.info()) + "\n")
        return d

    def info(self):
        return {"url": self.url, "host": self.host, "port": self.port, "dir": self.dir,
                "kubeconfig": self.path("kubeconfig"), "token_file": self.path("token"),
                "ca": self.path("ca.crt") if self.tls else None,
                "client_cert": self.path("client.crt") if self.tls else None,
                "client_key": self.path("client.key") if self.tls else None,
                "serviceaccount": self.path("serviceaccount") if self.tls else None,
                "pid": os.getpid(), "up": self.is_up}

    # ------------------------------------------------------------- auth

    def add_token(self, token, expires_in=None):
        with self.lock:
            self._tokens[token] = None if expires_in is None else time.time() + expires_in

    def revoke_token(self, token):
        with self.lock:
            self._tokens.pop(token, None)

    def rotate_token(self, new=None, grace=0.0):
        """A new token becomes valid and is written to DIR/token, the projected
        service-account dir and the kubeconfig's inline-token user; the old
        ones stop working after `grace` seconds."""
        new = new or secrets.token_urlsafe(32)
        with self.lock:
            t = time.time()
            for k, exp in list(self._tokens.items()):
                self._tokens[k] = min(exp, t + grace) if exp is not None else t + grace
            self._tokens[new] = None
            self.token = new
        self._write_client_files()
        return new

    def valid_tokens(self):
        t = time.time()
        with self.lock:
            return [k for k, e in self._tokens.items() if e is None or e > t]

    def issue_client_cert(self, cn, org=None, name=None):
        """-> (crt, key) signed by the server's CA."""
        return certs.issue(self.dir, name or "client-%s" % cn, cn, org=org)

    def _authenticate(self, h, path, ctx):
        auth = h.headers.get("Authorization", "")
        if auth:
            if not auth.startswith("Bearer "):
                raise E.unauthorized()
            tok = auth[7:].strip()
            with self.lock:
                exp = self._tokens.get(tok, -1)
            if exp == -1 or (exp is not None and exp <= time.time()):
                raise E.unauthorized()
            user = "system:serviceaccount:kube-system:lbd"
        else:
            user = None
            if self.ssl_ctx is not None:
                try:
                    cert = h.connection.getpeercert()
                except (AttributeError, ValueError):
                    cert = None
                if cert:
                    for rdn in cert.get("subject", ()):
                        for k, v in rdn:
                            if k == "commonName":
                                user = v
            if user is None:
                if not self.anonymous:
                    raise E.unauthorized()
                if path.rstrip("/") not in PUBLIC_PATHS:
                    raise E.forbidden("system:anonymous", ctx.get("verb") or "get", ctx.get("res"),
                                      ctx.get("namespace"), ctx.get("name"))
                user = "system:anonymous"
        h.rec["user"] = user
        return user

    # ------------------------------------------------------------ faults

    def add_fault(self, action, *, count=None, verb=None, resource=None, namespace=None, name=None,
                  subresource=None, method=None, path=None, user_agent=None, **params):
        """Request faults (before auth): error (code, retry_after, message),
        delay (seconds), hang (seconds or until cleared), close (rst=False),
        garbage (data, code). Watch-stream faults: split (max_piece, delay),
        drip (max_piece, delay), stream-hang, stream-close (after_events, abrupt,
        rst), stream-garbage (data, then=continue|close), stream-error (code=410,
        message, after_events). count: applications (requests, or streams/events
        for stream faults); None = until cleared."""
        match = {k: v for k, v in (("verb", verb), ("resource", resource), ("namespace", namespace),
                                   ("name", name), ("subresource", subresource), ("method", method),
                                   ("path", path), ("user_agent", user_agent)) if v is not None}
        with self.lock:
            f = Fault(next(self._fault_ids), action, match, count, params)
            self._faults.append(f)
            return f.id

    def clear_faults(self, fault_id=None):
        with self.lock:
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]

    def faults(self):
        with self.lock:
            return [f.describe() for f in self._faults]

    def _request_faults(self, h, ctx):
        with self.lock:
            hit = None
            for f in self._faults:
                if f.action in REQUEST_ACTIONS and f.matches(ctx) and f.take():
                    hit = f
                    break
        if hit is None:
            return
        h.rec["fault"] = hit.id
        p = hit.params
        if hit.action == "delay":
            time.sleep(float(p.get("seconds", 1.0)))
            return
        if hit.action == "error":
            code = int(p.get("code", 500))
            err = E.server_error(code, p.get("message"), p.get("retry_after")) if code >= 429 else \
                E.ApiError(code, p.get("reason", ""), p.get("message", "injected fault"))
            if code == 410:
                err = E.expired(p.get("message", "too old resource version"))
            raise err
        if hit.action == "hang":
            end = time.time() + float(p.get("seconds", 1e9))
            while time.time() < end and hit in self._faults and self._srv is not None and \
                    not h.server.closing:
                time.sleep(0.02)
            raise _Abort("rst" if p.get("rst") else "")
        if hit.action == "close":
            raise _Abort("rst" if p.get("rst") else "")
        if hit.action == "garbage":
            h._send(int(p.get("code", 200)), p.get("data", "\x00\xff{\"kind\":garb").encode("latin-1"),
                    p.get("content_type", "application/json"))
            raise _Abort("")

    def _stream_faults_exist(self):
        return any(f.action in STREAM_ACTIONS for f in self._faults)

    def _stream_faults(self, w):
        out = {}
        with self.lock:
            for f in self._faults:
                if f.action not in STREAM_ACTIONS or f.action in out or not f.matches(w["ctx"]):
                    continue
                if f.action in ("split", "drip", "stream-hang"):
                    # count = number of streams affected
                    if f.id not in w["faults"]:
                        if not f.take():
                            continue
                        w["faults"].add(f.id)
                    out[f.action] = f
                elif f.action == "stream-close":
                    if f.params.get("after_events", 0) <= w["sent"] and f.take():
                        out[f.action] = f
                elif f.action in ("stream-garbage", "stream-error"):
                    if f.params.get("after_events", 0) <= w["sent"] and f.take():
                        out[f.action] = f
        return out

    # ------------------------------------------------------- request log

    def _log_request(self, h, method, url, body, ctx):
        hdrs = {k: v for k, v in h.headers.items()}
        rec = {"id": next(self._req_ids), "time": time.time(), "method": method, "path": url.path,
               "query": dict(h.q), "raw_query": url.query, "headers": hdrs,
               "user_agent": hdrs.get("User-Agent", ""), "content_type": hdrs.get("Content-Type"),
               "body": body.decode("utf-8", "replace") if self.log_bodies else None,
               "status": None, "verb": ctx["verb"], "resource": ctx["resource"],
               "group": ctx["res"].group if ctx["res"] else None, "namespace": ctx["namespace"],
               "name": ctx["name"], "subresource": ctx["subresource"], "user": None,
               "duration": None, "watch_id": None, "fault": None}
        self._log.append(rec)
        return rec

    def requests(self, **match):
        """Request log entries (oldest first) whose fields equal every given value,
        e.g. requests(verb="patch", subresource="status")."""
        return [dict(r) for r in list(self._log) if all(r.get(k) == v for k, v in match.items())]

    def clear_requests(self):
        self._log.clear()

    def wait_for_request(self, timeout=5.0, **match):
        end = time.time() + timeout
        while time.time() < end:
            r = self.requests(**match)
            if r:
                return r[-1]
            time.sleep(0.01)
        raise TimeoutError("no request matching %r" % match)

    # ------------------------------------------------------------ watches

    def _watch_register(self, h, res, ns):
        w = {"id": next(self._watch_ids), "resource": res.plural, "group": res.group,
             "namespace": ns, "user_agent": h.headers.get("User-Agent", ""), "query": dict(h.q),
             "started": time.time(), "ended": None, "sent": 0, "bookmarks": 0, "stop": False,
             "abrupt": False, "ctx": h.ctx, "faults": set(), "rng": random.Random(self.rng.random())}
        h.rec["watch_id"] = w["id"]
        with self.lock:
            self._watches[w["id"]] = w
        return w

    def _watch_done(self, w):
        w["ended"] = time.time()
        with self.lock:
            self._watches.pop(w["id"], None)
            self._watch_history.append(w)

    def _watch_wrote(self, w, line, entry, t, bookmark):
        if entry is not None:
            m = entry.obj["metadata"]
            self._writes.append((w["id"], w["resource"], "BOOKMARK" if bookmark else entry.type,
                                 entry.rv, m.get("namespace"), m["name"], entry.t, t))
        elif bookmark:
            self._writes.append((w["id"], w["resource"], "BOOKMARK", None, None, None, None, t))

    def _line(self, res, entry, etype, w=None):
        if w is not None and w.get("table"):
            o = entry.obj
            if res.group == "events.k8s.io":
                o = to_view(res, o)
            t = T.table(res, [o], {"resourceVersion": entry.obj["metadata"]["resourceVersion"]}, w["include"])
            return b'{"type":"%s","object":%s}\n' % (etype.encode(), _dumps(t).encode())
        k = (res.group, etype)
        line = entry.lines.get(k)
        if line is None:
            if res.group == "events.k8s.io" or entry.ij is None:
                obj = _dumps(to_view(res, entry.obj)).encode()
            else:
                obj = b'{"kind":"%s","apiVersion":"%s",%s' % (res.kind.encode(), res.api_version.encode(),
                                                               entry.ij[1:])
            line = b'{"type":"%s","object":%s}\n' % (etype.encode(), obj)
            entry.lines[k] = line
        return line

    def _public_watch(self, w):
        return {k: w[k] for k in ("id", "resource", "group", "namespace", "user_agent", "query",
                                  "started", "ended", "sent", "bookmarks")}

    def watches(self, resource=None, active=True):
        with self.lock:
            ws = list(self._watches.values()) if active else \
                list(self._watch_history) + list(self._watches.values())
        return [self._public_watch(w) for w in ws if resource in (None, w["resource"])]

    def active_watches(self, resource=None):
        """{resource: number of open watch streams}, or the count for one resource."""
        with self.lock:
            c = collections.Counter(w["resource"] for w in self._watches.values())
        return c.get(resource, 0) if resource else dict(c)

    def wait_for_watches(self, resource, n=1, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.active_watches(resource) >= n:
                return True
            time.sleep(0.01)
        raise TimeoutError("%d watches on %s not reached (have %d)"
                           % (n, resource, self.active_watches(resource)))

    def close_watches(self, resource=None, abrupt=False):
        """End open watch streams now: cleanly (final chunk) or abruptly."""
        with self.lock:
            for w in self._watches.values():
                if resource in (None, w["resource"]):
                    w["abrupt"] = abrupt
                    w["stop"] = True
        with self.store.cond:
            self.store.cond.notify_all()

    def watch_writes(self, resource=None, watch_id=None, since=None):
        """Every event written to a watch stream: dicts with watch_id, resource,
        type, rv, namespace, name, committed (server time of the write that made
        the event) and written (server time the whole line was flushed)."""
        out = []
        for wid, r, ty, rv, ns, name, tc, tw in list(self._writes):
            if (resource is None or r == resource) and (watch_id is None or wid == watch_id) and \
                    (since is None or tw >= since):
                out.append({"watch_id": wid, "resource": r, "type": ty, "rv": rv, "namespace": ns,
                            "name": name, "committed": tc, "written": tw})
        return out

    # ---------------------------------------------- objects (Python API)

    @staticmethod
    def _res(resource_or_obj):
        if isinstance(resource_or_obj, dict):
            return R.for_kind(resource_or_obj.get("apiVersion"), resource_or_obj.get("kind"))
        return resource_or_obj if isinstance(resource_or_obj, R.Resource) else R.lookup(resource_or_obj)

    def _ensure_ns(self, res, ns):
        if res.namespaced and ns and ("", ns) not in self.store.objs["namespaces"]:
            try:
                self.store.create(R.lookup("namespaces"), None, {"metadata": {"name": ns}}, "fakeapi")
            except E.ApiError as e:
                if e.code != 409:
                    raise

    def create(self, obj, namespace=None, manager="fakeapi"):
        """POST semantics (defaulting, allocation, validation); the namespace is
        created when missing. Returns the stored object."""
        res = self._res(obj)
        ns = (namespace or obj.get("metadata", {}).get("namespace") or "default") if res.namespaced else None
        self._ensure_ns(res, ns)
        return copy.deepcopy(self.store.create(res, ns, obj, manager))

    def load(self, objs, manager="fakeapi"):
        """Create many objects (a list, or a dict with items)."""
        if isinstance(objs, dict):
            objs = objs.get("items", [objs]) if objs.get("kind", "").endswith("List") else [objs]
        return [self.create(o, manager=manager) for o in objs]

    def update(self, obj, subresource=None, manager="fakeapi"):
        """PUT semantics: 409 when metadata.resourceVersion is set and stale."""
        res = self._res(obj)
        m = obj["metadata"]
        return copy.deepcopy(self.store.update(
            res, m.get("namespace") or ("default" if res.namespaced else None), m["name"], obj,
            subresource, manager))

    def update_status(self, obj, manager="fakeapi"):
        return self.update(obj, "status", manager)

    def apply(self, obj, manager="fakeapi"):
        """Make the stored object look like obj (e.g. factory output): create it,
        or replace it unconditionally (server-set metadata of obj ignored) and,
        for a resource with a status subresource, replace the status too (a
        second write, as a controller and the kubelet would). Not server-side apply."""
        res = self._res(obj)
        ns = (obj["metadata"].get("namespace") or "default") if res.namespaced else None
        if self.store._lookup(res, ns, obj["metadata"]["name"]) is None:
            return self.create(obj, ns, manager)
        o = copy.deepcopy(obj)
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                  "deletionTimestamp", "deletionGracePeriodSeconds"):
            o["metadata"].pop(k, None)
        if res.namespaced:
            o["metadata"]["namespace"] = ns
        out = self.update(o, manager=manager)
        if res.status and "status" in obj:
            out = self.update({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                               "metadata": {"name": obj["metadata"]["name"], "namespace": ns},
                               "status": copy.deepcopy(obj["status"])}, "status", manager)
        return out

    def patch(self, resource, name, patch, namespace=None, type="merge", subresource=None,
              manager="fakeapi"):
        """type: merge | strategic | json."""
        res = self._res(resource)
        return copy.deepcopy(self.store.patch(res, (namespace or "default") if res.namespaced
                                              else None, name, type, patch, subresource, manager))

    def delete(self, resource, name, namespace=None, **options):
        """-> the object: gone, or still there with deletionTimestamp when finalizers hold it."""
        res = self._res(resource)
        return copy.deepcopy(self.store.delete(res, (namespace or "default") if res.namespaced
                                               else None, name, options)[0])

    # get, list and objects return copies: a caller that edits what it got
    # and sends it back with update() must not have changed the stored
    # object already (that would make the update a no-op without an event).
    def get(self, resource, name, namespace=None):
        res = self._res(resource)
        try:
            return copy.deepcopy(self.store.get(res, (namespace or "default") if res.namespaced
                                                else None, name))
        except E.ApiError as e:
            if e.code == 404:
                return None
            raise

    def list(self, resource, namespace=None, **params):
        """params: label_selector, field_selector, limit, cont, resource_version,
        resource_version_match; -> the List object (items carry no kind)."""
        return copy.deepcopy(self.store.list(self._res(resource), namespace, **params))

    def objects(self, resource, namespace=None):
        res = self._res(resource)
        with self.store.cond:
            return copy.deepcopy([o for k, o in sorted(self.store.objs[res.store].items())
                                  if namespace is None or k[0] == namespace])

    @property
    def resource_version(self):
        return self.store.rv

    def compact(self, rv=None):
        self.store.compact(rv)

    def expire_continue_tokens(self):
        self.store.expire_continue_tokens()

    def set(self, **kw):
        """Change settings at run time: bookmark_interval, default_watch_timeout,
        watch_410_http, anonymous, continue_ttl, history."""
        for k, v in kw.items():
            if k in ("continue_ttl", "history"):
                setattr(self.store, k, v)
            elif k in ("bookmark_interval", "default_watch_timeout", "watch_410_http", "anonymous"):
                setattr(self, k, v)
            else:
                raise ValueError("unknown setting %s" % k)

    # ------------------------------------------------------------ control

    def start_control(self, unix_path=None, port=None):
        from .control import serve_control
        srv = serve_control(self, unix_path=unix_path, port=port)
        self._control.append(srv)
        return srv
