# SPDX-License-Identifier: BSD-3-Clause
"""The "nodes" of the health-check tests, run in their namespace by
test_health.py: per node address an application server on :8080 (answers
"nodeN", HTTP/1.1 keep-alive) and a kube-proxy-like healthz on :10256
(GET /healthz: 200 {"localEndpoints": 1} or 503 {"localEndpoints": 0}).
Optionally a bulk server answering GET on many ports of every address
(asyncio, cheap), for the many-targets measurement.

Each node's behaviour is the content of DIR/<address> (re-read every 20 ms):
  ok    healthz 200
  503   healthz 503
  hang  healthz accepts and reads the request, never answers
  dead  both listeners closed (connections refused), as if the server died

usage: hcserver.py DIR ADDR[,ADDR...] [--bulk PORT,PORT...]
Prints "ready" on stdout once every listener is up. When a node dies or
comes back, DIR/<address>.applied gets the time.time() it happened.
"""

import asyncio
import http.server
import json
import os
import socketserver
import sys
import threading
import time

APP_PORT = 8080
HEALTHZ_PORT = 10256


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def mode_of(state_dir, addr):
    try:
        with open(os.path.join(state_dir, addr)) as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


def make_app(name):
    class App(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = ("%s\n" % name).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Served-By", name)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    return App


def make_healthz(state_dir, addr):
    class Healthz(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            mode = mode_of(state_dir, addr)
            while mode == "hang":
                time.sleep(0.05)
                mode = mode_of(state_dir, addr)
                if mode != "hang":
                    return      # the prober gave up long ago
            ok = mode == "ok" and self.path == "/healthz"
            body = json.dumps({"service": {"namespace": "default", "name": "web"},
                               "localEndpoints": 1 if ok else 0}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    return Healthz


class Node:
    def __init__(self, state_dir, addr, name):
        self.state_dir, self.addr, self.name = state_dir, addr, name
        self.servers = []

    def start(self):
        for port, handler in ((APP_PORT, make_app(self.name)),
                              (HEALTHZ_PORT, make_healthz(self.state_dir, self.addr))):
            s = Server((self.addr, port), handler)
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            self.servers.append(s)

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []


async def bulk_client(reader, writer):
    """GET answered 200; a bare TCP connect (reset by the prober) is fine too."""
    try:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 8192:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"GET "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def run_bulk(ports, started):
    async def main():
        for p in ports:
            await asyncio.start_server(bulk_client, "0.0.0.0", p, backlog=4096,
                                       reuse_address=True)
        started.set()
        await asyncio.Event().wait()
    asyncio.run(main())


def main():
    state_dir, addrs = sys.argv[1], sys.argv[2].split(",")
    bulk = []
    if len(sys.argv) > 4 and sys.argv[3] == "--bulk":
        bulk = [int(p) for p in sys.argv[4].split(",")]
    nodes = [Node(state_dir, a, "node%d" % (i + 1)) for i, a in enumerate(addrs)]
    for n in nodes:
        n.start()
    if bulk:
        started = threading.Event()
        threading.Thread(target=run_bulk, args=(bulk, started), daemon=True).start()
        started.wait(10)
    print("ready", flush=True)
    dead = set()
    while True:
        time.sleep(0.02)
        for n in nodes:
            m = mode_of(state_dir, n.addr)
            if m == "dead" and n.addr not in dead:
                n.stop()
                dead.add(n.addr)
            elif m != "dead" and n.addr in dead:
                n.start()
                dead.discard(n.addr)
            else:
                continue
            with open(os.path.join(state_dir, n.addr + ".applied.tmp"), "w") as f:
                f.write("%.6f" % time.time())
            os.replace(os.path.join(state_dir, n.addr + ".applied.tmp"),
                       os.path.join(state_dir, n.addr + ".applied"))


if __name__ == "__main__":
    main()
