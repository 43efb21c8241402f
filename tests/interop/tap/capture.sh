#!/usr/bin/env bash
# tests/interop/tap/capture.sh SERVER USTCP_PCAP MODE: what ustcp-server's frames look like from
# outside, captured two ways and read by three readers.
#
#  MODE pcap    (ustcp-server --pcap FILE, lib/dpdk's Capture over rte_pcapng)
#   - a capture file that cannot be created stops the server with an error naming the file;
#   - an nc echo session from the namespace while tcpdump captures on the tap interface; after
#     the server stops, its file reads with tcpdump, tshark and ustcp-pcap, holds the SYN,
#     SYN-ACK, data and FIN of both directions, with pcapng direction flags (in: from Linux,
#     out: from us), and the same TCP segments as the tap capture;
#   - tshark with IPv4/TCP checksum checks on both files: no malformed packet, no bad checksum
#     (the server's TX checksums left to the NIC are filled in the capture's copy);
#   - ustcp-pcap prints both files exactly as tcpdump does (tests/interop/pcap_compare.sh).
#  MODE dumpcap (rte_pdump, initialised in start_eal)
#   - dpdk-dumpcap, a secondary process on the server's --file-prefix, captures port 0 live
#     while an echo session runs; its file holds the session. Secondary processes need the
#     primary in hugepages: 2 MB pages are reserved when there are too few (and given back at
#     exit); without them the test is skipped (77) and says why.
# Needs root and /dev/net/tun (77 = skip), tcpdump and tshark (pcap), dpdk-dumpcap (dumpcap).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 3 ] || { echo "usage: $0 SERVER USTCP_PCAP pcap|dumpcap" >&2; exit 2; }
SERVER=$1
USTCP_PCAP=$2
MODE=$3
HERE=$(cd "$(dirname "$0")" && pwd)

# EAL leaves its hugepage files behind at exit; lib.sh's dpdk_forget removes them.
forget_prefix() { if declare -F dpdk_forget >/dev/null; then dpdk_forget "$NS"; fi; }

# require_packets FILE WHAT FILTER: FILE holds a packet matching the tcpdump FILTER.
require_packets() {
    [ "$(tap_count "$1" "$3")" -gt 0 ] || tap_fail "$2: no packet matches '$3' in $(basename "$1")"
}

# session_checks FILE WHAT: the echo session to port 7 is in FILE, both directions.
session_checks() {
    local f=$1 what=$2
    require_packets "$f" "$what: client SYN" "tcp dst port 7 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
    require_packets "$f" "$what: our SYN-ACK" "tcp src port 7 and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)"
    require_packets "$f" "$what: client data" "tcp dst port 7 and (ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2)) > 0"
    require_packets "$f" "$what: echoed data" "tcp src port 7 and (ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2)) > 0"
    require_packets "$f" "$what: client FIN" "tcp dst port 7 and tcp[tcpflags] & tcp-fin != 0"
    require_packets "$f" "$what: our FIN" "tcp src port 7 and tcp[tcpflags] & tcp-fin != 0"
}

# checksum_checks FILE WHAT: tshark validates every IPv4 and TCP checksum; none bad, none malformed.
checksum_checks() {
    local f=$1 what=$2 bad good
    tshark -n -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -r "$f" \
        -T fields -e frame.number -e ip.checksum.status -e tcp.checksum.status -e _ws.malformed \
        >"$WORK/cks.txt" 2>"$WORK/cks.err" || tap_fail "$what: tshark -r failed: $(head -3 "$WORK/cks.err")"
    # Checksum status: 0 bad, 1 good, 2 unverified. Columns: frame, ip status, tcp status, malformed.
    bad=$(awk -F'\t' '$2 == "0" || $3 == "0" || $4 != "" { n++ } END { print n + 0 }' "$WORK/cks.txt")
    good=$(awk -F'\t' '$2 == "1" && $3 == "1" { n++ } END { print n + 0 }' "$WORK/cks.txt")
    [ "$bad" -eq 0 ] || tap_fail "$what: $bad frames with a bad checksum or malformed: $(awk -F'\t' '$2 == "0" || $3 == "0" || $4 != ""' "$WORK/cks.txt" | head -5)"
    [ "$good" -gt 0 ] || tap_fail "$what: tshark verified no checksum at all"
    echo "ok: $what: $good TCP frames with good IPv4 and TCP checksums, none bad or malformed"
}

