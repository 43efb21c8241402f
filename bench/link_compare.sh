#!/usr/bin/env bash
# bench/link_compare.sh SERVER [TRIALS] [MIB]: net_af_packet (veth pair) against net_tap for the
# same echo transfer, interleaved so that both see the same machine load.
#
#   sudo bench/link_compare.sh build/apps/ustcp-server/ustcp-server 6 32
#
# Each trial starts a fresh ustcp-server (echo) on each link in turn, in throw-away namespaces
# (tests/interop/tap/lib.sh: tap_start, afp_start), sends MIB MiB of random data with
# `nc -N` and times it until the whole echo is back and its SHA-256 matches; the server start is
# not timed. The order alternates (tap first in odd trials, af_packet first in even ones). MB/s
# is payload one way, 10^6 bytes per second (the link carries it twice). Also per run: the
# Linux side's retransmitted segments (/proc/net/snmp in the namespace) and ustcp's
# (its stats). A run that fails (nc error, timeout after 120 s, wrong echo) counts as a failure
# and is left out of the medians. Exit 0 when every run passed, 1 otherwise, 77 without root.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../tests/interop/tap/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER [TRIALS] [MIB]" >&2; exit 2; }
SERVER=$1
TRIALS=${2:-6}
MIB=${3:-32}
trap 'tap_cleanup; afp_cleanup' EXIT
random_file "$WORK/in" $((MIB << 20))
want=$(sha256sum <"$WORK/in" | cut -d' ' -f1)

linux_retrans() {
    in_ns awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# run LINK: one transfer; appends "LINK MBPS|fail LINUX_RETRANS USTCP_RETRANS" to $WORK/results.
run() {
    local link=$1 t0 t1 rc=0 r0 r1 ours mbps
    NS="ustcp-lc-$$-$RANDOM"
    : >"$SERVER_LOG"
    if [ "$link" = tap ]; then tap_start "$SERVER" --app echo --listen 7; else afp_start "$SERVER" --app echo --listen 7; fi
    r0=$(linux_retrans)
    t0=$(date +%s%N)
    in_ns timeout 120 nc -N "$USTCP_IP" 7 <"$WORK/in" >"$WORK/out" || rc=$?
    t1=$(date +%s%N)
    r1=$(linux_retrans)
    tap_stats
    ours=$(grep -A2 '^stats:' "$SERVER_LOG" | tail -1 | sed -n 's/.* retransmits \([0-9]*\) .*/\1/p')
    tap_stop
    if [ "$link" = tap ]; then ip netns del "$NS"; dpdk_forget "$NS"; else ip netns del "$NS"; afp_cleanup; fi
    if [ "$rc" -eq 0 ] && [ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" = "$want" ]; then
        mbps=$(awk -v b=$((MIB << 20)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
    else
        mbps=fail
    fi
    printf '%-9s %8s MB/s  linux retrans %6s  ustcp retrans %6s\n' "$link" "$mbps" $((r1 - r0)) "${ours:-?}"
    echo "$link $mbps $((r1 - r0)) ${ours:-0}" >>"$WORK/results"
}

echo "link_compare: $TRIALS interleaved trials of a $MIB MiB echo ($(nproc) CPUs, $(uname -r))"
for t in $(seq "$TRIALS"); do
    if [ $((t % 2)) -eq 1 ]; then order="tap af_packet"; else order="af_packet tap"; fi
    for link in $order; do printf 'trial %-3s ' "$t"; run "$link"; done
done

awk '
    function median(a, n,   i, j, x) {
        for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        runs[$1]++; lr[$1] += $3; ur[$1] += $4
        if ($2 == "fail") { fails[$1]++; next }
        n[$1]++; v[$1, n[$1]] = $2
        if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2
        if (!($1 in hi) || $2 > hi[$1]) hi[$1] = $2
    }
    END {
        for (l in runs) {
            for (i = 1; i <= n[l]; i++) a[i] = v[l, i]
            med[l] = n[l] ? median(a, n[l]) : 0
            printf "%-9s median %7.1f MB/s (min %s, max %s), %d/%d failed, linux retrans %.0f/run, ustcp %.0f/run\n",
                l, med[l], lo[l], hi[l], fails[l], runs[l], lr[l] / runs[l], ur[l] / runs[l]
        }
        if (med["tap"] > 0) printf "ratio af_packet/tap: %.2f\n", med["af_packet"] / med["tap"]
        exit (fails["tap"] + fails["af_packet"]) > 0
    }' "$WORK/results"
