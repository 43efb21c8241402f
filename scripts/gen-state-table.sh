#!/usr/bin/env bash
# Regenerates docs/tcp-state-table.md, the TCP state x segment table, from the
# conformance test tests/tcp/test_state_table.cpp (meson test tcp_state_table).
#
#   scripts/gen-state-table.sh                 build, run, rewrite docs/tcp-state-table.md
#   scripts/gen-state-table.sh --check EXE DOC run EXE, diff with DOC (the meson test
#                                              tcp_state_table_doc uses this)
#
# USTCP_BUILD_DIR picks the build directory (default: build); it is configured if needed.
# The document is written only when every case passed, so a failing run never replaces it.
set -euo pipefail

run_table() {  # run_table EXE OUT: the test binary writes OUT from the cases that passed
    local exe=$1 out=$2 log
    log=$(mktemp)
    if ! USTCP_STATE_TABLE_OUT="$out" "$exe" --gtest_brief=1 >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "gen-state-table: $exe failed; the table was not regenerated" >&2
        return 1
    fi
    rm -f "$log"
}

if [ "${1:-}" = "--check" ]; then
    [ $# -eq 3 ] || { echo "usage: $0 --check EXE DOC" >&2; exit 2; }
    exe=$2 doc=$3
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    run_table "$exe" "$tmp"
    if ! diff -u "$doc" "$tmp"; then
        echo >&2
        echo "docs/tcp-state-table.md is out of date with tests/tcp/test_state_table.cpp." >&2
        echo "Run scripts/gen-state-table.sh and commit the result." >&2
        exit 1
    fi
    exit 0
fi

cd "$(dirname "$0")/.."
dir=${USTCP_BUILD_DIR:-build}
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" >/dev/null
fi
ninja -C "$dir" tests/tcp/test_tcp_state_table >/dev/null  # ninja re-runs meson if a meson.build changed
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
run_table "$dir/tests/tcp/test_tcp_state_table" "$tmp"
mkdir -p docs
cp "$tmp" docs/tcp-state-table.md
echo "wrote docs/tcp-state-table.md"
