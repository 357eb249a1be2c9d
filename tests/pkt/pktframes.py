# SPDX-License-Identifier: BSD-3-Clause
"""Frames for the packet tests: the addressing plan, builders (scapy), and
independent checks of what lbd sent.

Checks come in three layers, so that a bug in one cannot hide a bug in lbd:
- an RFC 1071 checksum of our own (`inet_sum`) over every header and payload
  lbd touched (`checksum_problems`), on a parser of our own (`field_map`);
- scapy recomputing each checksum field from scratch (`scapy_problems`);
- a byte-for-byte comparison with the frame we expect, built from the input
  frame by applying the rewrite lbd should do and letting scapy fill in the
  checksums (`assert_frame`). A difference is reported by field name.
"""

import struct

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import checksum as scapy_checksum

# --- addressing plan (all documentation ranges) ---

EXT_ADDR = "192.0.2.1"            # lbd's external port, /24
INT_ADDR = "198.51.100.1"         # lbd's internal port, /24
SNAT_ADDRS = ("198.51.100.2", "198.51.100.3")
SNAT_PORTS = (20000, 29999)

VIP = "192.0.2.10"                # web tcp/80 fullnat, dns udp/53 dnat, app udp/5000 fullnat
VIP_POD = "192.0.2.20"            # podweb tcp/8080 dnat
VIP_ACL = "192.0.2.40"            # guarded tcp/80, source_ranges 203.0.113.0/24
VIP_EMPTY = "192.0.2.50"          # empty tcp/80, no targets

NODES = ("198.51.100.11", "198.51.100.12", "198.51.100.13")   # NodeIP:30080 targets
PODS = ("198.51.100.21", "198.51.100.22")                       # pod targets
INT_ROUTER = "198.51.100.254"
EXT_ROUTER = "192.0.2.254"

# Client-side routers (the MACs client frames arrive from).
CLIENT_MAC = "02:00:00:00:02:fe"
CLIENT_MAC2 = "02:00:00:00:02:fd"
# Static neighbours of the internal port.
NEIGH_MACS = {
    "198.51.100.11": "02:00:00:00:64:0b",
    "198.51.100.12": "02:00:00:00:64:0c",
    "198.51.100.13": "02:00:00:00:64:0d",
    "198.51.100.21": "02:00:00:00:64:15",
    "198.51.100.22": "02:00:00:00:64:16",
    "198.51.100.254": "02:00:00:00:64:fe",
}
OTHER_MAC = "02:00:00:00:99:99"   # a station that is not lbd
BCAST = "ff:ff:ff:ff:ff:ff"

# net_pcap's MAC addresses: 02:70:63:61:70:NN ("\x02pcap" + creation index).
PCAP_MACS = ("02:70:63:61:70:00", "02:70:63:61:70:01")


def frontends(web_targets=NODES):
    """The frontends every test config starts from (see the plan above)."""
    return [
        {"name": "web", "vip": VIP, "protocol": "tcp", "port": 80,
         "targets": [{"address": a, "port": 30080} for a in web_targets]},
        {"name": "app", "vip": VIP, "protocol": "udp", "port": 5000,
         "targets": [{"address": a, "port": 30500} for a in NODES]},
        {"name": "dns", "vip": VIP, "protocol": "udp", "port": 53, "method": "dnat",
         "targets": [{"address": a, "port": 53} for a in PODS]},
        {"name": "podweb", "vip": VIP_POD, "protocol": "tcp", "port": 8080, "method": "dnat",
         "targets": [{"address": a, "port": 8080} for a in PODS]},
        {"name": "guarded", "vip": VIP_ACL, "protocol": "tcp", "port": 80,
         "source_ranges": ["203.0.113.0/24"],
         "targets": [{"address": NODES[0], "port": 30080}]},
        {"name": "empty", "vip": VIP_EMPTY, "protocol": "tcp", "port": 80, "targets": []},
    ]


def int_neighbours():
    return [{"address": a, "mac": m} for a, m in NEIGH_MACS.items()]


# --- builders ---

