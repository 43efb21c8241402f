#!/usr/bin/env bash
# tests/interop/tap/iperf.sh SERVER: ustcp-server's iperf3 and iperf (2) apps on net_tap against
# the real Debian clients in a throw-away namespace.
#  - iperf3 -c: -t 2; -P 4; -R (we send); --bidir; -l 16K; each with -J, parsed with python3:
#    end.sum_sent.bytes > 0 (and sum_received for the receiving side), no "error" key; -O 1;
#    a second client during a test is told the server is busy (ACCESS_DENIED);
#  - iperf 2 -c -t 2 -P 4 -i 1 -e: exits 0, prints a [SUM] bandwidth line, and the bytes it
#    reports are within 2% of the bytes the server counted; iperf -R: the server sends;
#    -d and -r: the server connects back and both directions report bytes;
#    -l 8K; random bytes instead of a header are counted and the server stays up;
#  - a malformed control message (bad cookie, oversized JSON length) closes the connection
#    with a logged reason, and a real test still completes afterwards;
#  - the server stops on SIGTERM with every mbuf back in its pool.
# net_tap moves ~0.1 Mpps here: the tests are short.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
for t in iperf3 iperf python3; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done

# iperf3_check NAME ARGS...: one iperf3 -c run with -J; checks the JSON's sums.
iperf3_check() {
    local name=$1; shift
    in_ns timeout 60 iperf3 -c "$USTCP_IP" -J "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        tap_fail "iperf3 $*: exit $?: $(head -c 600 "$WORK/$name.json") $(cat "$WORK/$name.err")"
    python3 - "$WORK/$name.json" <<'PY' || tap_fail "iperf3 $name: $(head -c 800 "$WORK/$name.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert "error" not in r, r.get("error")
end = r["end"]
sent, recv = end["sum_sent"]["bytes"], end["sum_received"]["bytes"]
assert sent > 0 and recv > 0, (sent, recv)
if "sum_sent_bidir_reverse" in end:
    assert end["sum_sent_bidir_reverse"]["bytes"] > 0 and end["sum_received_bidir_reverse"]["bytes"] > 0
print("  sent %d bytes, received %d bytes, %.1f Mbit/s" % (sent, recv, end["sum_received"]["bits_per_second"] / 1e6))
PY
}

# ---- iperf3 ----
tap_start "$SERVER" --app iperf3
iperf3_check t2 -t 2 && echo "ok: iperf3 -t 2"
iperf3_check p4 -t 2 -P 4 && echo "ok: iperf3 -P 4"
iperf3_check rev -t 2 -R && echo "ok: iperf3 -R"
iperf3_check bidir -t 2 --bidir && echo "ok: iperf3 --bidir"
iperf3_check len -t 1 -l 16K -P 2 -R && echo "ok: iperf3 -l 16K -P 2 -R"
iperf3_check omit -t 1 -O 1 && echo "ok: iperf3 -O 1"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["end"]["streams"]; assert len(s)==4, len(s)' "$WORK/p4.json" ||
    tap_fail "iperf3 -P 4: not 4 streams in the results"

# A second client while a test runs is told ACCESS_DENIED ("the server is busy").
in_ns timeout 60 iperf3 -c "$USTCP_IP" -t 3 >"$WORK/first.out" 2>&1 &
first=$!
# The first test holds the server once its parameters are in (the server logs them).
for _ in $(seq 100); do
    grep -q "iperf3: 1 stream(s), 3 s" "$SERVER_LOG" && break
    sleep 0.1
done
if in_ns timeout 20 iperf3 -c "$USTCP_IP" -t 1 >"$WORK/second.out" 2>&1; then tap_fail "a second test ran alongside the first"; fi
grep -qi "busy" "$WORK/second.out" || tap_fail "second client: expected 'busy', got: $(cat "$WORK/second.out")"
wait "$first" || tap_fail "the first test failed: $(cat "$WORK/first.out")"
grep -q "iperf Done" "$WORK/first.out" || tap_fail "the first test did not finish: $(cat "$WORK/first.out")"
echo "ok: a second iperf3 client is told the server is busy"

# Malformed control input: a cookie with a control character, then a good cookie followed by a
# JSON length of 4 GiB - 1. Each is closed with its reason in the log; nothing crashes.
printf 'bad\001cookie-bad-cookie-bad-cookie-bad-co\0' | in_ns timeout 10 nc -N "$USTCP_IP" 5201 >/dev/null 2>&1
grep -q "iperf3: .*closed: not an iperf3 cookie" "$SERVER_LOG" || tap_fail "bad cookie not logged"
{ printf 'abcdefghijklmnopqrstuvwxyz0123456789\0'; printf '\377\377\377\377'; } |
    in_ns timeout 10 nc -N "$USTCP_IP" 5201 >/dev/null 2>&1
grep -q "iperf3: test ended: JSON length 4294967295" "$SERVER_LOG" || tap_fail "oversized JSON length not logged"
{ printf 'abcdefghijklmnopqrstuvwxyz0123456789\0'; printf '\0\0\0\010{"tcp":1'; } |
    in_ns timeout 10 nc -N "$USTCP_IP" 5201 >/dev/null 2>&1
grep -q "iperf3: test ended: parameters: " "$SERVER_LOG" || tap_fail "malformed parameter JSON not logged"
iperf3_check after -t 1 && echo "ok: malformed control messages closed with a reason, then a test completes"
tap_stop
echo "ok: iperf3 server stopped, every mbuf returned"

