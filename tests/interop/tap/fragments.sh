#!/usr/bin/env bash
# tests/interop/tap/fragments.sh SERVER: IPv4 fragments through DpdkPort (rte_ip_frag), against Linux.
#  - ping -s 3000 -M dont: the request arrives in fragments and is reassembled; the 3008-byte
#    reply leaves in fragments; every reply is correct (ping checks the payload), and the
#    server's stats count the datagrams reassembled and the replies fragmented;
#  - scapy: a 3000-byte TCP segment to the echo port, sent as IPv4 fragments last first, comes
#    back byte-exact;
#  - a datagram whose other fragments never come is timed out and counted (stats on SIGUSR1),
#    and the server still stops with every mbuf back in its pool.
# Needs root and /dev/net/tun (77 = skip); the scapy part needs /usr/bin/python3 with scapy.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
HERE=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || tap_skip "/usr/bin/python3 has no scapy (python3-scapy)"
command -v iptables >/dev/null || tap_skip "'iptables' not found"

# stat_field NAME: NAME's value in the server's last "dpdk port" stats line ("reassembled 3" -> 3).
stat_field() { grep 'dpdk port' "$SERVER_LOG" | tail -1 | grep -o "$1 [0-9]*" | head -1 | awk '{ print $NF }'; }

tap_start "$SERVER" --app echo --listen 7
mac=$(grep -o 'mac [0-9a-f:]*' "$SERVER_LOG" | head -1 | cut -d' ' -f2)

# ping with fragments both ways
in_ns ping -c 3 -i 0.2 -W 2 -s 3000 -M dont "$USTCP_IP" >"$WORK/ping" 2>&1 || tap_fail "ping -s 3000: $(tail -3 "$WORK/ping")"
grep -q " 0% packet loss" "$WORK/ping" || tap_fail "ping -s 3000 lost replies: $(tail -2 "$WORK/ping")"
[ "$(grep -c "^3008 bytes from $USTCP_IP" "$WORK/ping" || true)" -eq 3 ] || tap_fail "not 3 whole replies: $(cat "$WORK/ping")"
grep -qi "wrong data\|truncated\|DUP" "$WORK/ping" && tap_fail "bad replies: $(cat "$WORK/ping")"
tap_stats
[ "$(stat_field reassembled)" -ge 3 ] || tap_fail "stats: $(grep 'dpdk port' "$SERVER_LOG" | tail -1)"
[ "$(stat_field 'tx fragmented')" -ge 3 ] || tap_fail "stats: $(grep 'dpdk port' "$SERVER_LOG" | tail -1)"
grep '^       engine' "$SERVER_LOG" | tail -1 | grep -q "fragments 0," || tap_fail "the engine saw fragments"
echo "ok: ping -s 3000 -M dont: 3 replies of 3008 bytes; reassembled $(stat_field reassembled), fragmented $(stat_field 'tx fragmented') replies"

# A TCP segment in fragments, last first. The kernel has no socket for scapy's connection and
# would reset it.
in_ns iptables -A OUTPUT -p tcp --tcp-flags RST RST -d "$USTCP_IP" -j DROP || tap_fail "iptables"
in_ns timeout 60 /usr/bin/python3 "$HERE/frag_tcp.py" "$TAP_IF" "$LINUX_IP" "$USTCP_IP" "$mac" echo >"$WORK/scapy" 2>&1 ||
    tap_fail "scapy: $(tail -5 "$WORK/scapy")"
echo "ok: $(tail -1 "$WORK/scapy")"

# A lone first fragment times out (ReassemblyConfig::timeout, 2 s) and is counted.
tap_stats
before=$(stat_field timeout)
in_ns timeout 60 /usr/bin/python3 "$HERE/frag_tcp.py" "$TAP_IF" "$LINUX_IP" "$USTCP_IP" "$mac" lone >"$WORK/scapy" 2>&1 ||
    tap_fail "scapy: $(tail -5 "$WORK/scapy")"
ok=0
for _ in $(seq 50); do
    tap_stats
    [ "$(stat_field timeout)" -gt "$before" ] && { ok=1; break; }
    sleep 0.2
done
[ "$ok" -eq 1 ] || tap_fail "no reassembly timeout counted after 10 s: $(grep 'dpdk port' "$SERVER_LOG" | tail -1)"
echo "ok: a lone fragment timed out: $(grep 'dpdk port' "$SERVER_LOG" | tail -1 | grep -o '(drops:[^)]*)')"

tap_stop
if declare -F dpdk_forget >/dev/null; then dpdk_forget "$NS"; fi
echo "ok: clean shutdown, every mbuf returned"
