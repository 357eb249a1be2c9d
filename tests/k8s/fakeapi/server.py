# SPDX-License-Identifier: BSD-3-Clause
"""FakeAPI: the HTTP(S) front of the store, auth, faults, the request log and
watch streams; the Python API tests drive it with."""
import collections
import copy
import itertools
import json
import os
import random
import secrets
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import certs
from . import defaults as D
from . import errors as E
from . import resources as R
from . import tables as T
from .selectors import match_fields, match_labels, parse_fields, parse_labels
from .store import Store, to_view

PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic"}
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
MATCH_KEYS = ("verb", "resource", "namespace", "name", "subresource", "method", "path", "user_agent")
REQUEST_ACTIONS = ("error", "delay", "hang", "close", "garbage")
STREAM_ACTIONS = ("split", "drip", "stream-hang", "stream-close", "stream-garbage")


def _dumps(o):
    return json.dumps(o, separators=(",", ":"))


class Fault:
    def __init__(self, fid, action, match, count, params):
        if action not in REQUEST_ACTIONS + STREAM_ACTIONS:
            raise ValueError("unknown fault action %r (one of %s)"
                             % (action, ", ".join(REQUEST_ACTIONS + STREAM_ACTIONS)))
        self.id, self.action, self.match, self.count, self.params = fid, action, match, count, params
        self.hits = 0
        self.added = time.time()

    def matches(self, ctx):
        for k, v in self.match.items():
            have = ctx.get(k)
            if k == "path":
                if not (have or "").startswith(v):
                    return False
            elif k == "user_agent":
                if v not in (have or ""):
                    return False
            elif k == "resource":
                if v not in (have, ctx.get("group_resource")):
                    return False
            elif have != v:
                return False
        return True

    def take(self):
        """Consume one application; False when used up."""
        if self.count is not None and self.hits >= self.count:
            return False
        self.hits += 1
        return True

    def describe(self):
        return {"id": self.id, "action": self.action, "match": self.match, "count": self.count,
                "hits": self.hits, "params": self.params}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, api, addr):
        self.api = api
        self.closing = False
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, never in the accept loop
        if self.api.ssl_ctx is not None:
            request.settimeout(10)
            try:
                request = self.api.ssl_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
            request.settimeout(None)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.api.lock:
            self.api.conns.add(request)
        try:
            super().finish_request(request, client_address)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.api.lock:
                self.api.conns.discard(request)

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        except (OSError, ssl.SSLError):
            pass

    def handle_error(self, request, client_address):
        pass