# ---- iperf 2 ----
# A fresh namespace (tap_start makes one; the EXIT trap deletes the last).
ip netns del "$NS"
dpdk_forget "$NS"
NS="$NS-2"
tap_start "$SERVER" --app iperf
in_ns timeout 60 iperf -c "$USTCP_IP" -t 2 -P 4 -i 1 -e >"$WORK/iperf2.out" 2>&1 ||
    tap_fail "iperf -c -t 2 -P 4 -i 1 -e: exit $?: $(cat "$WORK/iperf2.out")"
cat "$WORK/iperf2.out"
grep -q '^\[SUM\] 0\.0000-[0-9.]* sec .*bits/sec' "$WORK/iperf2.out" || tap_fail "no [SUM] bandwidth line"
# The client's total in bytes, from its [SUM] line (-f with no option prints adaptive units:
# a second run gives bytes exactly with -y C).
in_ns timeout 60 iperf -c "$USTCP_IP" -t 2 -P 4 -y C >"$WORK/iperf2.csv" 2>&1 || tap_fail "iperf -y C: $(cat "$WORK/iperf2.csv")"
client=$(awk -F, '$6 == "-1" { print $8 }' "$WORK/iperf2.csv" | tail -1)
[ -n "$client" ] || client=$(awk -F, '{ s += $8 } END { print s }' "$WORK/iperf2.csv")
for _ in $(seq 100); do
    [ "$(grep -c 'iperf: \[SUM\]' "$SERVER_LOG" || true)" -ge 2 ] && break
    sleep 0.1
done
server=$(grep 'iperf: \[SUM\]' "$SERVER_LOG" | tail -1 | sed 's/.*(\([0-9]*\) bytes).*/\1/')
[ -n "$server" ] || tap_fail "the server printed no [SUM] line"
python3 -c 'import sys; c, s = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if c > 0 and abs(c - s) <= 0.02 * s + 262144 else 1)' "$client" "$server" ||
    tap_fail "client reported $client bytes, server counted $server"
echo "ok: iperf -t 2 -P 4 -i 1 -e (client $client bytes, server $server bytes)"
in_ns timeout 60 iperf -c "$USTCP_IP" -t 2 -R -e >"$WORK/iperf2r.out" 2>&1 || tap_fail "iperf -R: exit $?: $(cat "$WORK/iperf2r.out")"
grep -q 'sec .*bits/sec' "$WORK/iperf2r.out" || tap_fail "iperf -R: no bandwidth line: $(cat "$WORK/iperf2r.out")"
echo "ok: iperf -R"
# Dual tests: -d (both ways at once) and -r (one way, then the other). The server connects
# back to the client's listener (port 5001 in the namespace); the client prints a bandwidth
# line for each connection, the one it accepted with bytes > 0.
for mode in d r; do
    in_ns timeout 60 iperf -c "$USTCP_IP" -t 2 "-$mode" >"$WORK/iperf2$mode.out" 2>&1 ||
        tap_fail "iperf -$mode: exit $?: $(cat "$WORK/iperf2$mode.out")"
    cat "$WORK/iperf2$mode.out"
    python3 - "$WORK/iperf2$mode.out" <<'PY' || tap_fail "iperf -$mode: not both directions: $(cat "$WORK/iperf2$mode.out")"
import re, sys
out = open(sys.argv[1]).read()
# "[  2] local 10.x port 5001 connected with 198.18.0.2 port 32768": what the server opened.
back = re.findall(r"^\[ *(\d+)\] local \S+ port 5001 connected with", out, re.M)
fwd = re.findall(r"^\[ *(\d+)\] local \S+ port \d+ connected with \S+ port 5001", out, re.M)
sums = {i: float(v) for i, v in re.findall(r"^\[ *(\d+)\] 0\.0000-[0-9.]+ sec +([0-9.]+) \w*Bytes +[0-9.]+ \w*bits/sec", out, re.M)}
assert len(back) == 1 and len(fwd) == 1, (back, fwd)
assert back[0] in sums and fwd[0] in sums and sums[back[0]] > 0 and sums[fwd[0]] > 0, sums
PY
    echo "ok: iperf -$mode: both directions"
done
in_ns timeout 60 iperf -c "$USTCP_IP" -t 1 -l 8K >"$WORK/iperf2l.out" 2>&1 || tap_fail "iperf -l 8K: exit $?: $(cat "$WORK/iperf2l.out")"
grep -q 'sec .*bits/sec' "$WORK/iperf2l.out" || tap_fail "iperf -l 8K: no bandwidth line: $(cat "$WORK/iperf2l.out")"
echo "ok: iperf -l 8K"
# Garbage instead of a header: counted as data, reported, closed; the server stays up.
head -c 100000 /dev/urandom | in_ns timeout 10 nc -N -q 1 "$USTCP_IP" 5001 >/dev/null 2>&1
in_ns timeout 30 iperf -c "$USTCP_IP" -t 1 >"$WORK/iperf2g.out" 2>&1 || tap_fail "iperf after garbage: $(cat "$WORK/iperf2g.out")"
echo "ok: iperf after a connection of random bytes"
grep -q "iperf: \[ *[0-9]*\] 0.0000-1.0000 sec" "$SERVER_LOG" || tap_fail "the server printed no interval line"
tap_stop
echo "ok: iperf server stopped, every mbuf returned"
