# SPDX-License-Identifier: BSD-3-Clause
"""Start-up failures (issue 7): each one ends in one clear "lbd: ..." message
and exit status 1, and leaves nothing behind: no lbctl socket, no EAL runtime
directory, no hugepage files. A second lbd on the same config fails before
the EAL touches the devices the first one uses."""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("scapy.layers.inet", reason="scapy missing: run with /usr/bin/python3 (Debian python3-scapy)")

import pktframes as F          # noqa: E402
import pktharness as H         # noqa: E402

EXT_MAC = F.PCAP_MACS[0]


def leftovers(lbd):
    """What an lbd that has exited left on the machine."""
    left = []
    if os.path.exists(lbd.sock):
        left.append(lbd.sock)
    run = "/var/run/dpdk/%s" % lbd.prefix
    if os.path.exists(run):
        left.append("%s (%s)" % (run, sorted(os.listdir(run))))
    left += glob.glob("/dev/hugepages/%smap_*" % lbd.prefix)
    return left


def run_failing(lbd, want, timeout=90):
    """Runs lbd to its exit; checks status 1, the message, a clean exit and
    that nothing is left behind. Returns its output."""
    cmd = [str(H.LBD), "-c", str(lbd.conf_path)] + (["--"] + lbd.extra_eal if lbd.extra_eal else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1"))
    out = r.stdout + r.stderr
    lbd.stderr_path.write_text(out)
    try:
        assert r.returncode == 1, "exit status %d, want 1:\n%s" % (r.returncode, out[-3000:])
        msgs = [line for line in out.splitlines() if line.startswith("lbd: ")]
        assert msgs and want in msgs[-1], "want a last line 'lbd: ...%s...':\n%s" % (
            want, out[-3000:])
        for mark in H.SANITIZER_MARKS + ("Cannot free ring",):
            assert mark not in out, out[-3000:]
        assert leftovers(lbd) == [], out[-2000:]
    finally:
        shutil.rmtree(lbd.sockdir, ignore_errors=True)
    return out


def pcap_conf(tmp, workers=1, ext_dev=None, tx_per_port=None, **kw):
    """A config whose ports are net_pcap files in tmp."""
    H.write_pcap(tmp / "in.pcap", [])
    n_tx = workers if tx_per_port is None else tx_per_port

    def dev(i):
        return "net_pcap%d,rx_pcap=%s/in.pcap,%s" % (i, tmp, ",".join(
            "tx_pcap=%s/out%d-%d.pcap" % (tmp, i, q) for q in range(n_tx)))
    ports = [{"name": "ext", "device": ext_dev or dev(0), "role": "external",
              "address": F.EXT_ADDR + "/24"},
             {"name": "int", "device": dev(1), "role": "internal", "address": F.INT_ADDR + "/24",
              "neighbours": F.int_neighbours()}]
    conf = H.base_config(ports, workers)
    for k, v in kw.items():
        sect, key = k.split("__")
        conf[sect][key] = v
    return conf


def extra(workers):
    return ["--lcores=0@0,%s" % ",".join("%d@1" % (w + 1) for w in range(workers))]


CASES = {
    # name: (config changes, extra EAL args, message)
    "infinite_rx_pool_too_small": (
        dict(ext_dev="INFINITE", workers__mbufs=8192), [], "port ext: port 0: rx queue 0"),
    "too_few_tx_queues": (dict(workers=2, tx_per_port=1), extra(2),
                          "device offers 1 tx queue(s), lbd needs 2"),
    "mbuf_pool_does_not_fit": (dict(eal__memory_mb=16), [], "cannot create a pool of"),
    "flow_table_does_not_fit": (dict(workers__flow_capacity=60000000), [],
                                "cannot allocate a flow table"),
    "bad_eal_argument": (dict(), ["--no-such-eal-option"], "EAL initialisation failed"),
    "worker_lcore_not_in_eal": (dict(), ["--lcores=0@0"], "worker lcore 1 is not an EAL worker"),
    "hugepages_and_a_port_failure": (dict(workers=2, tx_per_port=1, eal__no_huge=False,
                                          eal__memory_mb=128), extra(2), "lbd needs 2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_startup_failure(tmp_path, case):
    changes, eal, want = CASES[case]
    changes = dict(changes)
    if changes.get("ext_dev") == "INFINITE":
        # more frames than the mbuf pool holds: the PMD fails the rx queue
        # (and used to be closed twice, freeing its ring twice)
        big = tmp_path / "big.pcap"
        H.write_pcap(big, [F.tcp("203.0.113.7", 1000, F.VIP, 80, "S", dmac=EXT_MAC)] * 40000)
        changes["ext_dev"] = "net_pcap0,rx_pcap=%s,tx_pcap=%s/o.pcap,infinite_rx=1" % (big, tmp_path)
    if "eal__no_huge" in changes and not glob.glob("/dev/hugepages"):
        pytest.skip("no hugetlbfs at /dev/hugepages")
    lbd = H.Lbd(tmp_path, pcap_conf(tmp_path, **changes), eal)
    run_failing(lbd, want)


def test_socket_path_problem_before_eal(tmp_path):
    """A socket path that cannot be made fails before the EAL starts."""
    blocker = Path(tempfile.mkdtemp(prefix="lbdpkt-")) / "file"
    blocker.write_text("not a directory")
    try:
        lbd = H.Lbd(tmp_path, pcap_conf(tmp_path))
        conf = pcap_conf(tmp_path)
        conf["eal"]["file_prefix"] = lbd.prefix
        conf["lbd"]["socket"] = str(blocker / "lbd.sock")
        lbd.write_config(H.libconfig(conf))
        out = run_failing(lbd, "is not a directory")
        assert "EAL: lbd" not in out
    finally:
        shutil.rmtree(blocker.parent, ignore_errors=True)


def test_second_instance_fails_before_the_eal(pcap_lbd, tmp_path):
    """While lbd runs, a second one on the same config, and one with another
    EAL prefix but the same socket and devices, exit 1 at once with "already
    running" and never start the EAL: the first one's devices are untouched
    (its output files intact) and it keeps answering."""
    lb = pcap_lbd()
    lb.feed(ext=[F.tcp("203.0.113.7", 1000, F.VIP, 80, "S", dmac=EXT_MAC)])
    first = lb.lbd
    twins = []
    for name, prefix in (("same", first.prefix), ("other", H.unique("lbdpkt"))):
        tw = H.Lbd(tmp_path / name, first.conf_text.replace(first.prefix, prefix))
        tw.sock, tw.prefix = first.sock, prefix      # same socket: it is in the config
        twins.append(tw)
        r = subprocess.run([str(H.LBD), "-c", str(tw.conf_path)], capture_output=True,
                           text=True, timeout=60)
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "lbd: another lbd is already running (it answers on %s)" % first.sock in out, out
        assert "EAL" not in out, out
        shutil.rmtree(tw.sockdir, ignore_errors=True)
    assert first.json("status")["pid"] == first.proc.pid
    out = lb.finish()
    assert len(lb.frames("int")) == 1 and len(lb.frames("ext", arp=True)) == 5


def test_clean_stop_leaves_nothing(pcap_lbd):
    """A normal run ends the same way: socket, runtime directory and (with
    hugepages) hugepage files gone."""
    huge = bool(glob.glob("/dev/hugepages"))

    def hook(conf):
        if huge:
            conf["eal"]["no_huge"] = False
            conf["eal"]["memory_mb"] = 128
    lb = pcap_lbd(conf_hook=hook)
    lb.feed()
    if huge:
        assert glob.glob("/dev/hugepages/%smap_*" % lb.lbd.prefix) == [], \
            "hugepage files are unlinked once mapped"
    lb.lbd.proc.send_signal(signal.SIGTERM)
    assert lb.lbd.proc.wait(30) == 0
    left = leftovers(lb.lbd)
    lb.lbd.stop()       # the usual checks (exit status, sanitizers)
    assert left == []
