#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark (reports, does not pass or fail): the longest lib/ev loop pass
while lib/kapi lists and decodes a cluster of N Services with one
EndpointSlice of E endpoints each, plus nodes, from the fake API server.

    flock /tmp/lbd-heavy.lock tests/kapi/bench_kapi_list.py [--build build] [--services 1000]
        [--endpoints 20] [--nodes 50] [--runs 3] [--budget-us 5000] [--list-limit 500]

Each run starts a fresh kapi_probe (--quiet: objects are counted and freed,
as a consumer that hands them on would) against one server, waits for all
three resources to be synced and prints lb_ev_stats: passes, the longest
pass, passes over 20 ms. Needs tests/k8s/fakeapi (or LB_FAKEAPI_DIR)."""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapiprobe  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(kapiprobe.ROOT, "build"))
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--endpoints", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget-us", type=int, default=0)
    ap.add_argument("--list-limit", type=int, default=0)
    ap.add_argument("--hold", action="store_true",
                    help="the probe keeps every object (a model), instead of freeing each at once")
    ap.add_argument("--pin", action="store_true",
                    help="server on the last CPU, probe on the others (less preemption noise)")
    a = ap.parse_args()
    os.environ["LBD_BUILD"] = os.path.abspath(a.build)
    d = kapiprobe.find_fakeapi()
    if d is None:
        sys.exit("bench_kapi_list: no fake API server (tests/k8s/fakeapi or LB_FAKEAPI_DIR)")
    sys.path.insert(0, d)
    from fakeapi import FakeAPI, objects as O

    cpus = sorted(os.sched_getaffinity(0))
    probe_cpus = None
    if a.pin and len(cpus) > 1:
        os.sched_setaffinity(0, {cpus[-1]})
        probe_cpus = set(cpus[:-1])
    tmp = tempfile.mkdtemp(prefix="bench_kapi.")
    srv = FakeAPI(os.path.join(tmp, "api"), log_bodies=False)
    srv.start()
    t0 = time.time()
    for i in range(a.services):
        svc = srv.create(O.service("svc%04d" % i, "ns%d" % (i % 10),
                                   ports=[(80, 8080, "http")]))
        srv.create(O.endpoint_slice(svc, [{"ip": "10.%d.%d.%d" % (i // 200, i % 200, j + 1),
                                           "node": "node%02d" % (j % max(a.nodes, 1)),
                                           "pod": "svc%04d-%d" % (i, j)}
                                          for j in range(a.endpoints)]))
    for i in range(a.nodes):
        srv.create(O.node("node%02d" % i, "192.168.%d.%d" % (i // 200, i % 200 + 10)))
    print("cluster: %d Services, %d EndpointSlices x %d endpoints, %d nodes (made in %.1f s)"
          % (a.services, a.services, a.endpoints, a.nodes, time.time() - t0))
    args = ["--kubeconfig", srv.path("kubeconfig"), "--quiet"]
    if a.budget_us:
        args += ["--budget-us", str(a.budget_us)]
    if a.list_limit:
        args += ["--list-limit", str(a.list_limit)]
    if a.hold:
        args += ["--hold"]
    print("probe: %s %s%s%s" % (kapiprobe.probe_path(), " ".join(args[2:]),
                                 " GLIBC_TUNABLES=" + os.environ["GLIBC_TUNABLES"]
                                 if os.environ.get("GLIBC_TUNABLES") else "",
                                 ", pinned: probe on CPUs %s, server on %d" % (
                                     sorted(probe_cpus), cpus[-1]) if probe_cpus else ""))
    for run in range(a.runs):
        p = kapiprobe.Probe(*args, cpus=probe_cpus)
        t1 = time.time()
        p.wait(30, ev="ready")
        s = p.wait(120, ev="synced")
        took = time.time() - t1
        st = p.status()["kapi"]
        ends = {e["res"]: e["count"] for e in p.seen(ev="relist_end")}
        lp = s["loop"]
        print("run %d: synced in %.2f s, %s; loop: %d passes, busy %.1f ms, longest pass %.2f ms "
              "(CPU %.2f ms), %d over 20 ms; %d parse deferrals, %d pauses"
              % (run + 1, took, ", ".join("%s %d" % kv for kv in sorted(ends.items())),
                 lp["passes"], lp["busy_us"] / 1000.0, lp["max_pass_us"] / 1000.0,
                 lp["max_pass_cpu_us"] / 1000.0, lp["slow_passes"], st["budget_deferrals"],
                 st["paused"]))
        p.close()
    srv.stop()


if __name__ == "__main__":
    main()
