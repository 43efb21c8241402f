#!/usr/bin/env bash
# tests/interop/tap/iperf3_lcores.sh SERVER: ustcp-server --app iperf3 with 2 worker lcores on net_tap
# (2 queues, software steering) against the real iperf3 client, and its idle timeout.
#  - iperf3 -c -J: -P 4, -P 4 -R, -P 2 --bidir: no "error" key; as many streams in the results as
#    asked; the bytes the server reported (the client's sum_received for -P 4, sum_sent with -R)
#    equal the sum of the per-stream figures and the total the server logged, and are within 20%
#    of what the other side counted (the rest was in flight at TEST_END); stream by stream, the
#    receiver counted no more than the sender, and the server's stream ids are the client's
#    (its connect order, matched by port with the server's log);
#  - the server's log says each stream's lcore: over the runs, streams were served on both lcores,
#    and some on another lcore than their test's control connection;
#  - app.iperf3_idle_timeout 2s: a connection that sends nothing, a control connection that sends
#    its cookie and nothing more, and one silent after its parameters (the test waiting for its
#    streams) are each closed by the server with the reason logged; then a real test runs (the
#    registry entry was freed);
#  - SIGTERM: exit 0, every mbuf back.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
for t in iperf3 python3; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done

TAP_EAL_LCORES=0-1 tap_start "$SERVER" --app iperf3 --lcores 0-1 --app.iperf3_idle_timeout 2s
grep -q "2 worker lcore(s)" "$SERVER_LOG" && grep -q "steering on" "$SERVER_LOG" || tap_fail "not 2 workers with steering"

# run NAME ARGS...: iperf3 -c -J; then the server's "test done" line for it (waited for).
run() {
    local name=$1; shift
    local before
    before=$(grep -c "iperf3: test done" "$SERVER_LOG" || true)
    in_ns timeout 60 iperf3 -c "$USTCP_IP" -J "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        tap_fail "iperf3 $*: exit $?: $(head -c 600 "$WORK/$name.json") $(cat "$WORK/$name.err")"
    for _ in $(seq 100); do
        [ "$(grep -c "iperf3: test done" "$SERVER_LOG" || true)" -gt "$before" ] && break
        sleep 0.1
    done
    grep "iperf3: test done" "$SERVER_LOG" | tail -1 >"$WORK/$name.server" || tap_fail "iperf3 $*: no 'test done' line"
}

# check NAME STREAMS: the JSON against the server's line.
check() {
    python3 - "$WORK/$1.json" "$WORK/$1.server" "$2" "$SERVER_LOG" <<'PY' || tap_fail "iperf3 $1: $(head -c 1500 "$WORK/$1.json") / $(cat "$WORK/$1.server")"
import json, re, sys
r = json.load(open(sys.argv[1]))
line = open(sys.argv[2]).read()
want = int(sys.argv[3])
assert "error" not in r, r.get("error")
end = r["end"]
assert len(end["streams"]) == want, (len(end["streams"]), want)
m = re.search(r"test done: (\d+) stream\(s\) on lcore\(s\) [0-9,]+, (\d+) bytes received, (\d+) bytes sent", line)
assert m, line
assert int(m.group(1)) == want, line
srv_in, srv_out = int(m.group(2)), int(m.group(3))
reverse = r["start"]["test_start"]["reverse"] == 1
bidir = "sum_sent_bidir_reverse" in end
def per_stream(key):
    return sum(s[key]["bytes"] for s in end["streams"])
if bidir:
    # Client to us: the client's sum_received is what we reported; us to client: sum_sent_bidir_reverse.
    got_in, sent_in = end["sum_received"]["bytes"], end["sum_sent"]["bytes"]
    got_out, recv_out = end["sum_sent_bidir_reverse"]["bytes"], end["sum_received_bidir_reverse"]["bytes"]
    assert got_in == srv_in and got_out == srv_out, (got_in, srv_in, got_out, srv_out)
    pairs = [(sent_in, got_in), (got_out, recv_out)]
elif reverse:
    # We send: the client's sum_sent is our report, sum_received its own count.
    assert end["sum_sent"]["bytes"] == srv_out and srv_in == 0, (end["sum_sent"], srv_out, srv_in)
    assert per_stream("sender") == srv_out, (per_stream("sender"), srv_out)
    pairs = [(srv_out, end["sum_received"]["bytes"])]
else:
    assert end["sum_received"]["bytes"] == srv_in and srv_out == 0, (end["sum_received"], srv_in, srv_out)
    assert per_stream("receiver") == srv_in, (per_stream("receiver"), srv_in)
    pairs = [(end["sum_sent"]["bytes"], srv_in)]
for sent, recv in pairs:
    assert sent > 0 and 0.8 * sent <= recv <= sent, (sent, recv)
# Stream by stream (the ids the server gave match the client's): the receiving side never
# counted more than the sending side.
for st in end["streams"]:
    assert st["receiver"]["bytes"] <= st["sender"]["bytes"], ("stream", st["sender"]["socket"], st)
# The ids: the client numbers its streams 1, 3, 4, ... in the order it connected them (the
# order of start.connected); the server logged "stream ID from 198.18.0.1:PORT" for each.
ids = {int(p): int(i) for i, p in re.findall(r"iperf3: stream (\d+) from [0-9.]+:(\d+) on lcore", open(sys.argv[4]).read())}
for k, c in enumerate(r["start"]["connected"]):
    want_id = 1 if k == 0 else k + 2
    assert ids.get(c["local_port"]) == want_id, ("port", c["local_port"], "client id", want_id, "server id", ids.get(c["local_port"]))
print("  %s: %s" % (sys.argv[1].rsplit("/", 1)[1], line.split("test done: ")[1].strip()))
PY
}

