# SPDX-License-Identifier: BSD-3-Clause
"""HTTP client for lbd's end-to-end tests, run inside the lbd-client namespace.

It is driven by test_e2e.py over stdin/stdout, one JSON object per line each
way, so that keep-alive connections can stay open while the test reloads or
drains lbd between two requests:

  {"cmd": "burst", "n": 1000, "concurrency": 4}
        n requests, each on a fresh connection
        -> {"ok": n_ok, "errors": n_err, "first_errors": [...], "nodes": {node: count},
            "peers": [...distinct "ip:port" answered from],
            "client_addrs": [...distinct addresses the nodes saw]}
  {"cmd": "open", "n": 12}
        opens n keep-alive connections and makes one request on each
        -> {"conns": [reply...]}  (the new ones only)
  {"cmd": "again"}
        one more request on every open connection -> {"conns": [reply...]}
  {"cmd": "close"} -> {"closed": n}
  {"cmd": "quit"}

A reply is {"id", "local", "peer", "node", "client_addr", "client_port",
"status", "error"}; node is None and error is set when the request failed.
Every socket operation has a timeout, and a burst has an overall deadline.
"""

import concurrent.futures
import http.client
import json
import sys
import time

TIMEOUT = 5.0
BURST_DEADLINE = 120.0


class Conn:
    def __init__(self, cid, host, port):
        self.cid = cid
        self.http = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        self.local = None
        self.peer = None

    def request(self, close=False):
        r = {"id": self.cid, "local": self.local, "peer": self.peer, "node": None,
             "client_addr": None, "client_port": None, "status": None, "error": None}
        try:
            headers = {"Connection": "close"} if close else {}
            self.http.request("GET", "/", headers=headers)
            sock = self.http.sock
            self.local = "%s:%d" % sock.getsockname()[:2]
            self.peer = "%s:%d" % sock.getpeername()[:2]
            resp = self.http.getresponse()
            body = resp.read().decode("ascii", "replace").strip()
            r.update(local=self.local, peer=self.peer, status=resp.status,
                 client_addr=resp.getheader("X-Client-Addr"),
                 client_port=resp.getheader("X-Client-Port"))
            if resp.status != 200:
                r["error"] = "HTTP %d" % resp.status
            elif body != resp.getheader("X-Served-By"):
                r["error"] = "body %r does not match X-Served-By" % body
            else:
                r["node"] = body
        except (OSError, http.client.HTTPException) as e:
            r["error"] = "%s: %s" % (type(e).__name__, e)
            # A failed keep-alive connection must not silently reconnect.
            self.http.close()
            self.http.auto_open = 0
        return r

    def close(self):
        self.http.close()


class Client:
    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.conns = []

    def one_fresh(self, i):
        c = Conn(i, self.host, self.port)
        try:
            return c.request(close=True)
        finally:
            c.close()

    def burst(self, n, concurrency):
        deadline = time.monotonic() + BURST_DEADLINE
        out = {"ok": 0, "errors": 0, "first_errors": [], "nodes": {}, "peers": set(),
               "client_addrs": set()}
        with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
            futs = []
            for i in range(n):
                futs.append(pool.submit(self._bounded, i, deadline))
            for f in futs:
                r = f.result()
                if r["node"] is None:
                    out["errors"] += 1
                    if len(out["first_errors"]) < 5:
                        out["first_errors"].append(r)
                    continue
                out["ok"] += 1
                out["nodes"][r["node"]] = out["nodes"].get(r["node"], 0) + 1
                out["peers"].add(r["peer"])
                out["client_addrs"].add(r["client_addr"])
        out["peers"] = sorted(out["peers"])
        out["client_addrs"] = sorted(out["client_addrs"])
        return out

    def _bounded(self, i, deadline):
        if time.monotonic() > deadline:
            return {"id": i, "node": None, "error": "burst deadline passed"}
        return self.one_fresh(i)

    def open(self, n):
        new = []
        for _ in range(n):
            c = Conn(len(self.conns), self.host, self.port)
            self.conns.append(c)
            new.append(c.request())
        return {"conns": new}

    def again(self):
        return {"conns": [c.request() for c in self.conns]}

    def close(self):
        n = len(self.conns)
        for c in self.conns:
            c.close()
        self.conns = []
        return {"closed": n}


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "192.0.2.10"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    cl = Client(host, port)
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req.get("cmd")
        if cmd == "burst":
            res = cl.burst(int(req["n"]), int(req.get("concurrency", 4)))
        elif cmd == "open":
            res = cl.open(int(req["n"]))
        elif cmd == "again":
            res = cl.again()
        elif cmd == "close":
            res = cl.close()
        elif cmd == "quit":
            break
        else:
            res = {"error": "unknown command %r" % cmd}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()
    cl.close()


if __name__ == "__main__":
    main()
