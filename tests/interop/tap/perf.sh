#!/usr/bin/env bash
# tests/interop/tap/perf.sh SERVER PERF: ustcp-perf in a throw-away namespace, on net_tap.
#  1. ustcp-server --app perf, driven by ustcp-perf --backend linux from the kernel side: rr
#     (depth 4), crr, rr with --busy-poll, bulk send and bulk recv; a malformed header is
#     refused with its reason; hold (every connection established), --src-range (3 local
#     addresses in use);
#     ustcp-server --app http: keep-alive, --http-close, a 404 path counted as non-2xx;
#  2. ustcp-perf on ustcp (net_tap) against its Linux twin `ustcp-perf --backend linux --serve`:
#     rr, crr, bulk send, bulk recv, rr on 2 worker lcores (http on ustcp: perf_memif.sh);
#  3. ustcp-perf --mode iperf on ustcp against the real `iperf -s` (2.1.8): both report the same
#     byte count, and ustcp-perf prints iperf's interval and summary lines.
# Each run: the JSON parses with its fields, the count of the mode (requests, connections or
# bytes) is > 0, errors are 0. Root and /dev/net/tun, else 77.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 SERVER PERF" >&2; exit 2; }
SERVER=$1
PERF=$2
for t in python3 iperf; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done

# json_check FILE KEY [KEY=VALUE...]: perf_check.py (every documented field, errors 0, KEY > 0).
json_check() {
    /usr/bin/python3 "$(dirname "$0")/perf_check.py" "$@" || tap_fail "$(basename "$1"): $(head -c 1500 "$1" 2>/dev/null)"
}

# ---- 1: ustcp-server --app perf against the linux backend ----
tap_start "$SERVER" --app perf
linux_run() {
    local name=$1; shift
    in_ns timeout 60 "$PERF" --backend linux --connect "$USTCP_IP:5555" --duration 2 --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.out" 2>&1 || tap_fail "ustcp-perf --backend linux $*: exit $?: $(tail -20 "$WORK/$name.out")"
    grep -q '^\[ 1.0s\]' "$WORK/$name.out" || tap_fail "$name: no interval line: $(cat "$WORK/$name.out")"
    grep -q '^summary: ' "$WORK/$name.out" || tap_fail "$name: no summary"
}
linux_run l-rr --mode rr --conns 4 --depth 4 --req-size 100 --resp-size 1000 && json_check "$WORK/l-rr.json" requests
linux_run l-crr --mode crr --conns 4 && json_check "$WORK/l-crr.json" requests
linux_run l-busy --mode rr --conns 2 --busy-poll 50 && json_check "$WORK/l-busy.json" requests
grep -q "busy polling" "$WORK/l-busy.out" || tap_fail "--busy-poll: not busy polling"
linux_run l-bulk --mode bulk --conns 2 && json_check "$WORK/l-bulk.json" bytes_sent
linux_run l-bulkr --mode bulk --direction recv --conns 2 && json_check "$WORK/l-bulkr.json" bytes_received
echo "ok: ustcp-server --app perf: rr, crr, bulk send and recv from the linux backend"
# A malformed header: refused with its reason, counted, and the server keeps serving.
printf 'GET / HTTP/1.0\r\n\r\n' | in_ns timeout 10 nc -N "$USTCP_IP" 5555 >/dev/null 2>&1
for _ in $(seq 50); do grep -q "perf: .*refused: bad_magic" "$SERVER_LOG" && break; sleep 0.1; done
grep -q "perf: .*refused: bad_magic" "$SERVER_LOG" || tap_fail "a bad header was not logged"
linux_run l-after --mode rr --conns 1 && json_check "$WORK/l-after.json" requests
tap_stats
grep -q "^perf: accepted .* refused 1 bad_magic 1" "$SERVER_LOG" || tap_fail "the stats do not count the bad header"
echo "ok: a malformed header is refused (bad_magic), counted, and the server still serves"
linux_run l-hold --mode hold --conns 20 && json_check "$WORK/l-hold.json" established_max established_max=20
grep -q '^\[ 1.0s\] 20 established' "$WORK/l-hold.out" || tap_fail "hold: $(cat "$WORK/l-hold.out")"
echo "ok: hold: 20 connections established"
# --src-range: three more kernel addresses; the held connections use all three.
for a in 11 12 13; do in_ns ip addr add "198.18.0.$a/24" dev "$TAP_IF"; done
in_ns timeout 60 "$PERF" --backend linux --connect "$USTCP_IP:5555" --mode hold --conns 6 --duration 3 \
    --src-range 198.18.0.11-198.18.0.13 --json "$WORK/l-src.json" >"$WORK/l-src.out" 2>&1 &
src_pid=$!
for _ in $(seq 100); do
    [ "$(in_ns ss -Htn state established "dst $USTCP_IP:5555" | wc -l)" -ge 6 ] && break
    sleep 0.1
done
used=$(in_ns ss -Htn state established "dst $USTCP_IP:5555" | awk '{ split($3, a, ":"); print a[1] }' | sort -u | tr '\n' ' ')
wait "$src_pid" || tap_fail "--src-range run failed: $(cat "$WORK/l-src.out")"
[ "$used" = "198.18.0.11 198.18.0.12 198.18.0.13 " ] || tap_fail "--src-range: local addresses in use: '$used'"
json_check "$WORK/l-src.json" established_max established_max=6
echo "ok: --src-range spreads 6 connections over 198.18.0.11-13"
tap_stop

