# SPDX-License-Identifier: BSD-3-Clause
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pkt"))

import pytest  # noqa: E402


def _needs_lbd(item):
    return os.path.basename(str(item.fspath)).startswith("test_lbd_")


def pytest_collection_modifyitems(config, items):
    """The lbd tests run lbd on DPDK vdevs: root and scapy (the packet
    harness). The fake server's own tests need neither."""
    why = None
    if os.geteuid() != 0:
        why = "lbd against the fake API needs root (DPDK vdevs)"
    else:
        try:
            import scapy.layers.inet  # noqa: F401
        except ImportError as e:
            why = "scapy is missing (%s): run with /usr/bin/python3" % e
    if why is None:
        return
    for item in items:
        if _needs_lbd(item):
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def pcap_lbd(tmp_path):
    import pktharness as H
    made = []

    def make(**kw):
        p = H.PcapLbd(tmp_path / ("run%d" % len(made)), **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.lbd.kill()
    reports = [(p.lbd.stderr_path, p.lbd.sanitizer_report()) for p in made]
    reports = [(x, r) for x, r in reports if r]
    if reports:
        pytest.fail("sanitizer report in lbd's output:\n" + "\n".join(
            "%s:\n%s" % (x, r) for x, r in reports), pytrace=False)
