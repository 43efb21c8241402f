#!/usr/bin/python3
"""Write the seed test vectors as capture files tcpdump and ustcp-pcap can read.

    seed_to_pcap.py [--format pcap|pcapng] [--cut-at-packet N] VECTORS_FILE OUT

VECTORS_FILE is tests/vectors/seed001-echo-session.txt: `pkt N`, the tcpdump -S line,
`tcp_checksum ...`, then the raw IPv4 datagram as hex. OUT gets one record per packet
with link type LINKTYPE_RAW (101), one second apart, caplen = len = datagram size.

--cut-at-packet N writes the file only up to the middle of packet N's data, to test
readers on a capture that ends inside a record (a truncated file).

Uses only the standard library (struct), so it runs wherever python3 does.
"""
import argparse
import struct
import sys

LINKTYPE_RAW = 101
SNAPLEN = 262144


def load_vectors(path):
    """[(number, tcpdump_line, bytes)] in file order."""
    packets = []
    pending = None
    with open(path, encoding="ascii") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("pkt "):
                pending = [int(line[4:]), None, None]
                continue
            if pending is None:
                sys.exit(f"{path}:{lineno}: text outside a packet")
            if pending[1] is None:
                pending[1] = line
            elif line.startswith("tcp_checksum "):
                continue
            else:
                packets.append((pending[0], pending[1], bytes.fromhex(line)))
                pending = None
    if pending is not None:
        sys.exit(f"{path}: file ends inside a packet")
    return packets


def pcap_file(packets):
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW))
    offsets = []  # where each packet's data starts
    for i, (_, _, data) in enumerate(packets):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(data), len(data))
        offsets.append(len(out))
        out += data
    return bytes(out), offsets


def pcapng_block(block_type, body):
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def pcapng_file(packets):
    # Section header (byte-order magic, version 1.0, unknown section length), one
    # interface description (LINKTYPE_RAW), one enhanced packet block per packet.
    out = bytearray(pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out += pcapng_block(0x00000001, struct.pack("<HHI", LINKTYPE_RAW, 0, SNAPLEN))
    offsets = []
    for i, (_, _, data) in enumerate(packets):
        ts = (1700000000 + i) * 1000000  # default resolution: microseconds
        header = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        offsets.append(len(out) + 8 + len(header))
        out += pcapng_block(0x00000006, header + data)
    return bytes(out), offsets


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--cut-at-packet", type=int, metavar="N",
                    help="end the file in the middle of packet N's data (1-based)")
    ap.add_argument("vectors")
    ap.add_argument("out")
    args = ap.parse_args()

    packets = load_vectors(args.vectors)
    data, offsets = (pcap_file if args.format == "pcap" else pcapng_file)(packets)
    if args.cut_at_packet is not None:
        n = args.cut_at_packet
        if not 1 <= n <= len(packets):
            sys.exit(f"--cut-at-packet {n}: the file has packets 1..{len(packets)}")
        data = data[:offsets[n - 1] + len(packets[n - 1][2]) // 2]
    with open(args.out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
