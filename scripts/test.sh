#!/usr/bin/env bash
# The whole test run, as CI does it on a fresh Debian 12 machine:
#   1. scripts/setup.sh (packages, hugepages)
#   2. release-style build (-Werror) and every meson test suite: unit, dpdk, interop, long (64 MiB transfers over the simulated link)
#   3. ASan+UBSan build and its tests
#   4. clang libFuzzer build; each fuzz target runs for USTCP_FUZZ_SECONDS (default 60)
# Ends with meson's summary of the last stage. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

section() { printf '\n==== %s ====\n' "$*"; }

configure() {  # configure DIR [meson options...]: setup once, reconfigure after
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

jobs=$(nproc)

section "build (gcc, -Werror)"
configure build --werror
meson compile -C build -j "$jobs"
section "tests"
meson test -C build --print-errorlogs --num-processes 1

section "build (ASan+UBSan)"
configure build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled
meson compile -C build-asan -j "$jobs"
section "tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 1 --timeout-multiplier 3

section "fuzz targets (clang, libFuzzer + ASan/UBSan)"
CC=clang CXX=clang++ configure build-fuzz --werror -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbenchmarks=disabled -Dtests=disabled -Ddpdk=disabled
meson compile -C build-fuzz -j "$jobs"
meson test -C build-fuzz --suite fuzz --print-errorlogs
