#!/usr/bin/env bash
# interop_seed.sh USTCP_PCAP_BIN VECTORS_FILE
#
# Writes the seed vectors as a LINKTYPE_RAW pcap and pcapng (seed_to_pcap.py) and runs
# tests/interop/pcap_compare.sh on both: ustcp-pcap must print what tcpdump prints,
# with and without -S. Needs tcpdump, not root. Exit: pcap_compare.sh's (77 = skip).
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 USTCP_PCAP_BIN VECTORS_FILE" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tcpdump >/dev/null 2>&1 || { echo "interop_seed: SKIP: tcpdump not found" >&2; exit 77; }
WORK=$(mktemp -d /tmp/ustcp-seed-pcap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$HERE/seed_to_pcap.py" --format pcap "$2" "$WORK/seed001.pcap"
python3 "$HERE/seed_to_pcap.py" --format pcapng "$2" "$WORK/seed001.pcapng"
exec "$HERE/../interop/pcap_compare.sh" "$1" "$WORK/seed001.pcap" "$WORK/seed001.pcapng"
