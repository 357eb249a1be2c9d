# SPDX-License-Identifier: BSD-3-Clause
"""python3 -m fakeapi serve --dir D [--port P] [--objects FILE.json] [--http] ...
   python3 -m fakeapi ctl --dir D METHOD [JSON-ARGS...]"""
import argparse
import json
import os
import signal
import sys
import threading

from .control import ControlClient
from .server import FakeAPI


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fakeapi")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run a fake kube-apiserver")
    s.add_argument("--dir", required=True, help="where kubeconfig, CA, certs, token and control.sock go")
    s.add_argument("--port", type=int, default=0, help="API port (0: pick one; see DIR/server.json)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--http", action="store_true", help="plain HTTP instead of TLS (debugging)")
    s.add_argument("--objects", action="append", default=[],
                   help="JSON file: an object, a list of objects or a List; may repeat")
    s.add_argument("--control-port", type=int, help="also serve the control API on this loopback port")
    s.add_argument("--token", action="append", help="a valid bearer token (default: a random one)")
    s.add_argument("--no-anonymous", action="store_true", help="401 instead of 403 without credentials")
    s.add_argument("--bookmark-interval", type=float, default=60.0)
    s.add_argument("--watch-timeout", type=float, default=1800.0,
                   help="watch length when the client gives no timeoutSeconds (x1..2 random)")
    s.add_argument("--history", type=int, default=20000, help="watch history (events) kept")
    s.add_argument("--continue-ttl", type=float, default=300.0)
    s.add_argument("--watch-410-http", action="store_true",
                   help="answer a too-old watch with HTTP 410 instead of an in-stream ERROR")
    c = sub.add_parser("ctl", help="call a control method on a running server")
    c.add_argument("--dir", help="the server's --dir")
    c.add_argument("--url", help="or its control URL http://127.0.0.1:PORT")
    c.add_argument("method")
    c.add_argument("args", nargs="*", help="JSON values (positional), or key=JSON keyword arguments")
    a = ap.parse_args(argv)

    if a.cmd == "ctl":
        cl = ControlClient(a.url or a.dir)
        args, kw = [], {}
        for x in a.args:
            k, sep, v = x.partition("=")
            if sep and k.isidentifier():
                kw[k] = _val(v)
            else:
                args.append(_val(x))
        print(json.dumps(cl.call(a.method, *args, **kw), indent=2))
        return 0

    api = FakeAPI(a.dir, port=a.port, host=a.host, tls=not a.http, tokens=a.token,
                  anonymous=not a.no_anonymous, history=a.history, continue_ttl=a.continue_ttl,
                  bookmark_interval=a.bookmark_interval, default_watch_timeout=a.watch_timeout,
                  watch_410_http=a.watch_410_http)
    for f in a.objects:
        with open(f) as fh:
            api.load(json.load(fh))
    api.start_control(unix_path=os.path.join(api.dir, "control.sock"))
    if a.control_port is not None:
        api.start_control(port=a.control_port)
    api.start()
    info = api.info()
    info["control"] = os.path.join(api.dir, "control.sock")
    print(json.dumps(info), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    api.stop()
    return 0


def _val(s):
    if s.startswith("@"):
        with open(s[1:]) as f:
            return json.load(f)
    try:
        return json.loads(s)
    except ValueError:
        return s


if __name__ == "__main__":
    sys.exit(main())
