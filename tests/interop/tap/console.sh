#!/usr/bin/env bash
# tests/interop/tap/console.sh SERVER [main-worker]: ustcp-server's interactive console (`-- -i`)
# on a pseudo-terminal, on net_tap against the Linux kernel, with one worker lcore (1) beside the
# main lcore (0), which runs the console; with `main-worker`, two workers (lcores 0 and 1, software
# steering), the main lcore one of them, and the console on a thread of its own:
#  - the prompt, `help`, `show stats`, `show port stats`;
#  - three nc connections held open are listed by `show conn` (ESTABLISHED, their ports, a cwnd
#    of at least one MSS, retransmits counted, the lcore that serves them), `show conn state
#    ESTABLISHED` and `show conn port P`;
#  - `show config` holds the address; `trace on` prints tcpdump lines of a new connection's
#    frames both ways, `trace off` stops them;
#  - after `clear stats`, `show stats` counts zero TCP segments;
#  - `quit` stops the server gracefully: exit 0, every mbuf back.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
VARIANT=${2:-}
[ -x /usr/bin/python3 ] || tap_skip "/usr/bin/python3 not found"
command -v ss >/dev/null || tap_skip "'ss' not found"

if [ "$VARIANT" = main-worker ]; then
    TAP_EAL_LCORES=0-1 console_start "$SERVER" --app echo --listen 7 --lcores 0-1
    WORKERS="0 1"
else
    TAP_EAL_LCORES=0-1 console_start "$SERVER" --app echo --listen 7 --lcores 1
    WORKERS="1"
fi
echo "ok: prompt (workers: $WORKERS)"

console_cmd help 'show conn \[state S\] \[port P\]'
for c in 'show port stats' 'show stats' 'show config' 'trace on\|off' 'clear stats' quit; do
    grep -aqE "$c" "$WORK/console.out" || tap_fail "help does not list '$c'"
done
echo "ok: help"
console_cmd 'show stats' 'total: connections 0'
for w in $WORKERS; do
    grep -aq "^lcore $w: connections 0" "$WORK/console.out" || tap_fail "show stats: no lcore $w block"
done
grep -aq 'tcp: segs_in' "$WORK/console.out" || tap_fail "show stats: no tcp counters"
grep -aq 'states: CLOSED' "$WORK/console.out" || tap_fail "show stats: no connections by state"
echo "ok: show stats"
first=${WORKERS%% *}
console_cmd 'show port stats' "queue 0 \\(lcore $first\\): rx [0-9]+ frames"
[ "$VARIANT" != main-worker ] || grep -aqE 'queue 1 \(lcore 1\): rx [0-9]+ frames' "$WORK/console.out" ||
    tap_fail "show port stats: no queue 1"
grep -aqE '^port .*\(ethdev 0\): rx [1-9][0-9]* frames' "$WORK/console.out" || tap_fail "show port stats: no port line"
echo "ok: show port stats"

# Three connections held open: each echoes a line (so it is established), then waits on its FIFO.
pids=()
fds=()
for i in 1 2 3; do
    mkfifo "$WORK/hold$i"
    in_ns nc -N "$USTCP_IP" 7 <"$WORK/hold$i" >"$WORK/hold$i.out" &
    pids+=($!)
    exec {fd}>"$WORK/hold$i"
    fds+=("$fd")
    echo "held $i" >&"$fd"
done
for i in 1 2 3; do
    for _ in $(seq 100); do grep -q "held $i" "$WORK/hold$i.out" && break; sleep 0.1; done
    grep -q "held $i" "$WORK/hold$i.out" || tap_fail "held connection $i: no echo"
done
mapfile -t ports < <(in_ns ss -Htn state established "dst $USTCP_IP" | awk '{ n = split($3, a, ":"); print a[n] }')
[ "${#ports[@]}" -eq 3 ] || tap_fail "ss shows ${#ports[@]} connections: ${ports[*]}"
console_cmd 'show conn' '3 connection\(s\)'
grep -aqE '^State +Local +Peer +Send-Q +Recv-Q +SRTT\(us\) +Cwnd +Retrans +RetransB +lcore$' "$WORK/console.out" ||
    tap_fail "show conn: header"