def tcp(src, sport, dst, dport, flags="S", seq=1000, ack=0, payload=b"", ttl=64,
        smac=CLIENT_MAC, dmac=None, vlan=None, ip_id=1, tos=0, options=None):
    """An Ethernet/IPv4/TCP frame with valid checksums, as bytes."""
    l2 = Ether(src=smac, dst=dmac)
    if vlan is not None:
        l2 = l2 / Dot1Q(vlan=vlan)
    t = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=29200)
    if options:
        t.options = options
    p = l2 / IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags="DF") / t
    if payload:
        p = p / Raw(payload)
    return bytes(p)


def udp(src, sport, dst, dport, payload=b"", ttl=64, smac=CLIENT_MAC, dmac=None, vlan=None,
        no_csum=False, ip_id=2):
    l2 = Ether(src=smac, dst=dmac)
    if vlan is not None:
        l2 = l2 / Dot1Q(vlan=vlan)
    u = UDP(sport=sport, dport=dport)
    if no_csum:
        u.chksum = 0
    return bytes(l2 / IP(src=src, dst=dst, ttl=ttl, id=ip_id) / u / Raw(payload))


def echo(src, dst, ident=0x4242, seq=1, payload=b"ping" * 14, smac=CLIENT_MAC, dmac=None,
         ttl=64, vlan=None):
    l2 = Ether(src=smac, dst=dmac)
    if vlan is not None:
        l2 = l2 / Dot1Q(vlan=vlan)
    return bytes(l2 / IP(src=src, dst=dst, ttl=ttl, id=7) /
                 ICMP(type=8, code=0, id=ident, seq=seq) / Raw(payload))


def arp_request(sha, spa, tpa, dmac=BCAST, pad=True):
    p = Ether(src=sha, dst=dmac) / ARP(op=1, hwsrc=sha, psrc=spa, hwdst="00:00:00:00:00:00",
                                       pdst=tpa)
    b = bytes(p)
    return b + b"\0" * (60 - len(b)) if pad and len(b) < 60 else b


def arp_reply(sha, spa, tha, tpa, dmac):
    b = bytes(Ether(src=sha, dst=dmac) / ARP(op=2, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa))
    return b + b"\0" * (60 - len(b))


def icmp_error(src, dst, quoted, smac, dmac, type_=3, code=4, mtu=1400, ttl=64):
    """An ICMP error from src to dst quoting `quoted` (IP datagram bytes, already
    cut to the length to quote). For frag-needed the next-hop MTU goes in the
    low 16 bits of the 'unused' word (RFC 1191)."""
    ic = ICMP(type=type_, code=code)
    if type_ == 3 and code == 4:
        ic.nexthopmtu = mtu
    return bytes(Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl, id=99) / ic /
                 Raw(quoted))


def ip_bytes(frame):
    """The IPv4 datagram (header + total_len bytes) inside an Ethernet frame."""
    off = l3_offset(frame)
    tot = struct.unpack_from("!H", frame, off + 2)[0]
    return frame[off:off + tot]


def l3_offset(frame):
    return 18 if frame[12:14] == b"\x81\x00" else 14


# --- our own parser and checksum ---

