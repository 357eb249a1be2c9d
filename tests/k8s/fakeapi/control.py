# SPDX-License-Identifier: BSD-3-Clause
"""The control channel: plain HTTP on a Unix socket (and optionally a loopback
port) so shell scripts and tests in other processes can drive a standalone
server. POST /call {"method": M, "args": [...], "kwargs": {...}} calls FakeAPI.M;
a few REST shortcuts exist for curl (see README.md)."""
import http.client
import json
import os
import socket
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .errors import ApiError

METHODS = ("create", "load", "update", "update_status", "apply", "patch", "delete", "get", "list",
           "objects", "compact", "expire_continue_tokens", "add_fault", "clear_faults", "faults",
           "requests", "clear_requests", "wait_for_request", "watches", "active_watches",
           "wait_for_watches", "close_watches", "watch_writes", "rotate_token", "add_token",
           "revoke_token", "valid_tokens", "issue_client_cert", "down", "up", "restart", "info",
           "set", "resource_version")


class _H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _reply(self, code, obj):
        b = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n)) if n else None

    def _call(self, method, args=(), kwargs=None):
        api = self.server.api
        if method not in METHODS:
            return self._reply(404, {"error": "no such method %r" % method})
        try:
            attr = getattr(api, method)
            res = attr(*args, **(kwargs or {})) if callable(attr) else attr
            self._reply(200, {"result": res})
        except ApiError as e:
            self._reply(e.code, {"error": e.status()})
        except (TypeError, ValueError, KeyError, TimeoutError) as e:
            self._reply(400, {"error": "%s: %s" % (type(e).__name__, e)})

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query).items()}
        p = u.path.strip("/").split("/")
        if p[0] == "info":
            return self._call("info")
        if p[0] in ("requests", "faults", "watches", "watch_writes", "active_watches", "valid_tokens"):
            for k in ("id", "watch_id", "status"):
                if k in q:
                    q[k] = int(q[k])
            if "active" in q:
                q["active"] = q["active"] not in ("0", "false")
            return self._call(p[0], kwargs=q)
        if p[0] == "objects" and len(p) >= 2:
            if len(p) == 2:
                return self._call("list", [p[1]], {"namespace": q.get("namespace")})
            ns = None if p[2] == "-" else p[2]
            return self._call("get", [p[1], p[3]], {"namespace": ns})
        self._reply(404, {"error": "unknown path"})

    def do_DELETE(self):
        p = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        if p[0] == "faults":
            return self._call("clear_faults", [int(p[1])] if len(p) > 1 else [])
        if p[0] == "objects" and len(p) == 4:
            return self._call("delete", [p[1], p[3]], {"namespace": None if p[2] == "-" else p[2]})
        self._reply(404, {"error": "unknown path"})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query).items()}
        p = u.path.strip("/").split("/")
        try:
            body = self._body()
        except ValueError as e:
            return self._reply(400, {"error": "bad JSON: %s" % e})
        if p[0] == "call":
            return self._call(body["method"], body.get("args", []), body.get("kwargs", {}))
        if p[0] == "objects":
            objs = body.get("items", [body]) if isinstance(body, dict) else body
            return self._call("load" if q.get("mode") != "apply" else "apply",
                              [objs] if q.get("mode") != "apply" else [objs[0]])
        if p[0] == "faults":
            body = dict(body)
            return self._call("add_fault", [body.pop("action")], body)
        if p[0] in ("down", "up", "compact", "expire_continue_tokens", "close_watches",
                    "rotate_token", "restart"):
            kw = {}
            if "grace" in q:
                kw["grace"] = float(q["grace"])
            if "downtime" in q:
                kw["downtime"] = float(q["downtime"])
            if "abrupt" in q:
                kw["abrupt"] = q["abrupt"] not in ("0", "false")
            if "rv" in q:
                kw["rv"] = int(q["rv"])
            if "resource" in q:
                kw["resource"] = q["resource"]
            return self._call(p[0], kwargs=kw)
        self._reply(404, {"error": "unknown path"})


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        req, _ = super().get_request()
        return req, ("unix", 0)


class _TCPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_control(api, unix_path=None, port=None):
    if unix_path:
        if os.path.exists(unix_path):
            os.unlink(unix_path)
        srv = _UnixServer(unix_path, _H)
    else:
        srv = _TCPServer(("127.0.0.1", port or 0), _H)
    srv.api = api
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                     name="fakeapi-control").start()
    return srv


class _UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class ControlClient:
    """Drives a standalone server from another process with the same method
    names as FakeAPI: ControlClient(dir).create(obj), .add_fault("error", code=503), ...
    target: the server's --dir (uses DIR/control.sock) or http://127.0.0.1:PORT."""

    def __init__(self, target, timeout=30.0):
        self.target, self.timeout = target, timeout

    def _conn(self):
        if self.target.startswith("http://"):
            u = urllib.parse.urlsplit(self.target)
            return http.client.HTTPConnection(u.hostname, u.port, timeout=self.timeout)
        return _UnixConn(os.path.join(self.target, "control.sock"), self.timeout)

    def call(self, method, *args, **kwargs):
        c = self._conn()
        try:
            c.request("POST", "/call", json.dumps({"method": method, "args": args, "kwargs": kwargs}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            out = json.loads(r.read())
        finally:
            c.close()
        if "error" in out:
            e = out["error"]
            if isinstance(e, dict):
                raise ApiError(e.get("code"), e.get("reason"), e.get("message"), e.get("details"))
            raise RuntimeError(e)
        return out["result"]

    def __getattr__(self, name):
        if name not in METHODS:
            raise AttributeError(name)
        return lambda *a, **kw: self.call(name, *a, **kw)
