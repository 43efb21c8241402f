#!/usr/bin/python3
"""sack_check.py PCAP USTCP_IP LINUX_IP [MARGIN_MS]: reads a capture of one TCP transfer in both
directions between ustcp (port 7) and Linux, taken on the tap interface while ustcp's port
lost frames both ways (--fault), and checks that SACK worked in both roles:

 ustcp sending (Linux's SACK blocks used):
  - Linux sent SACK blocks for ustcp's data, and ustcp filled holes below them;
  - no data segment of ustcp carries bytes that Linux had already acknowledged, cumulatively
    or by SACK, in at least CONFIRM of its ACKs captured at least MARGIN_MS before the
    segment. ustcp's own RX loses frames too, so one ACK may never have reached it; three
    that all did not is a chance of ~1e-5 per segment at 2% loss; the margin covers the
    tap's queues between this capture point and ustcp. After ustcp's timers fire (silent for
    150 ms, then resending: a retransmission timeout, which clears the scoreboard as RFC 2018
    §8 allows, or a tail-loss probe) what it resends up to what it had sent is not checked;
    the count of those is printed.
 ustcp receiving (its SACK blocks right):
  - ustcp sent SACK blocks; each covers bytes Linux had sent (captured before the block);
    a D-SACK block (below the cumulative ACK, or inside the second block: RFC 2883) comes
    first and covers bytes Linux sent at least twice.
Prints a summary line; exits 1 with the first violations listed."""
import sys
from bisect import bisect_right

from scapy.all import IP, TCP, rdpcap

CONFIRM = 3
RTO_GAP = 0.15  # below the 200 ms minimum RTO, well above this path's RTT


class Intervals:
    """Disjoint half-open intervals, sorted, merged on insert."""

    def __init__(self):
        self.starts, self.ends = [], []

    def add(self, a, b):
        i = bisect_right(self.ends, a - 1)  # the first interval ending at or after a
        j = i
        while j < len(self.starts) and self.starts[j] <= b:
            a, b = min(a, self.starts[j]), max(b, self.ends[j])
            j += 1
        self.starts[i:j], self.ends[i:j] = [a], [b]

    def overlaps(self, a, b):
        """The pieces of [a, b) inside the set."""
        out = []
        i = bisect_right(self.ends, a)
        while i < len(self.starts) and self.starts[i] < b:
            out.append((max(a, self.starts[i]), min(b, self.ends[i])))
            i += 1
        return out

    def covers(self, a, b):
        i = bisect_right(self.ends, a)
        return i < len(self.starts) and self.starts[i] <= a and b <= self.ends[i]


def sack_blocks(tcp):
    for kind, val in tcp.options:
        if kind == "SAck" and val:
            return [(val[i], val[i + 1]) for i in range(0, len(val) - 1, 2)]
    return []