def inet_sum(data, initial=0):
    """RFC 1071 ones' complement sum of data (folded to 16 bits, not inverted)."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = initial
    for (w,) in struct.iter_unpack("!H", data):
        s += w
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def inet_csum(data, initial=0):
    return ~inet_sum(data, initial) & 0xffff


def pseudo_sum(src4, dst4, proto, length):
    return inet_sum(src4 + dst4 + struct.pack("!BBH", 0, proto, length))


def _ip4(b):
    return ".".join(str(x) for x in b)


def _l4_fields(frame, off, proto, avail, pfx, out):
    """Appends (name, offset, length) of the L4 header at off (avail bytes of it)."""
    def add(name, o, n):
        if o + n <= off + avail:
            out.append((pfx + name, o, n))
    if proto == 6:
        for name, o, n in (("tcp.sport", 0, 2), ("tcp.dport", 2, 2), ("tcp.seq", 4, 4),
                           ("tcp.ack", 8, 4), ("tcp.off", 12, 1), ("tcp.flags", 13, 1),
                           ("tcp.win", 14, 2), ("tcp.csum", 16, 2), ("tcp.urp", 18, 2)):
            add(name, off + o, n)
        if avail >= 13:
            doff = (frame[off + 12] >> 4) * 4
            if doff > 20:
                add("tcp.options", off + 20, min(doff, avail) - 20)
            return off + max(20, min(doff, avail))
        return off + avail
    if proto == 17:
        for name, o, n in (("udp.sport", 0, 2), ("udp.dport", 2, 2), ("udp.len", 4, 2),
                           ("udp.csum", 6, 2)):
            add(name, off + o, n)
        return off + min(8, avail)
    if proto == 1:
        for name, o, n in (("icmp.type", 0, 1), ("icmp.code", 1, 1), ("icmp.csum", 2, 2),
                           ("icmp.rest", 4, 4)):
            add(name, off + o, n)
        return off + min(8, avail)
    return off


def field_map(frame):
    """[(name, offset, length)] of every header field of an Ethernet/[802.1Q]/
    (ARP | IPv4/(TCP|UDP|ICMP[/IPv4/L4 quoted])) frame, then 'payload' and
    'padding'. Independent of scapy."""
    out = [("eth.dst", 0, 6), ("eth.src", 6, 6), ("eth.type", 12, 2)]
    off = 14
    etype = struct.unpack_from("!H", frame, 12)[0]
    if etype == 0x8100:
        out += [("vlan.tci", 14, 2), ("vlan.type", 16, 2)]
        etype = struct.unpack_from("!H", frame, 16)[0]
        off = 18
    if etype == 0x0806:
        for name, o, n in (("arp.hrd", 0, 2), ("arp.pro", 2, 2), ("arp.hln", 4, 1),
                           ("arp.pln", 5, 1), ("arp.op", 6, 2), ("arp.sha", 8, 6),
                           ("arp.spa", 14, 4), ("arp.tha", 18, 6), ("arp.tpa", 24, 4)):
            out.append((name, off + o, n))
        out.append(("padding", off + 28, len(frame) - off - 28))
        return out
    if etype != 0x0800:
        out.append(("payload", off, len(frame) - off))
        return out

    def ip_fields(o, pfx):
        ihl = (frame[o] & 15) * 4
        for name, x, n in (("ip.ver_ihl", 0, 1), ("ip.tos", 1, 1), ("ip.len", 2, 2),
                           ("ip.id", 4, 2), ("ip.frag", 6, 2), ("ip.ttl", 8, 1),
                           ("ip.proto", 9, 1), ("ip.csum", 10, 2), ("ip.src", 12, 4),
                           ("ip.dst", 16, 4)):
            out.append((pfx + name, o + x, n))
        if ihl > 20:
            out.append((pfx + "ip.options", o + 20, ihl - 20))
        return ihl

    ihl = ip_fields(off, "")
    tot = struct.unpack_from("!H", frame, off + 2)[0]
    proto = frame[off + 9]
    l4 = off + ihl
    end = off + tot
    nxt = _l4_fields(frame, l4, proto, end - l4, "", out)
    if proto == 1 and frame[l4] in (3, 11) and end - nxt >= 20:
        q = nxt
        qihl = ip_fields(q, "inner.")
        nxt = _l4_fields(frame, q + qihl, frame[q + 9], end - q - qihl, "inner.", out)
    if end > nxt:
        out.append(("payload", nxt, end - nxt))
    if len(frame) > end:
        out.append(("padding", end, len(frame) - end))
    return out


def checksum_problems(frame):
    """Every checksum lbd is responsible for in frame, verified with inet_sum.
    Returns a list of problems (empty when all are right)."""
    probs = []
    off = l3_offset(frame)
    etype = struct.unpack_from("!H", frame, off - 2)[0]
    if etype != 0x0800:
        return probs
    ihl = (frame[off] & 15) * 4
    tot = struct.unpack_from("!H", frame, off + 2)[0]
    if inet_sum(frame[off:off + ihl]) != 0xffff:
        probs.append("IPv4 header checksum wrong")
    proto = frame[off + 9]
    src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
    l4 = frame[off + ihl:off + tot]
    if proto in (6, 17):
        if proto == 17 and struct.unpack_from("!H", l4, 6)[0] == 0:
            return probs        # no checksum
        if inet_sum(l4, pseudo_sum(src, dst, proto, len(l4))) != 0xffff:
            probs.append("%s checksum wrong" % ("TCP" if proto == 6 else "UDP"))
    elif proto == 1:
        if inet_sum(l4) != 0xffff:
            probs.append("ICMP checksum wrong")
        if l4[0] in (3, 11) and len(l4) >= 28:
            q = l4[8:]
            qihl = (q[0] & 15) * 4
            if inet_sum(q[:qihl]) != 0xffff:
                probs.append("quoted IPv4 header checksum wrong")
            qtot = struct.unpack_from("!H", q, 2)[0]
            qproto = q[9]
            # The quoted L4 checksum can be verified only when the whole
            # datagram is quoted.
            if qproto in (6, 17) and qtot <= len(q):
                ql4 = q[qihl:qtot]
                if not (qproto == 17 and struct.unpack_from("!H", ql4, 6)[0] == 0) and \
                        inet_sum(ql4, pseudo_sum(q[12:16], q[16:20], qproto, len(ql4))) != 0xffff:
                    probs.append("quoted L4 checksum wrong")
    return probs


def scapy_problems(frame):
    """Lets scapy recompute the checksum fields of the outer IPv4 header and
    the TCP/UDP/ICMP header after it, and lists those that differ from what
    lbd wrote. (Quoted headers inside ICMP errors may be truncated: they are
    checked by checksum_problems and by comparison with the expected frame.)"""
    probs = []
    idx = 0
    lyr = Ether(frame)
    while lyr is not None and lyr.name != "NoPayload":
        if type(lyr) in (IP, TCP, UDP, ICMP) and not (type(lyr) is UDP and lyr.chksum == 0):
            q = Ether(frame)
            ql = q
            for _ in range(idx):
                ql = ql.payload
            got = ql.chksum
            del ql.chksum
            r = Ether(bytes(q))
            for _ in range(idx):
                r = r.payload
            if r.chksum != got:
                probs.append("%s checksum 0x%04x, scapy computes 0x%04x" % (
                    lyr.name, got, r.chksum))
            if type(lyr) is ICMP:
                break
        lyr = lyr.payload
        idx += 1
    return probs


def describe(frame):
    try:
        return Ether(frame).summary()
    except Exception:       # pragma: no cover - diagnostics only
        return frame.hex()


def frame_diff(got, exp):
    """Names, expected and actual values of the fields where got differs from
    exp (empty when equal)."""
    if got == exp:
        return []
    diffs = []
    if len(got) != len(exp):
        diffs.append("length %d, expected %d" % (len(got), len(exp)))
    for name, off, n in field_map(exp):
        a, b = got[off:off + n], exp[off:off + n]
        if a != b:
            if n == 4 and name.endswith(("ip.src", "ip.dst")):
                diffs.append("%s: got %s, expected %s" % (name, _ip4(a), _ip4(b)))
            elif n <= 8:
                diffs.append("%s: got %s, expected %s" % (name, a.hex(":"), b.hex(":")))
            else:
                diffs.append("%s (%d bytes) differs" % (name, n))
    return diffs or ["bytes differ"]


def assert_frame(got, exp, what="frame"):
    """got must be exp byte for byte, and every checksum in it must verify with
    our RFC 1071 code and with scapy's."""
    probs = frame_diff(got, exp) + checksum_problems(got) + scapy_problems(got)
    assert not probs, "%s: %s\n  got:      %s\n  expected: %s" % (
        what, "; ".join(probs), describe(got), describe(exp))


