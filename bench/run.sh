#!/usr/bin/env bash
# bench/run.sh [--trials N] [--duration S] [--workloads a,b] [--systems ustcp,linux,...] [--hold N] ...
#
# ustcp beside the Linux kernel and the raw DPDK link, in one run on this machine: builds what
# it needs (build/, with the benchmarks), then runs bench/harness.py, which interleaves trials,
# frames each with a core-to-core probe, and writes bench/results/<date>.{json,md,png}.
# `bench/run.sh --help` lists every option. As root (namespaces, hugepages, memif).
#
#   sudo bench/run.sh                                   # every workload, 3 trials
#   sudo bench/run.sh --workloads rr64_1conn --trials 5 # one workload
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${USTCP_BUILD:-build}
if [ "${1:-}" != "--help" ] && [ "${1:-}" != "-h" ]; then
  scripts/setup.sh
  [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
  meson compile -C "$BUILD" ustcp-server ustcp-perf ustcp-raw-link ustcp-c2c-probe ustcp-bench-micro >/dev/null
fi
# Debian's python3 (the harness uses only the standard library).
exec /usr/bin/python3 bench/harness.py --build "$BUILD" "$@"
