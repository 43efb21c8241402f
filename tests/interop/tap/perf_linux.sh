#!/usr/bin/env bash
# tests/interop/tap/perf_linux.sh PERF: ustcp-perf's linux backend against its own --serve twin
# on loopback (no DPDK, no root): rr (depth 8), crr, bulk send, bulk recv, hold, fractional
# seconds; every JSON
# checked by perf_check.py (fields, count > 0, errors 0); then a malformed header is refused
# and the server's summary at SIGTERM counts the connections by mode and the refusal.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PERF" >&2; exit 2; }
PERF=$1
WORK=$(mktemp -d /tmp/ustcp-perf-linux.XXXXXX)
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/server.log" ] && tail -20 "$WORK/server.log" >&2; exit 1; }
check() { /usr/bin/python3 "$(dirname "$0")/perf_check.py" "$@" || fail "$(basename "$1"): $(head -c 1200 "$1")"; }

# A free port: the kernel picks one, we use it.
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PERF" --backend linux --serve "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do
    grep -qs "serving the perf protocol" "$WORK/server.log" && break
    kill -0 "$SRV_PID" 2>/dev/null || fail "the server exited at start"
    sleep 0.1
done
run() {
    local name=$1; shift
    timeout 60 "$PERF" --backend linux --connect "127.0.0.1:$PORT" --duration 2 --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.out" 2>&1 || fail "$name: exit $?: $(tail -20 "$WORK/$name.out")"
    grep -q '^\[ 2.0s\]' "$WORK/$name.out" || fail "$name: no interval lines: $(cat "$WORK/$name.out")"
}
run rr --mode rr --conns 4 --depth 8 --req-size 32 --resp-size 4096 && check "$WORK/rr.json" requests depth=8 resp_size=4096
run crr --mode crr --conns 4 && check "$WORK/crr.json" requests
run bulk --mode bulk --conns 2 && check "$WORK/bulk.json" bytes_sent
run bulkr --mode bulk --direction recv --conns 2 && check "$WORK/bulkr.json" bytes_received
run hold --mode hold --conns 50 && check "$WORK/hold.json" established_max established_max=50
# Fractional seconds (as bench/harness.py passes them): 2.5 s in 0.5 s intervals after 0.5 s of warm-up.
run frac --mode rr --duration 2.5 --warmup 0.5 --interval 0.5 && check "$WORK/frac.json" requests
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["intervals"]) == 5 and abs(d["measured_s"] - 2.5) < 1e-6 and d["warmup_s"] == 0.5, d' \
    "$WORK/frac.json" || fail "fractional seconds: $(head -c 600 "$WORK/frac.json")"
# Malformed: 16 bytes that are not a header.
printf 'XXXXXXXXXXXXXXXX' | timeout 10 nc -N 127.0.0.1 "$PORT" >/dev/null 2>&1
for _ in $(seq 50); do grep -q "refused: bad_magic" "$WORK/server.log" && break; sleep 0.1; done
grep -q "refused: bad_magic" "$WORK/server.log" || fail "the bad header was not logged"
kill -TERM "$SRV_PID"
wait "$SRV_PID" || fail "the server exited with $?"
SRV_PID=
grep -Eq "served [0-9]+ connection\(s\) \(bulk 4, rr 5, crr [1-9][0-9]*, hold 50\), [1-9][0-9]* request\(s\), .* 1 refused" \
    "$WORK/server.log" || fail "server summary: $(tail -1 "$WORK/server.log")"
echo "ok: linux backend against its --serve twin: rr, crr, bulk both ways, hold; a bad header refused"