class _Abort(Exception):
    """Drop the connection without a response."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""

    def log_message(self, *a):
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ------------------------------------------------------------- plumbing

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = _dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.rec["status"] = code        # before the client can see the answer
        self.send_response(code)
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err):
        self._send(err.code, err.status(), headers=err.headers)

    # --------------------------------------------------------------- entry

    def _dispatch(self, method):
        api = self.server.api
        self.audit_id = str(uuid.uuid4())
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.q = {k: v[-1] for k, v in q.items()}
        self.url_path = url.path
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        self.body = body
        self.ctx = ctx = self._route_context(method, url.path)
        self.rec = rec = api._log_request(self, method, url, body, ctx)
        t0 = time.time()
        try:
            api._request_faults(self, ctx)
            self.user = api._authenticate(self, url.path, ctx)
            self._handle(method, ctx)
        except E.ApiError as err:
            try:
                self._send_error(err)
            except OSError:
                self.close_connection = True
        except _Abort as a:
            self.close_connection = True
            rec["status"] = 0
            if str(a) == "rst":
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
        except (OSError, ssl.SSLError):
            self.close_connection = True
        except Exception as ex:   # a bug here must not look like a protocol answer
            import traceback
            traceback.print_exc()
            try:
                self._send_error(E.server_error(500, "fakeapi bug: %r" % ex))
            except OSError:
                pass
        rec["duration"] = time.time() - t0

    def _route_context(self, method, path):
        ctx = {"method": method, "path": path, "user_agent": self.headers.get("User-Agent", ""),
               "verb": None, "resource": None, "group_resource": None, "namespace": None,
               "name": None, "subresource": None, "res": None}
        segs = [s for s in path.split("/") if s]
        if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
            group, version, rest = "", "v1", segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            return ctx
        if not rest:
            return ctx
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        res = R.BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 3:
            ctx["verb"] = "unknown"
            return ctx
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        ctx.update(res=res, resource=res.plural, group_resource=res.group_resource,
                   namespace=ns, name=name, subresource=sub)
        watch = self.q.get("watch", "").lower() in ("1", "true")
        ctx["verb"] = {"GET": "get" if name else ("watch" if watch else "list"),
                       "POST": "create", "PUT": "update", "PATCH": "patch",
                       "DELETE": "delete" if name else "deletecollection"}.get(method)
        return ctx

    def _handle(self, method, ctx):
        api = self.server.api
        p = self.url_path.rstrip("/") or "/"
        accept = self.headers.get("Accept", "")
        if accept and "json" not in accept and "*/*" not in accept and not p.startswith("/openapi"):
            raise E.ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                             "application/json, application/yaml, application/vnd.kubernetes.protobuf", {})
        if ctx["res"] is None:
            if method != "GET":
                raise E.method_not_allowed()
            if p == "/version":
                return self._send(200, R.SERVER_VERSION)
            if p in ("/healthz", "/livez", "/readyz"):
                return self._send(200, "ok", "text/plain; charset=utf-8")
            if p == "/api":
                return self._send(200, R.api_versions("%s:%d" % (api.host, api.port)))
            if p == "/apis":
                return self._send(200, R.api_group_list())
            if p == "/openapi/v2":
                return self._send(200, R.openapi_v2_pb(), "application/octet-stream")
            if p == "/openapi/v3":
                return self._send(200, R.openapi_v3_root())
            if p.startswith("/openapi/v3/"):
                doc = R.openapi_v3_gv(p[len("/openapi/v3/"):])
                if doc is not None:
                    return self._send(200, doc)
            segs = p.strip("/").split("/")
            if segs[0] == "apis" and len(segs) == 2 and segs[1] in R.GROUPS:
                return self._send(200, R.api_group(segs[1]))
            if (segs[0] == "api" and len(segs) == 2) or (segs[0] == "apis" and len(segs) == 3):
                g, v = ("", segs[1]) if segs[0] == "api" else (segs[1], segs[2])
                doc = R.resource_list(g, v)
                if doc is not None:
                    return self._send(200, doc)
            raise E.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        res = ctx["res"]
        ns, name, sub = ctx["namespace"], ctx["name"], ctx["subresource"]
        if (res.namespaced and name and not ns) or (not res.namespaced and ns) or \
                (sub is not None and not (sub == "status" and res.status)):
            raise E.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        verb = ctx["verb"]
        manager = self.q.get("fieldManager") or (ctx["user_agent"].split("/")[0] or "unknown")
        if self.q.get("dryRun") and method != "GET":
            raise E.bad_request("dryRun is not supported by this fake API server")
        store = api.store
        as_table = T.wants_table(self.headers.get("Accept")) and res.group != "events.k8s.io"
        inc = self.q.get("includeObject", "Metadata")
        if verb == "get" and as_table:
            o = store.get(res, ns, name)
            return self._send(200, T.table(res, [o], {"resourceVersion": o["metadata"]["resourceVersion"]}, inc),
                              "application/json;as=Table;v=v1;g=meta.k8s.io")
        if verb == "list" and as_table:
            lst = store.list(res, ns, self.q.get("labelSelector"), self.q.get("fieldSelector"),
                             self.q.get("limit"), self.q.get("continue"), self.q.get("resourceVersion"),
                             self.q.get("resourceVersionMatch"))
            return self._send(200, T.table(res, lst["items"], lst["metadata"], inc),
                              "application/json;as=Table;v=v1;g=meta.k8s.io")
        if verb == "get":
            return self._send(200, to_view(res, store.get(res, ns, name)))
        if verb == "list":
            return self._send(200, store.list(
                res, ns, self.q.get("labelSelector"), self.q.get("fieldSelector"),
                self.q.get("limit"), self.q.get("continue"), self.q.get("resourceVersion"),
                self.q.get("resourceVersionMatch"), raw=True))
        if verb == "watch":
            return self._watch(res, ns)
        if verb == "deletecollection":
            out = store.list(res, ns, self.q.get("labelSelector"), self.q.get("fieldSelector"))
            items = []
            for it in out["items"]:
                o, _ = store.delete(res, ns, it["metadata"]["name"])
                items.append(to_view(res, o, with_type=False))
            out["items"] = items
            return self._send(200, out)
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if verb == "patch":
            if ctype not in PATCH_TYPES:
                raise E.unsupported_media_type(None)
            obj = store.patch(res, ns, name, PATCH_TYPES[ctype], self.body, sub, manager)
            return self._send(200, to_view(res, obj))
        if verb == "delete":
            opts = self._json_body(allow_empty=True) or {}
            obj, gone = store.delete(res, ns, name, opts)
            if gone:
                return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Success",
                                        "details": {"name": name, **({"group": res.group} if res.group else {}),
                                                    "kind": res.plural, "uid": obj["metadata"]["uid"]}})
            return self._send(200, to_view(res, obj))
        if ctype not in ("application/json", "*/*"):
            raise E.unsupported_media_type("")
        body = self._json_body()
        if verb == "create":
            if name:
                raise E.method_not_allowed()
            return self._send(201, to_view(res, store.create(res, ns, body, manager)))
        if verb == "update":
            return self._send(200, to_view(res, store.update(res, ns, name, body, sub, manager)))
        raise E.method_not_allowed()

    def _json_body(self, allow_empty=False):
        if not self.body.strip() and allow_empty:
            return None
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise E.bad_request("Object 'Kind' is missing in '%s'" % self.body[:200].decode(errors="replace")
                                if not self.body.strip() else "json: %s" % e) from None

    # --------------------------------------------------------------- watch

    def _watch(self, res, ns):
        api = self.server.api
        q = self.q
        lsel = parse_labels(q.get("labelSelector")) if q.get("labelSelector") else []
        fsel = parse_fields(q.get("fieldSelector"), res.store, res.group == "events.k8s.io") \
            if q.get("fieldSelector") else []
        bookmarks = q.get("allowWatchBookmarks", "").lower() in ("1", "true")
        try:
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else \
                api.default_watch_timeout * (1 + random.random())
        except ValueError:
            raise E.bad_request("timeoutSeconds: invalid value") from None
        try:
            init, rv = api.store.watch_begin(res, ns, q.get("resourceVersion"))
            err = None
        except E.ApiError as e:
            if e.code != 410 or api.watch_410_http:
                raise
            init, rv, err = [], 0, e
        w = api._watch_register(self, res, ns)
        w["table"] = T.wants_table(self.headers.get("Accept")) and res.group != "events.k8s.io"
        w["include"] = q.get("includeObject", "Metadata")
        try:
            self.rec["status"] = 200
            self.send_response(200)
            self.send_header("Audit-Id", self.audit_id)
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if err is not None:
                self._event(w, b'{"type":"ERROR","object":' + _dumps(err.status()).encode() + b"}\n", None)
                return self._end(w, True)

            def sees(o):
                if ns and o["metadata"].get("namespace") != ns:
                    return False
                return (not lsel or match_labels(lsel, o["metadata"].get("labels"))) and \
                    (not fsel or match_fields(fsel, o))

            for e in init:
                if sees(e.obj):
                    self._event(w, api._line(res, e, "ADDED", w), e)
            if q.get("sendInitialEvents") == "true" and bookmarks:
                self._bookmark(w, res, rv, initial_end=True)
            deadline = time.time() + timeout
            next_bm = time.time() + api.bookmark_interval
            while not self.server.closing and not w["stop"]:
                now = time.time()
                if now >= deadline:
                    if bookmarks:
                        self._bookmark(w, res, rv)
                    break
                wait = min(deadline, next_bm if bookmarks else deadline, now + 0.5) - now
                entries, newest, compacted = api.store.events_after(res.store, rv, max(0.0, wait))
                if compacted:
                    st = E.ApiError(410, "Expired", "too old resource version: %d (%d)"
                                    % (rv, api.store.compact_rv)).status()
                    self._event(w, b'{"type":"ERROR","object":' + _dumps(st).encode() + b"}\n", None)
                    break
                batch = []
                for e in entries:
                    now_in = sees(e.obj) if e.type != "DELETED" else sees(e.prev or e.obj)
                    was_in = e.prev is not None and sees(e.prev)
                    if e.type == "MODIFIED" and (lsel or fsel):
                        etype = "MODIFIED" if now_in and was_in else "ADDED" if now_in else \
                            "DELETED" if was_in else None
                    else:
                        etype = e.type if now_in else None
                    if etype:
                        batch.append((api._line(res, e, etype, w), e))
                    rv = e.rv
                if batch and not api._stream_faults_exist():
                    self._events(w, batch)
                else:
                    for line, e in batch:
                        if self.server.closing or w["stop"]:
                            break
                        self._event(w, line, e)
                if not w["stop"]:
                    rv = max(rv, newest)
                if bookmarks and time.time() >= next_bm:
                    self._bookmark(w, res, rv)
                    next_bm = time.time() + api.bookmark_interval
            self._end(w, not w["abrupt"] and not self.server.closing)
        except (OSError, ssl.SSLError):
            self.close_connection = True
        finally:
            api._watch_done(w)

    def _bookmark(self, w, res, rv, initial_end=False):
        obj = R.bookmark_object(res, rv)
        if initial_end:
            obj["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
        self._event(w, b'{"type":"BOOKMARK","object":' + _dumps(obj).encode() + b"}\n", None, bookmark=True)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _events(self, w, batch):
        """Several event lines in one write (one chunk each), one flush."""
        self.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(line), line) for line, _ in batch))
        self.wfile.flush()
        t = time.time()
        api = self.server.api
        for line, e in batch:
            w["sent"] += 1
            api._watch_wrote(w, line, e, t, False)

    def _event(self, w, line, entry, bookmark=False):
        """Write one event line, under whatever stream faults are in force."""
        api = self.server.api
        acts = api._stream_faults(w)
        while acts.get("stream-hang") and not self.server.closing and not w["stop"]:
            time.sleep(0.02)
            acts = api._stream_faults(w)
        if self.server.closing:
            raise OSError("server closing")
        g = acts.get("stream-garbage")
        if g:
            self._chunk(g.params.get("data", "\x00\xff}{not json\n").encode("latin-1"))
            if g.params.get("then", "continue") == "close":
                w["abrupt"] = True
                w["stop"] = True
                return
        c = acts.get("stream-close")
        if c and w["sent"] >= c.params.get("after_events", 0):
            w["abrupt"] = c.params.get("abrupt", True)
            w["rst"] = c.params.get("rst", False)
            w["stop"] = True
            return
        split, drip = acts.get("split"), acts.get("drip")
        if split or drip:
            p = (split or drip).params
            maxpiece = max(1, int(p.get("max_piece", 7 if split else 1)))
            delay = float(p.get("delay", 0.0 if split else 0.01))
            i = 0
            while i < len(line):
                n = w["rng"].randint(1, maxpiece)
                self._chunk(line[i:i + n])
                i += n
                if delay and i < len(line):
                    time.sleep(delay)
        else:
            self._chunk(line)
        t = time.time()
        if bookmark:
            w["bookmarks"] += 1
        else:
            w["sent"] += 1
        api._watch_wrote(w, line, entry, t, bookmark)

    def _end(self, w, clean):
        if clean:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        else:
            self.close_connection = True
            if w.get("rst"):
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            try:
                self.connection.shutdown(socket.SHUT_RDWR) if not w.get("rst") else None
            except OSError:
                pass


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
        rst), stream-garbage (data, then=continue|close). count: applications
        (requests, or streams/events for stream faults); None = until cleared."""
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
                elif f.action == "stream-garbage":
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
        return self.store.create(res, ns, obj, manager)

    def load(self, objs, manager="fakeapi"):
        """Create many objects (a list, or a dict with items)."""
        if isinstance(objs, dict):
            objs = objs.get("items", [objs]) if objs.get("kind", "").endswith("List") else [objs]
        return [self.create(o, manager=manager) for o in objs]

    def update(self, obj, subresource=None, manager="fakeapi"):
        """PUT semantics: 409 when metadata.resourceVersion is set and stale."""
        res = self._res(obj)
        m = obj["metadata"]
        return self.store.update(res, m.get("namespace") or ("default" if res.namespaced else None),
                                 m["name"], obj, subresource, manager)

    def update_status(self, obj, manager="fakeapi"):
        return self.update(obj, "status", manager)

    def apply(self, obj, manager="fakeapi"):
        """Create, or replace unconditionally (not server-side apply)."""
        res = self._res(obj)
        ns = (obj["metadata"].get("namespace") or "default") if res.namespaced else None
        if self.store._lookup(res, ns, obj["metadata"]["name"]) is None:
            return self.create(obj, ns, manager)
        o = copy.deepcopy(obj)
        o["metadata"].pop("resourceVersion", None)
        o["metadata"]["namespace"] = ns
        return self.update(o, manager=manager)

    def patch(self, resource, name, patch, namespace=None, type="merge", subresource=None,
              manager="fakeapi"):
        """type: merge | strategic | json."""
        res = self._res(resource)
        return self.store.patch(res, (namespace or "default") if res.namespaced else None, name,
                                type, patch, subresource, manager)

    def delete(self, resource, name, namespace=None, **options):
        """-> the object: gone, or still there with deletionTimestamp when finalizers hold it."""
        res = self._res(resource)
        return self.store.delete(res, (namespace or "default") if res.namespaced else None, name,
                                 options)[0]

    def get(self, resource, name, namespace=None):
        res = self._res(resource)
        try:
            return self.store.get(res, (namespace or "default") if res.namespaced else None, name)
        except E.ApiError as e:
            if e.code == 404:
                return None
            raise

    def list(self, resource, namespace=None, **params):
        """params: label_selector, field_selector, limit, cont, resource_version,
        resource_version_match; -> the List object (items carry no kind)."""
        return self.store.list(self._res(resource), namespace, **params)

    def objects(self, resource, namespace=None):
        res = self._res(resource)
        with self.store.cond:
            return [o for k, o in sorted(self.store.objs[res.store].items())
                    if namespace is None or k[0] == namespace]

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
