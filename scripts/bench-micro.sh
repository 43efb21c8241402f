#!/usr/bin/env bash
# Builds and runs the Google Benchmark micro-benchmarks and prints their table.
#   scripts/bench-micro.sh [--benchmark_filter=REGEX] [other Google Benchmark flags]
# Two-core VMs are noisy: compare rows from the same run (e.g. ustcp vs rte_raw_cksum), not across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build ustcp-bench-micro >/dev/null
exec build/bench/micro/ustcp-bench-micro --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
