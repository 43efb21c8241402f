#!/usr/bin/env bash
# bench/mathis.sh [BUILDDIR] [MIB] [SEEDS]: goodput over the simulated link (NewReno without SACK,
# NewReno with SACK, CUBIC with SACK and RACK-TLP)
# (lib/sim, virtual clock) at loss rates 0.1%..5%, against the Mathis et al. bound
# MSS/RTT * 1.22/sqrt(p). Writes bench/results/mathis.csv and, with gnuplot, bench/results/mathis.png.
#
#   bench/mathis.sh build 64 2     (the defaults; about 15 s)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:-$HERE/../build}
MIB=${2:-64}
SEEDS=${3:-2}
OUT=$HERE/results
mkdir -p "$OUT"
ninja -C "$BUILD" bench/mathis/ustcp-mathis >/dev/null
"$BUILD/bench/mathis/ustcp-mathis" "$OUT/mathis.csv" "$MIB" "$SEEDS"
command -v gnuplot >/dev/null || { echo "gnuplot not found: $OUT/mathis.csv only" >&2; exit 0; }
gnuplot <<GP
set terminal pngcairo size 900,600 noenhanced
set output "$OUT/mathis.png"
set datafile separator ","
set logscale xy
set xlabel "random loss p (data direction)"
set ylabel "goodput, Mbit/s"
set title "ustcp over the simulated link (RTT 20 ms, 1 Gbit/s, ${MIB} MiB x ${SEEDS} seeds) vs Mathis MSS/RTT*1.22/sqrt(p)"
set key top right
set grid
plot "< grep '^newreno,' $OUT/mathis.csv" using 2:3 with linespoints lw 2 title "NewReno, no SACK", \
     "< grep '^newreno_sack,' $OUT/mathis.csv" using 2:3 with linespoints lw 2 title "NewReno + SACK (RFC 6675)", \
     "< grep '^cubic_sack_rack,' $OUT/mathis.csv" using 2:3 with linespoints lw 2 title "CUBIC + HyStart++ + SACK + RACK-TLP", \
     "< grep '^cubic_sack_rack,' $OUT/mathis.csv" using 2:4 with lines dt 2 lw 2 title "Mathis bound"
GP
echo "wrote $OUT/mathis.csv and $OUT/mathis.png"