# ---- 1b: the linux backend's http mode against ustcp-server --app http ----
ip netns del "$NS"
tap_start "$SERVER" --app http
linux_run h-ka --mode http --connect "$USTCP_IP:80" --conns 4 && json_check "$WORK/h-ka.json" http_2xx http_non_2xx=0
linux_run h-close --mode http --http-close --connect "$USTCP_IP:80" --conns 2 &&
    json_check "$WORK/h-close.json" http_2xx http_non_2xx=0
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["connects"] >= d["requests"] > 1, d' \
    "$WORK/h-close.json" || tap_fail "--http-close: not a connection per request"
linux_run h-404 --mode http --http-path /nothing-here --connect "$USTCP_IP:80" && json_check "$WORK/h-404.json" http_non_2xx http_2xx=0
tap_stop
echo "ok: http: keep-alive and --http-close get 2xx only, a missing path counts as non-2xx"

# ---- 2: the ustcp backend against the linux --serve twin ----
# ustcp_run NAME [flags]: ustcp-perf on net_tap against the Linux server LINUX_SERVER (a sh -c
# script: $0 is ustcp-perf, $1 the kernel's address; default the --serve twin on port 5555).
LINUX_SERVER='exec "$0" --backend linux --serve "$1:5555"'
ustcp_run() {
    local name=$1; shift
    ip netns list | grep -q "^$NS\b" && ip netns del "$NS"
    client_start "$PERF" sh -c "$LINUX_SERVER" "$PERF" -- --duration 2 --json "$WORK/$name.json" "$@"
    client_wait 60 || tap_fail "ustcp-perf (ustcp) $*: failed"
    grep -q '^\[ 1.0s\]' "$CLIENT_LOG" || tap_fail "$name: no interval line: $(tail -30 "$CLIENT_LOG")"
    grep -q "mbufs still in use after shutdown: 0$" "$CLIENT_LOG" || tap_fail "$name: mbufs not all returned"
    kill -TERM "$LINUX_SRV_PID"
    wait "$LINUX_SRV_PID" 2>/dev/null
    LINUX_SRV_PID=
    dpdk_forget "$NS-c"
}
# client_start's EXIT trap (tap_client_cleanup) removes the namespace at the end.
P="--connect $LINUX_IP:5555"
# shellcheck disable=SC2086
{
ustcp_run u-rr --mode rr --conns 4 --depth 2 $P && json_check "$WORK/u-rr.json" requests
grep -q "served [1-9]" "$WORK/linux-server.log" || tap_fail "the linux server served nothing: $(cat "$WORK/linux-server.log")"
ustcp_run u-crr --mode crr --conns 2 $P && json_check "$WORK/u-crr.json" requests
ustcp_run u-bulk --mode bulk --conns 2 $P && json_check "$WORK/u-bulk.json" bytes_sent
ustcp_run u-bulkr --mode bulk --direction recv --conns 2 $P && json_check "$WORK/u-bulkr.json" bytes_received
TAP_EAL_LCORES=0-1 ustcp_run u-rr2 --mode rr --conns 4 --lcores 0-1 $P && json_check "$WORK/u-rr2.json" requests
}
grep -q "over 2 worker lcore(s)" "$CLIENT_LOG" || tap_fail "not 2 worker lcores: $(head -20 "$CLIENT_LOG")"
echo "ok: ustcp-perf on ustcp: rr, crr, bulk send and recv, rr on 2 lcores, against the linux --serve twin"

# ---- 3: iperf mode against the real iperf -s ----
ip netns del "$NS"
client_start "$PERF" sh -c 'exec iperf -s -B "$0" -y C' -- --mode iperf --connect "$LINUX_IP:5001" --duration 2 \
    --json "$WORK/iperf.json"
client_wait 60 || tap_fail "ustcp-perf --mode iperf failed"
json_check "$WORK/iperf.json" bytes_sent
# iperf -s prints its CSV line when the connection ends: field 8 is the bytes it received.
for _ in $(seq 100); do grep -q ',' "$WORK/linux-server.log" && break; sleep 0.1; done
kill -INT "$LINUX_SRV_PID" 2>/dev/null
wait "$LINUX_SRV_PID" 2>/dev/null
LINUX_SRV_PID=
theirs=$(grep ',' "$WORK/linux-server.log" | head -1 | cut -d, -f8)
ours=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_sent"])' "$WORK/iperf.json")
[ -n "$theirs" ] && [ "$theirs" -gt 0 ] || tap_fail "iperf -s reported no bytes: $(cat "$WORK/linux-server.log")"
[ "$theirs" = "$ours" ] || tap_fail "iperf -s received $theirs bytes, ustcp-perf sent $ours"
grep -q "^\[  1\] 0.0000-1.0000 sec .* Mbits/sec ([0-9]* bytes)" "$CLIENT_LOG" || tap_fail "no iperf-style interval line"
grep -q "^\[  1\] 0.0000-2.0000 sec .* ($ours bytes)" "$CLIENT_LOG" || tap_fail "no iperf-style summary line of $ours bytes"
echo "ok: iperf mode: iperf -s received exactly the $ours bytes ustcp-perf sent"
