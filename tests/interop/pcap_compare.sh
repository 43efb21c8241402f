#!/usr/bin/env bash
# pcap_compare.sh USTCP_PCAP_BIN FILE...
#
# For every capture FILE compare, byte for byte, the stdout of
#     tcpdump -nt -r FILE        vs   USTCP_PCAP_BIN FILE
#     tcpdump -S -nt -r FILE     vs   USTCP_PCAP_BIN -S FILE
# and print a unified diff (first lines only) for each mismatch.
#
# Coverage guards: every FILE must decode to at least one line. Files whose
# name starts with "linux-" (the live captures from make_captures.sh) must
# also contain a SACK block, a wscale option, an ICMP echo request, an ARP
# request, a RST, and at least one 802.1Q-tagged frame, so the test fails
# loudly if the capture silently loses coverage.
#
# Exit: 0 all match, 1 any mismatch/coverage failure/error, 2 usage,
#       77 tcpdump not installed (meson "skipped").
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 USTCP_PCAP_BIN FILE..." >&2
    exit 2
fi
command -v tcpdump >/dev/null 2>&1 || { echo "pcap_compare: SKIP: tcpdump not found" >&2; exit 77; }

BIN=$1; shift
if [[ $BIN != */* ]]; then
    name=$BIN
    BIN=$(command -v "$name") || { echo "pcap_compare: '$name' not found" >&2; exit 2; }
fi
[[ -x $BIN ]] || { echo "pcap_compare: '$BIN' is not executable" >&2; exit 2; }

MAX_DIFF_LINES=${MAX_DIFF_LINES:-40}
WORK=$(mktemp -d /tmp/pcap_compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# require FILE DESCRIPTION ERE: the decoded text must contain a matching line.
require() {
    if ! grep -E -- "$3" "$WORK/expected" >/dev/null; then
        fail "$1: coverage: no $2 (pattern: $3)"
    fi
}

for file in "$@"; do
    if [[ ! -r $file ]]; then
        fail "$file: cannot read"
        continue
    fi
    for mode in relative absolute; do
        flags=()
        [[ $mode == absolute ]] && flags=(-S)
        label="$file${flags[*]:+ (${flags[*]})}"

        # Reference output. tcpdump's "reading from file ..., link-type ..."
        # banner must be on stderr only; check that, since we compare stdout.
        if ! tcpdump "${flags[@]}" -nt -r "$file" >"$WORK/expected" 2>"$WORK/expected.err"; then
            fail "$label: tcpdump failed: $(head -n 3 "$WORK/expected.err")"
            continue
        fi
        grep -q '^reading from file' "$WORK/expected.err" ||
            fail "$label: tcpdump's 'reading from file' banner not on stderr"
        if grep -q '^reading from file' "$WORK/expected"; then
            fail "$label: tcpdump's banner leaked into stdout"
        fi
        if [[ ! -s $WORK/expected ]]; then
            fail "$label: tcpdump printed no packets (empty capture?)"
            continue
        fi

        # Implementation under test.
        rc=0
        "$BIN" "${flags[@]}" "$file" >"$WORK/actual" 2>"$WORK/actual.err" || rc=$?
        if [[ $rc -ne 0 ]]; then
            fail "$label: $BIN exited with status $rc: $(head -n 3 "$WORK/actual.err")"
        fi
        if cmp -s "$WORK/expected" "$WORK/actual"; then
            echo "ok:   $label ($(wc -l <"$WORK/expected") lines)"
        else
            fail "$label: output differs from tcpdump (first differences below)"
            diff -u --label "tcpdump ${flags[*]:+${flags[*]} }-nt -r $file" \
                    --label "$BIN ${flags[*]:+${flags[*]} }$file" \
                    "$WORK/expected" "$WORK/actual" | head -n "$MAX_DIFF_LINES" || true
        fi

        # Coverage guards, once per live capture (on tcpdump's relative output).
        if [[ $mode == relative && $(basename "$file") == linux-* ]]; then
            require "$file" "SACK block"          'sack [0-9]+ \{[0-9]+:[0-9]+\}'
            require "$file" "wscale option"       'wscale [0-9]+'
            require "$file" "ICMP echo request"   'ICMP echo request'
            require "$file" "ARP request"         'ARP, Request'
            require "$file" "RST"                 'Flags \[R'
            # VLAN tags are invisible without -e, so look at the -e rendering.
            if ! tcpdump -e -nt -r "$file" 2>/dev/null >"$WORK/ether"; then
                fail "$file: tcpdump -e failed"
            elif ! grep -F 'ethertype 802.1Q (0x8100)' "$WORK/ether" >/dev/null; then
                fail "$file: coverage: no 802.1Q VLAN frame"
            fi
        fi
    done
done

if [[ $failures -ne 0 ]]; then
    echo "pcap_compare: $failures failure(s)"
    exit 1
fi
echo "pcap_compare: all $# file(s) match tcpdump"
