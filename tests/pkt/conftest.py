# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures of the packet tests (see README.md).

- pcap_lbd: factory of PcapLbd (lbd on net_pcap files), torn down after the test.
- live:     a network namespace with two veth pairs and AF_PACKET sockets on the
            harness side; live.start(...) runs lbd there on net_af_packet.
Both check lbd's output for sanitizer reports when the test ends, even when
the test itself did not stop lbd (it failed first).
"""

import os

import pytest

try:
    import scapy.layers.inet  # noqa: F401  (Debian: python3-scapy)
    NO_SCAPY = None
except ImportError as e:        # pragma: no cover - depends on the machine
    NO_SCAPY = "scapy is missing (%s): run the suite with /usr/bin/python3 and " \
               "apt-get install python3-scapy" % e

if NO_SCAPY is None:
    import pktharness as H


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    why = None
    if os.geteuid() != 0:
        why = "packet tests need root (DPDK vdevs, network namespaces, AF_PACKET)"
    elif NO_SCAPY:
        why = NO_SCAPY
    if why is None:
        return
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="session", autouse=True)
def _binaries():
    for path in (H.LBD, H.LBCTL):
        if not os.access(path, os.X_OK):
            pytest.fail("%s is missing: build it first (make build-asan), or point LBD_BUILD "
                        "at a build directory" % path, pytrace=False)
    yield
    left = H.ns_leftovers()
    for ns in left:
        H.run(["ip", "netns", "del", ns], check=False)
    assert not left, "network namespaces left behind (removed now): %s" % left


def _sanitizer_check(instances):
    reports = [(l.stderr_path, l.sanitizer_report()) for l in instances]
    reports = [(p, r) for p, r in reports if r]
    if reports:
        pytest.fail("sanitizer report in lbd's output:\n" + "\n".join(
            "%s:\n%s" % (p, r) for p, r in reports), pytrace=False)


@pytest.fixture
def pcap_lbd(tmp_path):
    """make(**kw) -> PcapLbd in its own directory under the test's tmp_path.
    kw: workers, fes, extra_eal, ext_opts, int_opts, conf_hook, ext_queues."""
    made = []

    def make(**kw):
        p = H.PcapLbd(tmp_path / ("run%d" % len(made)), **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.lbd.kill()
    _sanitizer_check([p.lbd for p in made])


class Live:
    """A LiveNet plus the lbd running in it."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.net = H.LiveNet()
        self.ext, self.int = self.net.ext, self.net.int
        self.lbds = []
        self.lbd = None

    def config(self, fes=None, workers=1, int_neighbours=None):
        return H.base_config(self.net.ports(int_neighbours), workers, fes)

    def start(self, conf=None, workers=1, **kw):
        if conf is None:
            conf = self.config(workers=workers, **kw)
        extra = []
        if workers > 1:
            extra = ["--lcores=0@0,%s" % ",".join("%d@1" % (w + 1) for w in range(workers))]
        lbd = H.Lbd(self.tmp / ("lbd%d" % len(self.lbds)), conf, extra, netns=self.net.ns)
        self.lbds.append(lbd)
        lbd.start()
        macs = [p["mac"] for p in lbd.status["ports"]]
        assert macs == list(H.LIVE_LBD_MACS), "af_packet ports report MACs %s, veths have %s" % (
            macs, list(H.LIVE_LBD_MACS))
        self.lbd = lbd
        return lbd

    def teardown(self):
        try:
            for lbd in self.lbds:
                lbd.kill()
        finally:
            self.net.destroy()


@pytest.fixture
def live(tmp_path):
    why = H.netns_problem()
    if why:
        pytest.skip("live tests: " + why)
    lv = Live(tmp_path)
    try:
        yield lv
    finally:
        lv.teardown()
    _sanitizer_check(lv.lbds)
