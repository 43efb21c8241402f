#!/usr/bin/env bash
# tests/interop/tap/echo.sh SERVER: ustcp-server (echo) on net_tap against the Linux kernel.
#  - ping gets replies, and the kernel's neighbour table has our MAC (ARP);
#  - 32 MiB of random data echoed byte-exact (SHA-256), with Linux's default options and
#    with SACK, window scaling and timestamps each turned off in the namespace;
#  - 200 sequential and 100 concurrent connections each echo a message and close;
#  - half-close: the client shuts down its write side, the echo of the rest still comes back;
#  - a closed port answers with RST (ECONNREFUSED);
#  - the server stops on SIGTERM with every mbuf back in its pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
MIB=${USTCP_INTEROP_MIB:-32}

tap_start "$SERVER" --app echo --listen 7,9

# ping and ARP
in_ns ping -c 3 -i 0.2 -W 1 "$USTCP_IP" >"$WORK/ping" || tap_fail "ping"
grep -q " 0% packet loss" "$WORK/ping" || tap_fail "ping lost packets: $(tail -2 "$WORK/ping")"
mac=$(grep -o 'mac [0-9a-f:]*' "$SERVER_LOG" | head -1 | cut -d' ' -f2)
in_ns ip neigh show "$USTCP_IP" | grep -qi "$mac" || tap_fail "neighbour table lacks $mac: $(in_ns ip neigh)"
echo "ok: ping and ARP"

# bulk echo with the kernel's defaults, then with each option off
echo_check $((MIB * 1024 * 1024))
echo "ok: ${MIB} MiB echo (SACK, window scaling, timestamps on)"
for opt in tcp_sack tcp_window_scaling tcp_timestamps; do
    in_ns sysctl -qw "net.ipv4.$opt=0"
    echo_check $((4 * 1024 * 1024))
    in_ns sysctl -qw "net.ipv4.$opt=1"
    echo "ok: 4 MiB echo with net.ipv4.$opt=0"
done

# 200 sequential connections
for i in $(seq 200); do
    got=$(echo "hello $i" | in_ns timeout 10 nc -N "$USTCP_IP" 7) || tap_fail "sequential connection $i"
    [ "$got" = "hello $i" ] || tap_fail "sequential connection $i echoed '$got'"
done
echo "ok: 200 sequential connections"

# 100 concurrent connections
concurrent_check 100
echo "ok: 100 concurrent connections"

# half-close: nc -N shuts down its write side at EOF and keeps reading until our FIN
random_file "$WORK/half" 300000
in_ns timeout 30 nc -N "$USTCP_IP" 7 <"$WORK/half" >"$WORK/half.out" || tap_fail "half-close"
cmp -s "$WORK/half" "$WORK/half.out" || tap_fail "half-close: echo differs"
echo "ok: half-close"

# closed port: RST, seen by the kernel as ECONNREFUSED
if in_ns timeout 5 nc -z "$USTCP_IP" 8 2>"$WORK/refused"; then tap_fail "port 8 accepted a connection"; fi
in_ns timeout 5 bash -c "exec 3<>/dev/tcp/$USTCP_IP/8" 2>"$WORK/refused2" && tap_fail "port 8 connected"
grep -qi "refused" "$WORK/refused2" || tap_fail "port 8: expected 'Connection refused', got: $(cat "$WORK/refused2")"
echo "ok: closed port refused"

tap_stats
grep -q "bad ip csum 0, not for us" "$SERVER_LOG" || true
tap_stop
echo "ok: clean shutdown, every mbuf returned"
