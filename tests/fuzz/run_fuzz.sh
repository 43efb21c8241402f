#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: run_fuzz.sh EXE ARTIFACT_PREFIX CORPUS_DIR...
# USTCP_FUZZ_SECONDS (default 60) is read when the test runs, not when meson configures.
# libFuzzer's own error exit code is 77, which meson would read as "skipped": map it to 1.
set -euo pipefail
exe=$1 prefix=$2
shift 2
exec "$exe" -max_total_time="${USTCP_FUZZ_SECONDS:-60}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$prefix" "$@"
