#!/usr/bin/env bash
# tests/interop/tap/af_packet.sh SERVER: ustcp-server (echo) on net_af_packet over a veth pair
# against the Linux kernel (lib.sh afp_start: the server and the kernel in two namespaces).
#  - ping and ARP over the pair;
#  - 32 MiB of random data echoed byte-exact (SHA-256);
#  - the server stops on SIGTERM with every mbuf back in its pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
MIB=${USTCP_INTEROP_MIB:-32}
trap 'tap_cleanup; afp_cleanup' EXIT

afp_start "$SERVER" --app echo --listen 7
grep -q "(net_af_packet0, net_af_packet)" "$SERVER_LOG" || tap_fail "the server's port is not net_af_packet"
mac=$(grep -o 'mac [0-9a-f:]*' "$SERVER_LOG" | head -1 | cut -d' ' -f2)
[ "$mac" = "$(ip -n "$AFP_NS" -br link show "$AFP_IF" | awk '{print $3}')" ] || tap_fail "port mac $mac is not $AFP_IF's"
in_ns ip neigh show "$USTCP_IP" | grep -qi "$mac" || tap_fail "neighbour table lacks $mac: $(in_ns ip neigh)"
echo "ok: ping and ARP over af_packet ($AFP_IF, mac $mac)"

t0=$(date +%s%N)
echo_check $((MIB * 1024 * 1024))
ms=$((($(date +%s%N) - t0) / 1000000))
echo "ok: ${MIB} MiB echo over af_packet in ${ms} ms"

tap_stats
tap_stop
echo "ok: clean shutdown, every mbuf returned"
