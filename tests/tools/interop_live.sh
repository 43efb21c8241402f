#!/usr/bin/env bash
# interop_live.sh USTCP_PCAP_BIN
#
# Captures real Linux traffic with tests/interop/make_captures.sh (root: network
# namespaces, veth, VLAN, iptables) and runs tests/interop/pcap_compare.sh on every
# capture it wrote. Exit: 77 (skip) when make_captures.sh or pcap_compare.sh skips.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 USTCP_PCAP_BIN" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/ustcp-live-pcap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
rc=0
"$HERE/../interop/make_captures.sh" "$WORK" || rc=$?
[[ $rc -eq 0 ]] || exit "$rc"  # 77 passes through as "skipped"
shopt -s nullglob
files=("$WORK"/*.pcap "$WORK"/*.pcapng)
[[ ${#files[@]} -gt 0 ]] || { echo "interop_live: make_captures.sh wrote no capture" >&2; exit 1; }
exec "$HERE/../interop/pcap_compare.sh" "$1" "${files[@]}"
