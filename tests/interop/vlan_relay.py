#!/usr/bin/env python3
"""Userspace 802.1Q access-port relay used by make_captures.sh.

Fallback for kernels without 8021q (no 'ip link add ... type vlan'): bridges an
untagged "access" interface to a "trunk" interface, pushing VLAN tag VID on
frames going to the trunk and popping it (only for VID) on frames coming back.
Only the Python standard library is used.

usage: vlan_relay.py TRUNK_IF ACCESS_IF VID READY_FILE
READY_FILE is created once both packet sockets are bound.
"""
import os
import select
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
# struct tpacket_auxdata: u32 status, len, snaplen; u16 mac, net, vlan_tci, vlan_tpid
AUX_FMT = "=IIIHHHH"


def open_sock(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return s


def main():
    trunk_if, access_if, vid, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    trunk, access = open_sock(trunk_if), open_sock(access_if)
    tag = struct.pack("!HH", ETH_P_8021Q, vid & 0x0FFF)
    with open(ready, "w") as f:
        f.write("ready\n")
    aux_space = socket.CMSG_SPACE(struct.calcsize(AUX_FMT))
    while True:
        readable, _, _ = select.select([trunk, access], [], [])
        for s in readable:
            data, anc, _, addr = s.recvmsg(65536, aux_space)
            if addr[2] == PACKET_OUTGOING or len(data) < 14:
                continue  # our own transmissions / runts
            if s is access:
                # access -> trunk: insert the tag after the MAC addresses
                trunk.send(data[:12] + tag + data[12:])
                continue
            # trunk -> access: the kernel usually moves the tag into auxdata
            tci = None
            for level, typ, val in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA:
                    st, _, _, _, _, vtci, _ = struct.unpack(AUX_FMT, val[:struct.calcsize(AUX_FMT)])
                    if st & TP_STATUS_VLAN_VALID:
                        tci = vtci
            if tci is None and struct.unpack("!H", data[12:14])[0] == ETH_P_8021Q:
                tci = struct.unpack("!H", data[14:16])[0]
                data = data[:12] + data[16:]
            if tci is not None and (tci & 0x0FFF) == vid:
                access.send(data)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    sys.exit(os.EX_OK)
