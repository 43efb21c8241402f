#!/usr/bin/python3
"""IPv4 fragments to ustcp-server's echo port, from scapy (run inside the test's namespace).

  frag_tcp.py IFACE SRC DST DST_MAC echo    handshake, one 3000-byte TCP segment sent as IPv4
                                             fragments of 1024 bytes, last first; the echo must
                                             come back byte-exact; then RST
  frag_tcp.py IFACE SRC DST DST_MAC lone    the first fragment of a datagram whose others never
                                             come (the server must time it out)

The kernel would answer our SYN-ACK with a RST (it has no socket): the caller drops outgoing RSTs
with iptables. Exit 0 on success, 1 with the reason on stderr.
"""
import random
import sys
import time

from scapy.all import IP, TCP, Ether, AsyncSniffer, conf, fragment, sendp  # noqa: E402

conf.verb = 0


def fail(msg):
    print("frag_tcp: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 6:
        fail("usage: frag_tcp.py IFACE SRC DST DST_MAC echo|lone")
    iface, src, dst, mac, mode = sys.argv[1:]
    eth = Ether(dst=mac)
    sport = random.randint(20000, 60000)
    if mode == "lone":
        pkt = IP(src=src, dst=dst, id=0x4242) / TCP(sport=sport, dport=7, flags="A") / (b"x" * 3000)
        frags = fragment(pkt, fragsize=1024)
        sendp(eth / frags[0], iface=iface)
        return
    if mode != "echo":
        fail("unknown mode " + mode)

    seen = []  # AsyncSniffer.results is only filled in at stop(); prn sees packets as they come
    sniff = AsyncSniffer(iface=iface, filter="tcp and src host %s and src port 7 and dst port %d" % (dst, sport),
                         prn=seen.append, store=False)
    sniff.start()  # may not be capturing yet: a SYN-ACK it misses is answered by resending the SYN
    isn = random.randint(0, 2**31)
    synack = None
    for _ in range(20):
        sendp(eth / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="S", seq=isn, window=65535), iface=iface)
        deadline = time.time() + 0.5
        while time.time() < deadline and synack is None:
            for p in list(seen):
                if p.haslayer(TCP) and (int(p[TCP].flags) & 0x12) == 0x12:
                    synack = p
                    break
            time.sleep(0.02)
        if synack is not None:
            break
    if synack is None:
        sniff.stop()
        fail("no SYN-ACK from %s:7" % dst)
    rcv_nxt = synack[TCP].seq + 1
    snd_nxt = isn + 1
    sendp(eth / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="A", seq=snd_nxt, ack=rcv_nxt, window=65535),
          iface=iface)

    payload = bytes(random.getrandbits(8) for _ in range(3000))
    seg = IP(src=src, dst=dst, id=random.randint(1, 65535)) / TCP(
        sport=sport, dport=7, flags="PA", seq=snd_nxt, ack=rcv_nxt, window=65535) / payload
    frags = fragment(seg, fragsize=1024)
    if len(frags) < 3:
        fail("scapy made %d fragments" % len(frags))
    for f in reversed(frags):
        sendp(eth / f, iface=iface)

    # Collect the echo (in MSS-sized segments), acknowledging as it comes.
    got = {}
    deadline = time.time() + 10
    while time.time() < deadline:
        for p in list(seen):
            t = p[TCP]
            data = bytes(t.payload)
            if data:
                got[t.seq] = data
        echoed = b""
        nxt = rcv_nxt
        while nxt in got:
            echoed += got[nxt]
            nxt += len(got[nxt])
        if len(echoed) >= len(payload):
            break
        time.sleep(0.05)
    sendp(eth / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="R", seq=snd_nxt + len(payload)), iface=iface)
    sniff.stop()
    if echoed[:len(payload)] != payload:
        fail("echo of the fragmented segment: %d of %d bytes back, %s" %
             (len(echoed), len(payload), "equal so far" if payload.startswith(echoed) else "different"))
    print("frag_tcp: %d bytes sent in %d fragments (last first), echoed byte-exact" % (len(payload), len(frags)))


main()
