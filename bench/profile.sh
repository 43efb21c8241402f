#!/usr/bin/env bash
# bench/profile.sh [--workloads rr64_1conn,...] [--sides server,client] [--window S] [--out DIR] [--keep]
#
# Callgrind instruction counts of the ustcp side of issue 7's workloads (docs/profiles.md):
# ustcp-server --app perf and ustcp-perf over net_memif, as bench/run.sh runs them, one of the
# two under `valgrind --tool=callgrind` (collecting inside engine::Engine::poll only), the other
# native. Writes OUT/<workload>-<side>.md (Ir per transaction, connection or segment; top
# functions inclusive and self, net of the empty-poll cost) and OUT/summary.md; the raw dumps
# stay beside them (git-ignored). As root (memif's socket). --help lists every option.
#
#   sudo bench/profile.sh                                     # all four workloads, both sides
#   sudo bench/profile.sh --workloads rr64_1conn --sides server --out /tmp/p
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${USTCP_BUILD:-build}
if [ "${1:-}" != "--help" ] && [ "${1:-}" != "-h" ]; then
  command -v valgrind >/dev/null || { echo "bench/profile.sh: valgrind is not installed (scripts/setup.sh)" >&2; exit 1; }
  [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
  meson compile -C "$BUILD" ustcp-server ustcp-perf >/dev/null
fi
exec /usr/bin/python3 bench/profile.py --build "$BUILD" "$@"
