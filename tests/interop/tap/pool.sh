#!/usr/bin/env bash
# tests/interop/tap/pool.sh SERVER: ustcp-server with a deliberately small mbuf pool (1023 mbufs,
# 128-descriptor rings) under 16 concurrent 1 MiB echoes, far more than its connections may keep:
#  - every echo still comes back byte-exact (SHA-256): payload that found no buffer was dropped,
#    counted and retransmitted by Linux, never a stall or a crash;
#  - the server's stats show those drops ("no buffer N" > 0) and a pool that ran dry;
#  - it stops on SIGTERM with every mbuf back in its pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1

tap_start "$SERVER" --app echo --listen 7 --mempool.mbufs_per_lcore 1023 --mempool.cache 32 \
    --port.rx_desc 128 --port.tx_desc 128
grep -q "connections keep at most" "$SERVER_LOG" || tap_fail "no payload cap in the banner"

pids=()
for i in $(seq 16); do
    random_file "$WORK/in$i" $((1024 * 1024))
    (in_ns timeout 120 nc -N "$USTCP_IP" 7 <"$WORK/in$i" >"$WORK/out$i") &
    pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: the server is a background job too
for i in $(seq 16); do
    a=$(sha256sum <"$WORK/in$i" | cut -d' ' -f1)
    b=$(sha256sum <"$WORK/out$i" | cut -d' ' -f1)
    [ "$a" = "$b" ] || tap_fail "echo $i: $(stat -c %s "$WORK/out$i") of 1048576 bytes back, sha256 differs"
done
echo "ok: 16 concurrent 1 MiB echoes through a 1023-mbuf pool"

tap_stats
drops=$(grep '^       tcp ' "$SERVER_LOG" | tail -1 | grep -o 'no buffer [0-9]*' | grep -o '[0-9]*$')
[ -n "$drops" ] && [ "$drops" -gt 0 ] || tap_fail "no payload drops counted: $(grep '^       tcp ' "$SERVER_LOG" | tail -1)"
echo "ok: $drops segments dropped for want of a buffer, counted, recovered"

tap_stop
echo "ok: clean shutdown, every mbuf returned"
