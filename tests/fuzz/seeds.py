#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
a few well-formed inputs each, so that the fuzzers start past the parsers'
first checks. Run from anywhere with Debian's python3 (scapy); the output is
committed, and running it again rewrites the same files.

fuzz_dp records: flags byte (bit 0 port, bit 1 worker, bit 2 fix the IPv4
checksum, bit 3 housekeeping, bits 4-7 clock advance), length (2 bytes, little
endian), frame. Addresses follow tests/fuzz/fuzz_dp.c's config."""

import struct
import sys
from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

HERE = Path(__file__).resolve().parent
EXT, INT = "02:00:00:00:00:01", "02:00:00:00:00:02"
CLIENT, NODE1, POD = "02:00:00:00:cc:01", "02:00:00:00:01:11", "02:00:00:00:01:21"


def ext(layers, src="203.0.113.7", dst="192.0.2.10"):
    return bytes(Ether(src=CLIENT, dst=EXT) / IP(src=src, dst=dst) / layers)


def intp(layers, src, dst, smac=NODE1):
    return bytes(Ether(src=smac, dst=INT) / Dot1Q(vlan=100) / IP(src=src, dst=dst) / layers)


def rec(frame, port=0, worker=0, fix=False, hk=False, adv=0):
    flags = port | worker << 1 | (4 if fix else 0) | (8 if hk else 0) | adv << 4
    return struct.pack("<BH", flags, len(frame)) + frame


def dp_seeds():
    syn = ext(TCP(sport=40000, dport=80, flags="S"))
    quote = bytes(IP(src="198.51.100.2", dst="198.51.100.11") / TCP(sport=1030, dport=30080))[:28]
    return {
        "fullnat_tcp": rec(syn) + rec(ext(TCP(sport=40000, dport=80, flags="A") / Raw(b"GET /"))) +
        rec(intp(TCP(sport=30080, dport=1030, flags="SA"), "198.51.100.11", "198.51.100.2"),
            port=1) + rec(ext(TCP(sport=40000, dport=80, flags="FA")), hk=True, adv=3),
        "dnat_tcp": rec(ext(TCP(sport=5555, dport=80, flags="S"), dst="192.0.2.20"), worker=1) +
        rec(intp(TCP(sport=8080, dport=5555, flags="SA"), "198.51.100.21", "203.0.113.7",
                 smac=POD), port=1) +
        rec(ext(TCP(sport=5556, dport=80, flags="A"), dst="192.0.2.20")),
        "udp": rec(ext(UDP(sport=5353, dport=53) / Raw(b"query"))) +
        rec(ext(UDP(sport=53, dport=53) / Raw(b"q"), dst="192.0.2.20"), adv=15, hk=True),
        "affinity_acl": rec(ext(TCP(sport=1, dport=443, flags="S"), dst="192.0.2.30")) +
        rec(ext(TCP(sport=2, dport=443, flags="S"), dst="192.0.2.30")) +
        rec(ext(TCP(sport=3, dport=80, flags="S"), dst="192.0.2.40", src="203.0.113.200")),
        "local": rec(bytes(Ether(src=CLIENT, dst="ff:ff:ff:ff:ff:ff") /
                           ARP(op=1, hwsrc=CLIENT, psrc="192.0.2.2", pdst="192.0.2.10"))) +
        rec(ext(ICMP(type=8, id=7) / Raw(b"ping"))) +
        rec(bytes(Ether(src=NODE1, dst=INT) / Dot1Q(vlan=100) /
                  ARP(op=2, hwsrc=NODE1, psrc="198.51.100.99", pdst="198.51.100.1")), port=1),
        "icmp_error": rec(syn) +
        rec(intp(ICMP(type=3, code=4, nexthopmtu=1400) / Raw(quote), "198.51.100.11",
                 "198.51.100.2"), port=1),
        "unresolved_and_far": rec(ext(TCP(sport=9, dport=80, flags="S"), dst="192.0.2.70")) +
        rec(ext(TCP(sport=9, dport=80, flags="S"), dst="192.0.2.60")),
        "fix_checksum": rec(b"\x02\0\0\0\0\x01" + bytes(6) + b"\x08\x00" + b"\x45" + bytes(19) +
                            bytes(20), fix=True),
    }


def ctl_seeds():
    return {
        "one": b'{"cmd":"status"}\n',
        "pipelined": b'{"cmd":"a"}\n{"cmd":"b","x":[1,2,{"y":null}]}\r\n\n{"cmd":"fail"}\n',
        "deferred": b'{"cmd":"later"}\n{"cmd":"after"}\n{"cmd":"later"}',
        "bad": b'{"cmd":1}\n[]\n{"x":"y"}\nnull\n{"cmd":"\\u0000"}\n{\n',
        "big": b'{"cmd":"big","n":3000}\n{"cmd":"status"}\n',
        # larger than the socket's buffer: partial writes
        "blob": b'{"cmd":"blob","n":30000,"s":"a\\n\\u0000\\u00e9\\""}\n{"cmd":"status"}\n',
    }


def pkt_seeds():
    out = {}
    for name, data in dp_seeds().items():
        off = 0
        k = 0
        while off + 3 <= len(data):
            n = struct.unpack_from("<H", data, off + 1)[0]
            out["%s_%d" % (name, k)] = data[off + 3:off + 3 + n]
            off += 3 + n
            k += 1
    return out


def main():
    for target, seeds in (("fuzz_dp", dp_seeds()), ("fuzz_ctl", ctl_seeds()),
                          ("fuzz_pkt", pkt_seeds())):
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (d / name).write_bytes(data)
        print("%s: %d seeds" % (d, len(seeds)), file=sys.stderr)


if __name__ == "__main__":
    main()