def main():
    pcap, us, linux = sys.argv[1], sys.argv[2], sys.argv[3]
    margin = float(sys.argv[4]) / 1e3 if len(sys.argv) > 4 else 0.02
    isn = {}  # side -> ISN
    pkts = []  # (time, side, rel_seq, length, rel_ack, [rel sack blocks])
    raw = []
    for p in rdpcap(pcap):
        if IP not in p or TCP not in p:
            continue
        ip, tcp = p[IP], p[TCP]
        if ip.src == us and tcp.sport == 7:
            side = "us"
        elif ip.src == linux and tcp.dport == 7:
            side = "linux"
        else:
            continue
        if tcp.flags & 0x02:  # SYN
            isn[side] = tcp.seq
        raw.append((float(p.time), side, tcp, len(tcp.payload)))
    if set(isn) != {"us", "linux"}:
        sys.exit("sack_check: no handshake in the capture")
    other = {"us": "linux", "linux": "us"}
    rel = lambda v, side: (v - isn[side]) % (1 << 32)
    for t, side, tcp, n in raw:
        peer = other[side]
        blocks = [(rel(l, peer), rel(r, peer)) for l, r in sack_blocks(tcp)]
        ack = rel(tcp.ack, peer) if tcp.flags & 0x10 else None
        pkts.append((t, side, rel(tcp.seq, side), n, ack, blocks))

    errors = []
    # --- ustcp as the sender ---
    acks = [(t, ack, blocks) for t, side, _, _, ack, blocks in pkts if side == "linux" and ack is not None]
    ack_times = [a[0] for a in acks]
    linux_blocks = sum(len(b) for _, _, b in acks)
    hole_fills = 0
    us_segments = 0
    after_rto = 0  # segments not checked: the go-back-N after a retransmission timeout
    last_data, high, rto_limit = None, 0, None
    for t, side, seq, n, _, _ in pkts:
        if side != "us" or n == 0:
            continue
        us_segments += 1
        s, e = seq, seq + n
        # A retransmission timeout (ustcp silent for RTO_GAP, then resending): the scoreboard
        # is cleared (RFC 2018 §8, the receiver may have reneged), and what was sent before
        # goes again; those resends are not SACK recovery's.
        if last_data is not None and t - last_data >= RTO_GAP and s < high:
            rto_limit = high
        last_data = t
        high = max(high, e)
        if rto_limit is not None:
            if e <= rto_limit:
                after_rto += 1
                continue
            rto_limit = None
        # ACKs captured before the segment was, and those at least the margin before it.
        before = bisect_right(ack_times, t)
        confirmed_before = bisect_right(ack_times, t - margin)
        if any(l >= e for _, _, b in acks[max(0, before - 4):before] for l, _ in b):
            hole_fills += 1
        covered = 0
        for i in range(confirmed_before - 1, max(-1, confirmed_before - 400), -1):
            _, ack, blocks = acks[i]
            if ack >= e or any(l < e and s < r for l, r in blocks):
                covered += 1
                if covered >= CONFIRM:
                    errors.append("ustcp sent %d:%d at %.6f, acknowledged by Linux in %d ACKs before %.6f"
                                  % (s, e, t, CONFIRM, acks[i][0]))
                    break
    # --- ustcp as the receiver ---
    once, twice = Intervals(), Intervals()  # bytes Linux sent at least once, at least twice
    us_blocks = 0
    dsacks = 0
    for t, side, seq, n, ack, blocks in pkts:
        if side == "linux" and n > 0:
            for a, b in once.overlaps(seq, seq + n):
                twice.add(a, b)
            once.add(seq, seq + n)
        if side != "us" or not blocks:
            continue
        for k, (l, r) in enumerate(blocks):
            us_blocks += 1
            dsack = k == 0 and (l < ack or (len(blocks) > 1 and blocks[1][0] <= l and r <= blocks[1][1]))
            if dsack:
                dsacks += 1
                if not twice.covers(l, r):
                    errors.append("ustcp's D-SACK %d:%d at %.6f: Linux did not send those bytes twice" % (l, r, t))
            elif l < ack:
                errors.append("ustcp's SACK block %d:%d (not the first) below its ACK %d at %.6f" % (l, r, ack, t))
            elif not once.covers(l, r):
                errors.append("ustcp's SACK block %d:%d at %.6f covers bytes Linux never sent" % (l, r, t))
    print("sack_check: ustcp sent %d data segments (%d filled holes below Linux's %d SACK blocks, %d resent "
          "after a timeout and not checked); ustcp sent %d SACK blocks (%d D-SACK); %d violations"
          % (us_segments, hole_fills, linux_blocks, after_rto, us_blocks, dsacks, len(errors)))
    if linux_blocks == 0 or hole_fills == 0:
        errors.append("Linux sent no SACK blocks, or ustcp filled no hole below one: SACK was not exercised")
    if us_blocks == 0:
        errors.append("ustcp sent no SACK blocks: its receiver side was not exercised")
    if errors:
        print("\n".join(errors[:20]), file=sys.stderr)
        sys.exit(1)


main()