run p4 -t 2 -P 4 && check p4 4 && echo "ok: iperf3 -P 4 on 2 lcores"
run p4r -t 2 -P 4 -R && check p4r 4 && echo "ok: iperf3 -P 4 -R on 2 lcores"
run bidir -t 2 -P 2 --bidir && check bidir 4 && echo "ok: iperf3 -P 2 --bidir on 2 lcores"
run p8 -t 1 -P 8 && check p8 8 && echo "ok: iperf3 -P 8 on 2 lcores"

# Where the streams were: "stream ID from A:P on lcore L (control on lcore C)".
python3 - "$SERVER_LOG" <<'PY' || tap_fail "the streams did not use both lcores"
import re, sys
s = re.findall(r"iperf3: stream \d+ from \S+ on lcore (\d+) \(control on lcore (\d+)\)", open(sys.argv[1]).read())
assert len(s) == 4 + 4 + 4 + 8, len(s)
assert {l for l, _ in s} == {"0", "1"}, s
assert any(l != c for l, c in s), s
print("  %d streams: %d on lcore 0, %d on lcore 1, %d on another lcore than their control" %
      (len(s), sum(l == "0" for l, _ in s), sum(l == "1" for l, _ in s), sum(l != c for l, c in s)))
PY
echo "ok: streams served on both lcores, across lcores from their control connection"

# ---- app.iperf3_idle_timeout (2 s) ----
# nc -d: reads nothing from stdin and sends nothing; it exits when the server closes.
in_ns timeout 20 nc -d "$USTCP_IP" 5201 >/dev/null 2>&1
rc=$?
[ "$rc" -ne 124 ] || tap_fail "a silent connection was not closed by the server"
grep -q "iperf3: .*: closed: no cookie in [0-9.]* s (app.iperf3_idle_timeout 2.0 s)" "$SERVER_LOG" ||
    tap_fail "silent connection: no reason logged"
echo "ok: a connection without a cookie is closed after the idle timeout"
# A cookie and nothing more: the test waits for its parameters. nc without -N keeps the
# connection open after its input ends, until the server closes it.
printf 'idle0idle0idle0idle0idle0idle0idle01\0' | in_ns timeout 20 nc "$USTCP_IP" 5201 >/dev/null 2>&1
rc=$?
[ "$rc" -ne 124 ] || tap_fail "a silent control connection was not closed by the server"
grep -q "iperf3: test ended: idle: no control message for [0-9.]* s (app.iperf3_idle_timeout 2.0 s)" "$SERVER_LOG" ||
    tap_fail "silent control connection: no reason logged"
echo "ok: a control connection silent after its cookie ends its test after the idle timeout"
# Cookie and parameters (2 streams), then silence: the test waits for streams that never come.
before=$(grep -c "iperf3: test ended: idle" "$SERVER_LOG")
{ printf 'idle1idle1idle1idle1idle1idle1idle11\0'; printf '\0\0\0\055{"tcp":true,"time":1,"parallel":2,"len":1024}'; } |
    in_ns timeout 20 nc "$USTCP_IP" 5201 >/dev/null 2>&1
rc=$?
[ "$rc" -ne 124 ] || tap_fail "a test waiting for its streams was not ended"
grep -q "iperf3: 2 stream(s), 1 s, blocks of 1024 bytes" "$SERVER_LOG" || tap_fail "the parameters were not taken"
[ "$(grep -c "iperf3: test ended: idle" "$SERVER_LOG")" -gt "$before" ] || tap_fail "waiting for streams: no idle reason logged"
echo "ok: a test waiting for its streams ends after the idle timeout"
# The entries are gone: a real test runs.
run after -t 1 -P 2 && check after 2 && echo "ok: a test runs after the idle ones were ended"
tap_stop
grep -q "ended early (1 idle)\|ended early ([0-9]* idle)" "$SERVER_LOG" || tap_fail "no idle count in the final report"
echo "ok: iperf3 server on 2 lcores stopped, every mbuf returned"