# --- what lbd should send, built from what it received ---

def rewrite(frame, smac=None, dmac=None, src=None, dst=None, sport=None, dport=None,
            ttl_dec=1, vlan="keep"):
    """frame after a NAT rewrite: any of MACs, addresses and ports replaced,
    TTL decremented, checksums recomputed from scratch by scapy (a UDP checksum
    of 0 stays 0). vlan: "keep", None (untag) or a VLAN id (tag)."""
    p = Ether(frame)
    if vlan != "keep":
        inner = p[IP] if IP in p else p.payload
        if Dot1Q in p:
            inner = p[Dot1Q].payload
        if vlan is None:
            p = Ether(src=p.src, dst=p.dst) / inner
        else:
            p = Ether(src=p.src, dst=p.dst) / Dot1Q(vlan=vlan) / inner
        p = Ether(bytes(p))
    if smac is not None:
        p[Ether].src = smac
    if dmac is not None:
        p[Ether].dst = dmac
    ip = p[IP]
    if src is not None:
        ip.src = src
    if dst is not None:
        ip.dst = dst
    ip.ttl -= ttl_dec
    del ip.chksum
    l4 = p[TCP] if TCP in p else p[UDP] if UDP in p else None
    if l4 is not None:
        if sport is not None:
            l4.sport = sport
        if dport is not None:
            l4.dport = dport
        if not (isinstance(l4, UDP) and l4.chksum == 0):
            del l4.chksum
    return bytes(p)


