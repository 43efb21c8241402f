#!/usr/bin/env bash
# truncated_capture.sh USTCP_PCAP_BIN VECTORS_FILE
#
# ustcp-pcap on damaged capture files (no tcpdump needed; the expected lines are the
# seed vectors' own `tcpdump -S -nt` lines):
#  1. a pcap and a pcapng cut in the middle of packet 7's data: packets 1-6 are printed
#     exactly, then ustcp-pcap exits non-zero with a message naming the file;
#  2. a pcap whose packet 3 record header claims an impossible capture length: packets
#     1-2 printed, non-zero exit, the file named;
#  3. a file that is not a capture at all, a missing file, bad usage (exit 2).
set -uo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 USTCP_PCAP_BIN VECTORS_FILE" >&2; exit 2; }
BIN=$1 VECTORS=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/ustcp-trunc-pcap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The first N tcpdump -S lines recorded in the vectors file.
expected_lines() { grep -A1 '^pkt ' "$VECTORS" | grep '^IP ' | head -n "$1"; }

# check FILE KEEP_PACKETS: run ustcp-pcap -S FILE, expect KEEP_PACKETS exact lines,
# a non-zero exit and an error on stderr that names FILE.
check() {
    local file=$1 keep=$2 rc=0
    "$BIN" -S "$file" >"$WORK/out" 2>"$WORK/err" || rc=$?
    expected_lines "$keep" >"$WORK/want"
    if ! cmp -s "$WORK/want" "$WORK/out"; then
        fail "$file: expected exactly the first $keep packets"
        diff -u "$WORK/want" "$WORK/out" | head -n 20
    fi
    [[ $rc -ne 0 ]] || fail "$file: exit status 0 for a damaged capture"
    grep -qF "$file" "$WORK/err" || fail "$file: the error does not name the file: $(cat "$WORK/err")"
    echo "checked $file: rc=$rc, stderr: $(head -n 1 "$WORK/err")"
}

for fmt in pcap pcapng; do
    python3 "$HERE/seed_to_pcap.py" --format "$fmt" --cut-at-packet 7 "$VECTORS" "$WORK/cut.$fmt"
    check "$WORK/cut.$fmt" 6
done

# Packet 3's record header (pcap: 24-byte file header, then 16-byte record headers):
# caplen 0x7fffffff is more than any snapshot length.
python3 "$HERE/seed_to_pcap.py" --format pcap "$VECTORS" "$WORK/corrupt.pcap"
python3 - "$WORK/corrupt.pcap" <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
off = 24
for _ in range(2):                      # skip packets 1 and 2
    caplen = struct.unpack_from("<I", data, off + 8)[0]
    off += 16 + caplen
struct.pack_into("<I", data, off + 8, 0x7FFFFFFF)
open(path, "wb").write(data)
PY
check "$WORK/corrupt.pcap" 2

printf 'this is not a capture file\n' >"$WORK/garbage.pcap"
check "$WORK/garbage.pcap" 0
check "$WORK/does-not-exist.pcap" 0

rc=0; "$BIN" -x "$WORK/cut.pcap" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "unknown flag: exit status $rc, expected 2"
rc=0; "$BIN" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "no FILE: exit status $rc, expected 2"

if [[ $failures -ne 0 ]]; then
    echo "truncated_capture: $failures failure(s)"
    exit 1
fi
echo "truncated_capture: ok"
