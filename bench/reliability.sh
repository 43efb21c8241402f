#!/usr/bin/env bash
# bench/reliability.sh [BUILDDIR] [MIB]: the reliability table of the README. Runs the simulated-
# link transfers (tests/sim/test_transfer.cpp: every fault profile, NewReno and CUBIC, SACK and
# RACK-TLP on, SHA-256 checked, virtual clock: the same numbers on any machine) and the
# retransmission-efficiency runs (tests/engine/test_engine_recovery.cpp), and writes
# bench/results/reliability.md.
#
#   bench/reliability.sh build 64     (the defaults; about a minute)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:-$HERE/../build}
MIB=${2:-64}
OUT=$HERE/results/reliability.md
ninja -C "$BUILD" tests/sim/test_sim_transfer tests/engine/test_engine_recovery >/dev/null
transfers=$(USTCP_TRANSFER_MIB=$MIB "$BUILD/tests/sim/test_sim_transfer" 2>&1) || { echo "$transfers" >&2; exit 1; }
recovery=$("$BUILD/tests/engine/test_engine_recovery" 2>&1) || { echo "$recovery" >&2; exit 1; }
{
    echo "# Reliability over the simulated link (bench/reliability.sh)"
    echo
    echo "\`bench/reliability.sh $(basename "$BUILD") $MIB\`: $MIB MiB per fault profile between two engines over lib/sim's link"
    echo "(100 Mbit/s, 50-frame bottleneck queue, RTT 10 ms, the profile's faults both ways, ACKs too),"
    echo "SHA-256 equal at both ends in every row; virtual clock. Floor: the goodput the test requires."
    echo
    echo "| algorithm | profile | goodput Mbit/s | floor Mbit/s | RTOs | fast/RACK retransmits | longest stall s |"
    echo "|---|---|---|---|---|---|---|"
    echo "$transfers" | awk '/ MiB in .* s virtual: / {
        gsub(/[(),]/, " ");
        for (i = 1; i <= NF; i++) {
            if ($i == "virtual:") goodput = $(i + 1);
            if ($i == "floor") floor = $(i + 1);
            if ($i == "rto+fast") split($(i - 1), rf, "+");
            if ($i == "stall") stall = $(i + 1);
        }
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, goodput, floor, rf[1], rf[2], stall }'
    echo
    echo "Retransmission efficiency (retransmitted payload / payload the wire dropped, 4 MiB over SimPorts; the"
    echo "loss lines: random loss of the data frames, 10 ms one way; the echo lines: data both ways, 2% of every"
    echo "frame lost each way, ACKs included):"
    echo
    echo "$recovery" | grep -E '^(loss|echo)' | sed 's/^/- /'
} >"$OUT"
echo "wrote $OUT"
cat "$OUT"