for p in "${ports[@]}"; do
    grep -aqE "^ESTABLISHED +$USTCP_IP:7 +$LINUX_IP:$p " "$WORK/console.out" || tap_fail "show conn lacks port $p"
done
# Each row: Send-Q Recv-Q SRTT Cwnd Retrans RetransB lcore, numbers; cwnd at least one MSS (our
# initial window is more), nothing resent on a quiet link, the lcore a worker.
python3 - "$WORK/console.out" "$WORKERS" <<'PY' || tap_fail "show conn rows: $(cat "$WORK/console.out")"
import sys
rows = [l.split() for l in open(sys.argv[1], errors="replace") if l.startswith("ESTABLISHED")]
workers = sys.argv[2].split()
assert len(rows) == 3, rows
for r in rows:
    assert len(r) == 10, r
    sq, rq, srtt, cwnd, rtx, rtxb, lcore = (int(x) for x in r[3:])
    assert cwnd >= 536, r
    assert rtx == 0 and rtxb == 0, r
    assert str(lcore) in workers, r
PY
console_cmd 'show conn state ESTABLISHED' '3 connection\(s\)'
console_cmd 'show conn state SYN-SENT' '0 connection\(s\)'
console_cmd "show conn port ${ports[0]}" '1 connection\(s\)'
grep -aqE "$LINUX_IP:${ports[0]} " "$WORK/console.out" || tap_fail "show conn port: wrong connection"
echo "ok: show conn (${ports[*]})"

console_cmd 'show config' "ip = \"$USTCP_IP/24\""
echo "ok: show config"

# trace: a new connection's SYN in and SYN-ACK out, as tcpdump prints them.
from=$(stat -c %s "$SERVER_LOG")
console_cmd 'trace on' 'trace on'
got=$(echo traced | in_ns timeout 10 nc -N "$USTCP_IP" 7) || tap_fail "nc during trace"
[ "$got" = traced ] || tap_fail "echo during trace: '$got'"
console_wait "$from" "in  IP $LINUX_IP\.[0-9]+ > $USTCP_IP\.7: Flags \[S\], seq [0-9]+" ||
    tap_fail "trace: no SYN line (got: $(cat "$WORK/console.out"))"
console_wait "$from" "out IP $USTCP_IP\.7 > $LINUX_IP\.[0-9]+: Flags \[S\.\], seq [0-9]+, ack [0-9]+" ||
    tap_fail "trace: no SYN-ACK line"
console_wait "$from" "out IP $USTCP_IP\.7 > $LINUX_IP\.[0-9]+: Flags \[F\.\]" || tap_fail "trace: no FIN line"
console_cmd 'trace off' 'trace off'
from=$(stat -c %s "$SERVER_LOG")
echo untraced | in_ns timeout 10 nc -N "$USTCP_IP" 7 >/dev/null || tap_fail "nc after trace off"
console_cmd 'show conn state TIME-WAIT' 'connection\(s\)'
tail -c +$((from + 1)) "$SERVER_LOG" | grep -aq 'Flags \[' && tap_fail "trace off: still tracing"
echo "ok: trace on/off"

console_cmd 'clear stats' 'stats cleared'
console_cmd 'show stats' 'total: connections'
grep -aqE '^  tcp: segs_in 0 segs_out 0 ' "$WORK/console.out" || tap_fail "show stats after clear: segments counted"
grep -aqE '^  port: rx_frames [0-9]+ rx_bytes' "$WORK/console.out" || tap_fail "show stats after clear: no port line"
console_cmd 'show port stats' 'queue 0'
echo "ok: clear stats"

# The held connections close (nc -N sends its FIN at the end of its input), then quit.
for fd in "${fds[@]}"; do exec {fd}>&-; done
wait "${pids[@]}"  # not a bare wait: the server is a background job too
from=$(stat -c %s "$SERVER_LOG")
printf 'quit\n' >"$CONSOLE_IN"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" -eq 0 ] || tap_fail "ustcp-server exited with $rc after quit"
grep -aq "mbufs still in use after shutdown: 0" "$SERVER_LOG" || tap_fail "mbufs were not all returned"
echo "ok: quit"