class Parsed:
    """The fields the tests look up, parsed with our own offsets."""

    def __init__(self, frame):
        self.raw = frame
        self.dst_mac = frame[0:6].hex(":")
        self.src_mac = frame[6:12].hex(":")
        off = l3_offset(frame)
        self.vlan = struct.unpack_from("!H", frame, 14)[0] & 0xfff if off == 18 else None
        self.ethertype = struct.unpack_from("!H", frame, off - 2)[0]
        self.proto = self.src = self.dst = self.sport = self.dport = None
        self.seq = self.flags = self.ttl = self.icmp_type = None
        if self.ethertype == 0x0806:
            a = frame[off:off + 28]
            self.arp_op = struct.unpack_from("!H", a, 6)[0]
            self.sha, self.spa = a[8:14].hex(":"), _ip4(a[14:18])
            self.tha, self.tpa = a[18:24].hex(":"), _ip4(a[24:28])
            return
        if self.ethertype != 0x0800:
            return
        ihl = (frame[off] & 15) * 4
        self.ttl = frame[off + 8]
        self.proto = frame[off + 9]
        self.src, self.dst = _ip4(frame[off + 12:off + 16]), _ip4(frame[off + 16:off + 20])
        l4 = off + ihl
        if self.proto in (6, 17):
            self.sport, self.dport = struct.unpack_from("!HH", frame, l4)
            if self.proto == 6:
                self.seq, self.ack = struct.unpack_from("!II", frame, l4 + 4)
                self.flags = frame[l4 + 13]
        elif self.proto == 1:
            self.icmp_type, self.icmp_code = frame[l4], frame[l4 + 1]

    def __repr__(self):
        return describe(self.raw)


def is_arp(frame):
    return struct.unpack_from("!H", frame, l3_offset(frame) - 2)[0] == 0x0806


def icmp_translated(err, smac, dmac, src, dst, quote):
    """What lbd should send for ICMP error frame err: new MACs and outer
    addresses, TTL - 1, type/code/rest-of-header (the MTU) kept, the quoted
    datagram replaced by quote; checksums by scapy."""
    e = Ether(err)
    ip = e[IP]
    icmp_raw = bytes(ip.payload)
    body = icmp_raw[:2] + b"\0\0" + icmp_raw[4:8] + quote
    body = body[:2] + scapy_checksum(body).to_bytes(2, "big") + body[4:]
    return bytes(Ether(src=smac, dst=dmac) /
                 IP(tos=ip.tos, id=ip.id, flags=ip.flags, frag=ip.frag, ttl=ip.ttl - 1,
                    proto=1, src=src, dst=dst) / Raw(body))


def is_icmp_to(dst):
    return lambda fr: not is_arp(fr) and Parsed(fr).proto == 1 and Parsed(fr).dst == dst
