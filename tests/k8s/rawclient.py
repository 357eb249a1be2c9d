# SPDX-License-Identifier: BSD-3-Clause
"""A deliberately small HTTP/1.1 client for the fake API's own tests: sees
every chunk of a chunked watch stream as it was sent."""
import http.client
import json
import socket
import ssl


class Raw:
    def __init__(self, srv, token="__default__", cert=None, timeout=10.0):
        self.srv = srv
        self.token = srv.token if token == "__default__" else token
        self.timeout = timeout
        self.ctx = None
        if srv.tls:
            self.ctx = ssl.create_default_context(cafile=srv.path("ca.crt"))
            if cert:
                self.ctx.load_cert_chain(*cert)

    def _headers(self, extra):
        h = {"User-Agent": "fakeapi-test/1.0", "Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(extra or {})
        return h

    def conn(self):
        if self.ctx:
            return http.client.HTTPSConnection(self.srv.host, self.srv.port, context=self.ctx,
                                               timeout=self.timeout)
        return http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=self.timeout)

    def req(self, method, path, body=None, ctype="application/json", headers=None):
        """-> (status, headers dict, parsed JSON or raw bytes)."""
        c = self.conn()
        try:
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            h = self._headers(headers)
            if body is not None:
                h["Content-Type"] = ctype
            c.request(method, path, body, h)
            r = c.getresponse()
            data = r.read()
            try:
                data = json.loads(data)
            except ValueError:
                pass
            return r.status, dict(r.getheaders()), data
        finally:
            c.close()

    def stream(self, path, headers=None):
        return Stream(self, path, headers)


class Stream:
    """GET path and read the chunked body chunk by chunk."""

    def __init__(self, raw, path, headers):
        s = socket.create_connection((raw.srv.host, raw.srv.port), timeout=raw.timeout)
        if raw.ctx:
            s = raw.ctx.wrap_socket(s, server_hostname=raw.srv.host)
        self.sock = s
        h = raw._headers(headers)
        req = "GET %s HTTP/1.1\r\nHost: %s\r\n" % (path, raw.srv.host)
        req += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        s.sendall(req.encode())
        self.rb = b""
        line = self._readline()
        self.status = int(line.split()[1])
        self.headers = {}
        while True:
            line = self._readline().decode()
            if line in ("\r\n", ""):
                break
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunks = []
        self.buf = b""
        self.ended = False       # saw the terminating 0-length chunk
        self.closed = False      # connection closed (cleanly or not)

    def _fill(self):
        """More bytes into rb; False at EOF. A socket timeout propagates (and
        leaves the stream usable)."""
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise
        except (ConnectionError, ssl.SSLError, OSError):
            data = b""
        if not data:
            return False
        self.rb += data
        return True

    def _readline(self):
        while b"\n" not in self.rb:
            if not self._fill():
                out, self.rb = self.rb, b""
                return out
        line, self.rb = self.rb.split(b"\n", 1)
        return line + b"\n"

    def _read(self, n):
        while len(self.rb) < n:
            if not self._fill():
                break
        out, self.rb = self.rb[:n], self.rb[n:]
        return out

    def read_chunk(self):
        """Next chunk's payload; None at the end of the stream (see ended/closed)."""
        if self.ended or self.closed:
            return None
        line = self._readline()
        if not line.endswith(b"\n"):
            self.closed = True
            return None
        n = int(line.split(b";")[0].strip(), 16)
        if n == 0:
            self._readline()
            self.ended = True
            return None
        data = self._read(n)
        if len(data) < n or self._read(2) != b"\r\n":
            self.closed = True
            return None
        self.chunks.append(data)
        return data

    def events(self, n=None, until=None):
        """Read whole JSON lines (an event may span chunks) until n events, a
        predicate on the event, or the end of the stream."""
        out = []
        while n is None or len(out) < n:
            while b"\n" not in self.buf:
                c = self.read_chunk()
                if c is None:
                    return out
                self.buf += c
            line, self.buf = self.buf.split(b"\n", 1)
            ev = json.loads(line)
            out.append(ev)
            if until and until(ev):
                break
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
