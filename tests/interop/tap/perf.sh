#!/usr/bin/env bash
# tests/interop/tap/perf.sh SERVER PERF: ustcp-perf in a throw-away namespace, on net_tap.
#  1. ustcp-server --app perf, driven by ustcp-perf --backend linux from the kernel side: rr
#     (depth 4), crr, bulk send and bulk recv; a malformed header is refused with its reason;
#  2. ustcp-perf on ustcp (net_tap) against its Linux twin `ustcp-perf --backend linux --serve`:
#     rr, crr, bulk send, bulk recv;
#  3. ustcp-perf --mode iperf on ustcp against the real `iperf -s` (2.1.8): both report the same
#     byte count.
# Each run: the JSON parses with its fields, the count of the mode (requests, connections or
# bytes) is > 0, errors are 0. Root and /dev/net/tun, else 77.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 SERVER PERF" >&2; exit 2; }
SERVER=$1
PERF=$2
for t in python3 iperf; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done

# json_check FILE KEY: the JSON has every documented field, errors == 0 and KEY > 0.
json_check() {
    python3 - "$1" "$2" <<'PY' || tap_fail "$(basename "$1"): $(cat "$1" 2>/dev/null | head -c 1500)"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("mode", "backend", "conns", "duration_s", "measured_s", "requests", "requests_per_s", "connects",
          "bytes_sent", "bytes_received", "gbit_per_s", "errors", "latency_ns", "intervals"):
    assert k in d, "missing " + k
for k in ("count", "min", "mean", "p50", "p90", "p99", "p99_9", "max"):
    assert k in d["latency_ns"], "missing latency_ns." + k
assert d["errors"] == 0, "errors %d" % d["errors"]
assert d[sys.argv[2]] > 0, "%s is %r" % (sys.argv[2], d[sys.argv[2]])
assert len(d["intervals"]) >= 1
if d["mode"] in ("rr", "crr"):
    assert d["latency_ns"]["count"] == d["requests"] and d["latency_ns"]["p50"] > 0
print("  %s %s: requests %d, connects %d, bytes %d/%d, %.3f Gbit/s, p99 %d ns" % (d["backend"], d["mode"],
      d["requests"], d["connects"], d["bytes_sent"], d["bytes_received"], d["gbit_per_s"], d["latency_ns"]["p99"]))
PY
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
tap_stop
echo "ok: a malformed header is refused (bad_magic), counted, and the server still serves"

# ---- 2: the ustcp backend against the linux --serve twin ----
ustcp_run() {
    local name=$1; shift
    client_start "$PERF" sh -c 'exec "$0" --backend linux --serve "$1:5555"' "$PERF" -- \
        --connect "$LINUX_IP:5555" --duration 2 --json "$WORK/$name.json" "$@"
    client_wait 60 || tap_fail "ustcp-perf (ustcp) $*: failed"
    grep -q '^\[ 1.0s\]' "$CLIENT_LOG" || tap_fail "$name: no interval line: $(tail -30 "$CLIENT_LOG")"
    grep -q "mbufs still in use after shutdown: 0$" "$CLIENT_LOG" || tap_fail "$name: mbufs not all returned"
    kill -TERM "$LINUX_SRV_PID"
    wait "$LINUX_SRV_PID" 2>/dev/null
    LINUX_SRV_PID=
    grep -q "served [1-9]" "$WORK/linux-server.log" || tap_fail "$name: the linux server served nothing: $(cat "$WORK/linux-server.log")"
    ip netns del "$NS"
    dpdk_forget "$NS-c"
}
# client_start's EXIT trap (tap_client_cleanup) removes the namespace at the end.
ustcp_run u-rr --mode rr --conns 4 --depth 2 && json_check "$WORK/u-rr.json" requests
ustcp_run u-crr --mode crr --conns 2 && json_check "$WORK/u-crr.json" requests
ustcp_run u-bulk --mode bulk --conns 2 && json_check "$WORK/u-bulk.json" bytes_sent
ustcp_run u-bulkr --mode bulk --direction recv --conns 2 && json_check "$WORK/u-bulkr.json" bytes_received
echo "ok: ustcp-perf on ustcp: rr, crr, bulk send and recv against the linux --serve twin"

# ---- 3: iperf mode against the real iperf -s ----
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
ours=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_sent"])' "$WORK/iperf.json")
[ -n "$theirs" ] && [ "$theirs" -gt 0 ] || tap_fail "iperf -s reported no bytes: $(cat "$WORK/linux-server.log")"
[ "$theirs" = "$ours" ] || tap_fail "iperf -s received $theirs bytes, ustcp-perf sent $ours"
echo "ok: iperf mode: iperf -s received exactly the $ours bytes ustcp-perf sent"
