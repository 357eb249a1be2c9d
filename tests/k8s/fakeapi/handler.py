# SPDX-License-Identifier: BSD-3-Clause
"""The HTTP side: routing, content types, the verbs, and watch streams."""
import json
import random
import socket
import ssl
import struct
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import errors as E
from . import resources as R
from . import tables as T
from .selectors import match_fields, match_labels, parse_fields, parse_labels
from .store import to_view

PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic"}
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")


def _dumps(o):
    return json.dumps(o, separators=(",", ":"))


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
                w["rv"] = rv
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
        x = acts.get("stream-error")
        if x:
            code = int(x.params.get("code", 410))
            st = (E.expired(x.params.get("message", "too old resource version: %s (%s)" % (
                w.get("rv", 0), self.server.api.store.rv))) if code == 410 else
                E.server_error(code, x.params.get("message"))).status()
            self._chunk(b'{"type":"ERROR","object":' + _dumps(st).encode() + b"}\n")
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
