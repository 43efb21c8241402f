#!/usr/bin/env bash
# tests/interop/tap/fault.sh SERVER: ustcp-server --fault (lib/sim's FaultPort on the port) against
# the Linux kernel over net_tap:
#  - `--fault rx:loss=2%`: a 4 MiB echo to nc comes back byte-exact (SHA-256) although the server
#    loses 2% of what it receives; the stats count those losses, and nothing on TX;
#  - `--fault "rx:loss=1%,corrupt=1%;tx:corrupt=1%,dup=1%,delay=1ms"`: the same echo byte-exact; the
#    server's corrupted RX frames show up as its "bad tcp" drops, its corrupted TX frames as Linux's
#    TcpInCsumErrors in the namespace, the duplicates in the stats;
#  - both stop on SIGTERM with every mbuf back in its pool (held frames freed).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
command -v nstat >/dev/null || tap_skip "'nstat' not found (iproute2)"
MIB4=$((4 << 20))

# fault_field DIR NAME: the last stats block's fault counter NAME ("lost", "corrupted", ...) of
# direction DIR (rx or tx), summed over lcores.
fault_field() {
    grep "^lcore .*: fault " "$SERVER_LOG" | tail -1 | grep -o "$1 [0-9]* frames:[^;]*" |
        grep -o "$2 [0-9]*" | grep -o '[0-9]*$' | head -1
}

tap_start "$SERVER" --app echo --listen 7 --fault "rx:loss=2%,seed=3"
grep -q "faults on every port: rx:loss=2%,seed=3" "$SERVER_LOG" || tap_fail "no fault line in the banner"
echo_check "$MIB4"
echo "ok: 4 MiB echo byte-exact with 2% of the server's RX lost"
tap_stats
lost=$(fault_field rx lost)
frames=$(fault_field rx "rx")
txf=$(grep "^lcore .*: fault " "$SERVER_LOG" | tail -1 | grep -o "tx [0-9]* frames" | grep -o '[0-9]\+')
[ -n "$lost" ] && [ "$lost" -gt 0 ] || tap_fail "no RX losses counted: $(grep ': fault ' "$SERVER_LOG" | tail -1)"
[ "$txf" = 0 ] || tap_fail "TX faults counted without TX faults: $txf frames"
echo "ok: $lost frames lost on RX by the fault port, counted in the stats"
# The same counters through DPDK's telemetry socket (/ustcp/stats "faults").
tap_telemetry "$WORK/telemetry.out" /ustcp/stats
/usr/bin/python3 - "$WORK/telemetry.out" "$lost" <<'EOF' || tap_fail "telemetry faults: $(head -c 3000 "$WORK/telemetry.out")"
import json, sys
text = open(sys.argv[1]).read()
stats = json.JSONDecoder().raw_decode(text, text.index("{"))[0]["/ustcp/stats"]
f = stats["faults"]
# Frames keep arriving after the stats print (the kernel's IPv6 chatter): at least as many.
assert f["rx_lost"] >= int(sys.argv[2]) > 0, f
assert f["rx_frames"] > f["rx_lost"] and f["tx_frames"] == 0 and f["tx_lost"] == 0, f
assert f["rx_delivered"] == f["rx_frames"] - f["rx_lost"], f
EOF
echo "ok: the fault counters in /ustcp/stats (telemetry)"
tap_stop
echo "ok: clean shutdown, every mbuf returned"

ip netns del "$NS"
dpdk_forget "$NS"
tap_start "$SERVER" --app echo --listen 7 --fault "rx:loss=1%,corrupt=1%,seed=5;tx:corrupt=1%,dup=1%,delay=1ms,seed=6"
in_ns nstat -n >/dev/null  # a baseline: the next nstat shows what changed since
echo_check "$MIB4"
echo "ok: 4 MiB echo byte-exact with RX loss and corruption, TX corruption, duplication and delay"
tap_stats
line=$(grep "^lcore .*: fault " "$SERVER_LOG" | tail -1)
rx_bad=$(fault_field rx corrupted)
tx_bad=$(fault_field tx corrupted)
tx_dup=$(fault_field tx duplicated)
bad_tcp=$(grep '^       engine ' "$SERVER_LOG" | tail -1 | grep -o 'bad tcp [0-9]*' | grep -o '[0-9]*$')
csum=$(in_ns nstat -az TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }')
[ "${rx_bad:-0}" -gt 0 ] && [ "${tx_bad:-0}" -gt 0 ] && [ "${tx_dup:-0}" -gt 0 ] || tap_fail "faults not applied: $line"
[ "${bad_tcp:-0}" -gt 0 ] && [ "$bad_tcp" -le "$rx_bad" ] ||
    tap_fail "server bad tcp $bad_tcp, expected 1..$rx_bad (its corrupted RX frames; ICMP/ARP ones count elsewhere)"
[ "${csum:-0}" -gt 0 ] && [ "$csum" -le "$tx_bad" ] ||
    tap_fail "Linux TcpInCsumErrors ${csum:-none}, expected 1..$tx_bad (the server's corrupted TX frames)"
echo "ok: server dropped $bad_tcp of its $rx_bad corrupted RX frames as bad TCP; Linux counted $csum checksum errors of $tx_bad corrupted TX frames; $tx_dup duplicates"
tap_stop
echo "ok: clean shutdown, every mbuf returned (held TX frames too)"
