#!/usr/bin/env bash
# The main job, until ustcp-server exists: build, write the seed echo session
# (tests/vectors/seed001-echo-session.txt) as a pcap, and print it with ustcp-pcap
# next to tcpdump's own reading of the same file, with and without -S.
#
#   scripts/run.sh [CAPTURE]     # print CAPTURE (pcap/pcapng) instead of the seed
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build ustcp-pcap >/dev/null

capture=${1:-}
if [ -z "$capture" ]; then
  work=$(mktemp -d /tmp/ustcp-run.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  capture=$work/seed001.pcap
  python3 tests/tools/seed_to_pcap.py --format pcap tests/vectors/seed001-echo-session.txt "$capture"
fi

for flags in "-S" ""; do
  echo "== ustcp-pcap $flags $capture"
  build/apps/ustcp-pcap/ustcp-pcap $flags "$capture" | tee "${capture}.ours"
  if command -v tcpdump >/dev/null; then
    tcpdump $flags -nt -r "$capture" 2>/dev/null > "${capture}.tcpdump"
    if cmp -s "${capture}.ours" "${capture}.tcpdump"; then
      echo "== identical to: tcpdump $flags -nt -r $capture"
    else
      echo "== differs from tcpdump $flags -nt -r $capture:"
      diff -u "${capture}.tcpdump" "${capture}.ours" || true
      exit 1
    fi
  fi
done
