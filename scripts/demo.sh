#!/usr/bin/env bash
# The main job: ustcp-server in echo mode on a net_tap vdev, driven by the Linux kernel's
# own TCP through real programs, in a network namespace made (and deleted) here.
#   1. setup if needed, build;
#   2. start ustcp-server (--no-pci, its own --file-prefix) inside a fresh namespace,
#      address the tap's kernel end 198.18.0.1/24 (ustcp is 198.18.0.2);
#   3. ping it, echo a line and 1 MiB of random data through it with nc (SHA-256 checked);
#   4. show the handshake, echo and close as captured on the tap (printed by ustcp-pcap,
#      in tcpdump's format), print the server's stats, stop it, clean up.
# Needs root (namespaces, /dev/net/tun). Exits non-zero if any step fails.
#
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build ustcp-server ustcp-pcap >/dev/null

. tests/interop/tap/lib.sh
command -v tcpdump >/dev/null || tap_fail "tcpdump not found"

echo "== starting ustcp-server (echo) on net_tap in namespace $NS"
tap_start build/apps/ustcp-server/ustcp-server --app echo --listen 7
grep '^ustcp-server:' "$SERVER_LOG"

echo
echo "== ping $USTCP_IP"
in_ns ping -c 3 -i 0.2 "$USTCP_IP"

in_ns timeout 60 tcpdump -U -i "$TAP_IF" -nn -w "$WORK/demo.pcap" "tcp port 7" 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!  # timeout's, which passes a signal on to tcpdump (pkill would reach other captures)
for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
echo
echo "== nc: one line through the echo server"
reply=$(echo "hello from the Linux kernel" | in_ns timeout 10 nc -N "$USTCP_IP" 7)
echo "sent:     hello from the Linux kernel"
echo "received: $reply"
[ "$reply" = "hello from the Linux kernel" ] || tap_fail "echo differs"
# -U writes each packet as it comes: wait for both FINs and the last ACK after them.
for _ in $(seq 50); do
    tcpdump -r "$WORK/demo.pcap" -nn 2>/dev/null |
        awk '/Flags \[F/ { f++; next } f >= 2 { done = 1 } END { exit !done }' && break
    sleep 0.1
done
kill -INT "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true  # tcpdump has written the file when it exits
echo
echo "== that connection on the wire (tap capture, printed by ustcp-pcap in tcpdump's format)"
build/apps/ustcp-pcap/ustcp-pcap "$WORK/demo.pcap"

echo
echo "== nc: 1 MiB of random data"
echo_check $((1024 * 1024))
echo "sha256 of what came back equals what was sent: $(sha256sum <"$WORK/out" | cut -c1-16)..."

echo
echo "== server stats (SIGUSR1)"
tap_stats
grep -A2 '^stats:' "$SERVER_LOG" | tail -3
tap_stop
echo
echo "== stopped: $(grep 'mbufs still in use' "$SERVER_LOG")"