# tcp_segments FILE: the session's segments as tcpdump prints them (absolute sequence numbers),
# without the options (timestamps differ between the two ends of a tap), sorted.
tcp_segments() {
    tcpdump -S -nt -r "$1" 'tcp port 7' 2>/dev/null | sed -e 's/, options \[[^]]*\]//' | sort
}

run_pcap() {
    for t in tcpdump tshark; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done
    [ -x "$USTCP_PCAP" ] || tap_fail "ustcp-pcap '$USTCP_PCAP' is not executable"

    # TSO off: with it, the capture holds the engine's super-segments (as tcpdump on a Linux
    # sender shows GSO frames) while the tap sees net_tap's software segmentation of them.
    tap_start "$SERVER" --app echo --listen 7 --port.tso off --pcap "$WORK/s.pcapng"
    grep -q "capture on: .* $WORK/s.pcapng (pcapng)" "$SERVER_LOG" || tap_fail "banner does not say the capture is on"
    echo "ok: banner: $(grep 'capture on' "$SERVER_LOG")"

    # No IPv6 from here on: the kernel's MLD reports would make the captures timing-dependent,
    # and ustcp-pcap does not print IPv6 hop-by-hop headers as tcpdump does.
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        "net.ipv6.conf.$TAP_IF.disable_ipv6=1" || tap_fail "cannot turn IPv6 off in the namespace"
    tap_tcpdump_start "$WORK/tap.pcap"
    in_ns ping -c 2 -i 0.2 -W 1 "$USTCP_IP" >/dev/null || tap_fail "ping"
    echo_check 200000
    # Wait until the tap capture has the last segment of the session (the client's ACK of our
    # FIN comes after both FINs), then stop tcpdump.
    tap_wait_packets "$WORK/tap.pcap" 1 "tcp src port 7 and tcp[tcpflags] & tcp-fin != 0" ||
        tap_fail "tcpdump on $TAP_IF did not see our FIN"
    # ... and until both captures hold as many segments of the session (the client's last ACK).
    local ours theirs same=0
    for _ in $(seq 100); do
        ours=$(tap_count "$WORK/s.pcapng" "tcp port 7")
        theirs=$(tap_count "$WORK/tap.pcap" "tcp port 7")
        [ "$ours" -eq "$theirs" ] && { same=1; break; }
        sleep 0.1
    done
    tap_tcpdump_stop
    # tcpdump says at exit how many frames the kernel dropped before it could read them (a busy
    # machine); then the tap capture is a subset of ours, not all of it.
    local kdrop
    kdrop=$(grep -o '[0-9]* packets dropped by kernel' "$WORK/tcpdump.err" | awk '{ print $1 }')
    kdrop=${kdrop:-0}
    [ "$same" -eq 1 ] || [ "$kdrop" -gt 0 ] ||
        tap_fail "after 10 s the server's capture has $ours segments, the tap capture $theirs (tcpdump dropped none)"
    tap_stop
    forget_prefix
    echo "ok: echo session captured on $TAP_IF and by the server"

    # All three readers take the server's file.
    tcpdump -nn -r "$WORK/s.pcapng" >"$WORK/s.tcpdump" 2>"$WORK/err" || tap_fail "tcpdump -r: $(head -3 "$WORK/err")"
    tshark -n -r "$WORK/s.pcapng" >"$WORK/s.tshark" 2>"$WORK/err" || tap_fail "tshark -r: $(head -3 "$WORK/err")"
    "$USTCP_PCAP" "$WORK/s.pcapng" >"$WORK/s.ustcp" 2>"$WORK/err" || tap_fail "ustcp-pcap: $(head -3 "$WORK/err")"
    local n
    n=$(wc -l <"$WORK/s.tcpdump")
    [ "$n" -gt 10 ] || tap_fail "server capture has only $n packets"
    [ "$(wc -l <"$WORK/s.tshark")" -eq "$n" ] || tap_fail "tshark reads $(wc -l <"$WORK/s.tshark") packets, tcpdump $n"
    [ "$(wc -l <"$WORK/s.ustcp")" -eq "$n" ] || tap_fail "ustcp-pcap reads $(wc -l <"$WORK/s.ustcp") packets, tcpdump $n"
    echo "ok: tcpdump, tshark and ustcp-pcap read the server's capture ($n packets)"
    grep -q "ICMP echo request" "$WORK/s.tcpdump" && grep -q "ICMP echo reply" "$WORK/s.tcpdump" ||
        tap_fail "server capture lacks the ping"
    session_checks "$WORK/s.pcapng" "server capture"
    session_checks "$WORK/tap.pcap" "tap capture"
    echo "ok: SYN, SYN-ACK, data and FIN of both directions in both captures"

    # pcapng direction flags: 1 inbound (from Linux), 2 outbound (ours).
    tshark -n -r "$WORK/s.pcapng" -T fields -e ip.src -e frame.packet_flags_direction -Y ip >"$WORK/dir.txt" 2>/dev/null ||
        tap_fail "tshark direction fields"
    local wrong
    # tshark prints the flag as 0x00000001 / 0x00000002.
    sed -i -e 's/\t0x0*/\t/' "$WORK/dir.txt"
    wrong=$(awk -F'\t' -v us="$USTCP_IP" -v them="$LINUX_IP" \
        '($1 == them && $2 != "1") || ($1 == us && $2 != "2") { n++ } END { print n + 0 }' "$WORK/dir.txt")
    [ "$wrong" -eq 0 ] || tap_fail "$wrong frames with the wrong direction flag: $(head -3 "$WORK/dir.txt")"
    awk -F'\t' '$2 == "1"' "$WORK/dir.txt" | grep -q . || tap_fail "no inbound frame"
    awk -F'\t' '$2 == "2"' "$WORK/dir.txt" | grep -q . || tap_fail "no outbound frame"
    echo "ok: direction flags (in from $LINUX_IP, out from $USTCP_IP)"

    # The same segments on the wire and in our file (the tap capture started after ARP and the
    # first ping, so compare the TCP session only).
    tcp_segments "$WORK/tap.pcap" >"$WORK/seg.tap"
    tcp_segments "$WORK/s.pcapng" >"$WORK/seg.ours"
    [ -s "$WORK/seg.tap" ] || tap_fail "no TCP segment in the tap capture"
    if [ "$kdrop" -eq 0 ] && ! cmp -s "$WORK/seg.tap" "$WORK/seg.ours"; then
        diff -u "$WORK/seg.tap" "$WORK/seg.ours" | head -20 >&2
        tap_fail "the server's capture and the tap capture hold different TCP segments"
    fi
    local missing
    missing=$(comm -23 "$WORK/seg.tap" "$WORK/seg.ours" | wc -l)
    [ "$missing" -eq 0 ] || tap_fail "$missing segments of the tap capture are not in ours: $(comm -23 "$WORK/seg.tap" "$WORK/seg.ours" | head -3)"
    echo "ok: the server's capture holds the tap capture's $(wc -l <"$WORK/seg.tap") TCP segments (tcpdump dropped $kdrop)"

    checksum_checks "$WORK/tap.pcap" "tap capture"
    checksum_checks "$WORK/s.pcapng" "server capture"

    "$HERE/../pcap_compare.sh" "$USTCP_PCAP" "$WORK/tap.pcap" >"$WORK/cmp.txt" 2>&1 ||
        { cat "$WORK/cmp.txt" >&2; tap_fail "ustcp-pcap's print of the tap capture differs from tcpdump's"; }
    echo "ok: ustcp-pcap prints the tap capture as tcpdump does"
    # Ours too, but for the IPv6 frames the kernel sent when the interface came up (see above).
    tcpdump -nt -r "$WORK/s.pcapng" 2>/dev/null | grep -v '^IP6 ' >"$WORK/s.tcpdump4"
    "$USTCP_PCAP" "$WORK/s.pcapng" | grep -v '^IP6 ' >"$WORK/s.ustcp4"
    [ -s "$WORK/s.tcpdump4" ] || tap_fail "tcpdump prints no IPv4/ARP frame of the server's capture"
    if ! cmp -s "$WORK/s.tcpdump4" "$WORK/s.ustcp4"; then
        diff -u "$WORK/s.tcpdump4" "$WORK/s.ustcp4" | head -20 >&2
        tap_fail "ustcp-pcap's print of the server's capture differs from tcpdump's"
    fi
    echo "ok: ustcp-pcap prints the server's capture as tcpdump does ($(wc -l <"$WORK/s.tcpdump4") IPv4/ARP lines)"

    # A file that cannot be created: the server says which and stops before serving.
    local bad=/nonexistent-ustcp-dir/x.pcapng rc=0
    timeout 60 ip netns exec "$NS" "$SERVER" -l 0 --no-pci --file-prefix="$NS-bad" --no-huge -m 256 \
        --vdev=net_null0 -- --ip "$USTCP_IP/24" --pcap "$bad" >"$WORK/bad.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || tap_fail "the server started with capture file $bad"
    grep -q "cannot open capture file $bad: No such file or directory" "$WORK/bad.log" ||
        tap_fail "no error naming $bad: $(tail -3 "$WORK/bad.log")"
    grep -q "SIGUSR1 prints stats" "$WORK/bad.log" && tap_fail "the server served without its capture file"
    echo "ok: a bad capture path is an error naming it (exit $rc)"
}

run_dumpcap() {
    command -v dpdk-dumpcap >/dev/null || tap_skip "dpdk-dumpcap not found (Debian package dpdk-dev)"
    command -v tcpdump >/dev/null || tap_skip "'tcpdump' not found"
    tap_reserve_hugepages 128 || tap_skip "dpdk-dumpcap needs the server in hugepages: $HUGEPAGES_WHY"
    [ "$(tap_eal_mem)" = "-m 128" ] || tap_skip "hugepages reserved but tap_eal_mem still picks --no-huge"

    tap_start "$SERVER" --app echo --listen 7
    # dpdk-dumpcap 22.11 builds its own EAL arguments (--proc-type secondary and --file-prefix);
    # it takes no --no-pci, but a secondary attaches only the devices the primary has.
    ip netns exec "$NS" dpdk-dumpcap --file-prefix="$NS" -i 0 -w "$WORK/d.pcapng" >"$WORK/dumpcap.log" 2>&1 &
    local dpid=$! ok=0
    for _ in $(seq 200); do
        grep -q "^File: " "$WORK/dumpcap.log" && { ok=1; break; }
        kill -0 "$dpid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$ok" -eq 1 ] || { kill -INT "$dpid" 2>/dev/null; tap_fail "dpdk-dumpcap did not start: $(tail -5 "$WORK/dumpcap.log")"; }
    echo "ok: dpdk-dumpcap started: $(grep -m1 "^File: " "$WORK/dumpcap.log")"
    # Live once a ping shows up in its file (its request to the server may still be in flight).
    ok=0
    for _ in $(seq 20); do
        in_ns ping -c 1 -W 1 "$USTCP_IP" >/dev/null 2>&1
        [ "$(tap_count "$WORK/d.pcapng" icmp)" -gt 0 ] && { ok=1; break; }
    done
    [ "$ok" -eq 1 ] || { kill -INT "$dpid"; tap_fail "dpdk-dumpcap captures nothing: $(tail -3 "$WORK/dumpcap.log")"; }
    echo_check 100000
    tap_wait_packets "$WORK/d.pcapng" 1 "tcp src port 7 and tcp[tcpflags] & tcp-fin != 0" ||
        { kill -INT "$dpid"; tap_fail "dpdk-dumpcap's file has no FIN of ours: $(tail -3 "$WORK/dumpcap.log")"; }
    kill -INT "$dpid"
    local rc=0
    wait "$dpid" || rc=$?
    [ "$rc" -eq 0 ] || tap_fail "dpdk-dumpcap exited with $rc: $(tail -5 "$WORK/dumpcap.log")"
    tap_stop
    forget_prefix
    tcpdump -nn -r "$WORK/d.pcapng" >"$WORK/d.txt" 2>"$WORK/err" || tap_fail "tcpdump -r dumpcap's file: $(head -3 "$WORK/err")"
    session_checks "$WORK/d.pcapng" "dpdk-dumpcap capture"
    echo "ok: dpdk-dumpcap captured the session live ($(wc -l <"$WORK/d.txt") packets)"
}

case "$MODE" in
    pcap) run_pcap ;;
    dumpcap) run_dumpcap ;;
    *) echo "$0: unknown mode '$MODE' (pcap or dumpcap)" >&2; exit 2 ;;
esac
