#!/usr/bin/env bash
# tests/interop/tap/kill.sh SERVER: ustcp-server (echo, net_tap) stopped while a Linux client
# streams to it.
#  - SIGKILL mid-transfer: the client (a Python socket client that gives up after
#    CLIENT_TIMEOUT seconds without progress) ends within its own timeout plus a margin,
#    whatever it sees (no answer, EHOSTUNREACH, RST); the tap interface goes with the
#    process, the DPDK files the process left behind (hugepage files, runtime directory) are
#    removed, and the namespace can be deleted;
#  - SIGTERM mid-transfer: the server exits 0 with every mbuf back in its pool, and the
#    client sees the connection end, RST or FIN, well before its own timeout.
# Before either signal the client has had STREAM_MIB of its stream echoed back intact.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
PY=/usr/bin/python3
[ -x "$PY" ] || tap_skip "$PY not found"
CLIENT_TIMEOUT=5   # the client's own: seconds without progress before it gives up
MARGIN=5           # what we allow beyond it
STREAM_MIB=4       # echoed and checked before the signal

# The client: sends a pseudo-random stream and reads the echo, both at once (select), and
# checks every echoed byte against what it sent. Prints "streaming" once STREAM_MIB came back,
# then one final word: eof, reset, timeout or error:<errno>; exit 0 for eof/reset, 2 timeout,
# 3 error, 4 a wrong echo.
cat >"$WORK/stream.py" <<'EOF'
import errno, os, select, socket, sys, time
host, port, timeout, mark = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
chunk = os.urandom(1 << 16)
def say(word, rc):
    print(word, "echoed", echoed, flush=True)
    sys.exit(rc)
echoed = sent = 0
try:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setblocking(False)
    last = time.monotonic()
    announced = False
    while True:
        r, w, _ = select.select([s], [s], [], 0.2)
        if r:
            data = s.recv(1 << 16)
            if not data:
                say("eof", 0)
            off = echoed % len(chunk)
            want = (chunk[off:] + chunk * (len(data) // len(chunk) + 1))[:len(data)]
            if data != want:
                say("wrong-echo", 4)
            echoed += len(data)
            last = time.monotonic()
            if not announced and echoed >= mark:
                print("streaming", flush=True)
                announced = True
        if w and sent - echoed < (4 << 20):  # keep at most 4 MiB in flight
            off = sent % len(chunk)
            sent += s.send(chunk[off:])
            last = time.monotonic()
        if time.monotonic() - last > timeout:
            say("timeout", 2)
except (ConnectionResetError, BrokenPipeError):
    say("reset", 0)
except socket.timeout:
    say("timeout", 2)
except OSError as e:
    say("error:" + errno.errorcode.get(e.errno, str(e.errno)), 3)
EOF

CLIENT_PID=
# Both servers' EAL files go too (the namespace in NS at exit is the second one).
trap '[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null; tap_cleanup; dpdk_forget "$NS"' EXIT
# start_client OUT: the client in the namespace, bounded by `timeout` so that a hang is seen
# as exit 124 rather than hanging the test.
start_client() {
    ip netns exec "$NS" timeout $((CLIENT_TIMEOUT + MARGIN + 30)) "$PY" "$WORK/stream.py" "$USTCP_IP" 7 \
        "$CLIENT_TIMEOUT" $((STREAM_MIB << 20)) >"$1" 2>&1 &
    CLIENT_PID=$!
    for _ in $(seq 600); do
        grep -q '^streaming' "$1" && return 0
        kill -0 "$CLIENT_PID" 2>/dev/null || tap_fail "client ended before streaming: $(cat "$1")"
        sleep 0.1
    done
    tap_fail "client did not get $STREAM_MIB MiB echoed in 60 s: $(cat "$1")"
}

# wait_client LIMIT_S: waits for the client until LIMIT_S seconds after SIGNAL_NS (when the
# signal went); sets CLIENT_RC and ELAPSED_MS (signal to client exit).
wait_client() {
    local deadline=$((SIGNAL_NS + $1 * 1000000000)) rc=0
    while kill -0 "$CLIENT_PID" 2>/dev/null && [ "$(date +%s%N)" -lt "$deadline" ]; do sleep 0.05; done
    kill -0 "$CLIENT_PID" 2>/dev/null && tap_fail "client still running $1 s after the signal: a hang"
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    CLIENT_RC=$rc
    ELAPSED_MS=$((($(date +%s%N) - SIGNAL_NS) / 1000000))
}

# ---- SIGKILL ----
tap_start "$SERVER" --app echo --listen 7
start_client "$WORK/kill.out"
SIGNAL_NS=$(date +%s%N)
kill -KILL "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" -eq 137 ] || tap_fail "server exited with $rc after SIGKILL, expected 137"
wait_client $((CLIENT_TIMEOUT + MARGIN))
[ "$CLIENT_RC" -ne 124 ] || tap_fail "client hung until timeout(1) killed it"
result=$(tail -1 "$WORK/kill.out")
case "$result" in
    timeout*|reset*|eof*|error:*) ;;
    *) tap_fail "client after SIGKILL: unexpected '$result' (rc $CLIENT_RC)" ;;
esac
echo "ok: SIGKILL mid-transfer: client ended in ${ELAPSED_MS} ms ($result), its timeout ${CLIENT_TIMEOUT} s"

# The tap interface belonged to the process's file descriptor.
for _ in $(seq 50); do in_ns ip link show "$TAP_IF" >/dev/null 2>&1 || break; sleep 0.1; done
in_ns ip link show "$TAP_IF" >/dev/null 2>&1 && tap_fail "$TAP_IF outlived the SIGKILLed server"
# What EAL leaves behind when it cannot clean up: hugepage files named after the prefix
# and its runtime directory.
dpdk_forget "$NS"
mapfile -t mounts < <(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts)
for m in "${mounts[@]}"; do
    compgen -G "$m/${NS}map_*" >/dev/null && tap_fail "hugepage files of $NS remain in $m"
done
[ -e "/var/run/dpdk/$NS" ] && tap_fail "/var/run/dpdk/$NS remains"
ip netns del "$NS" || tap_fail "ip netns del $NS after SIGKILL"
ip netns list | grep -qw "$NS" && tap_fail "namespace $NS still listed"
echo "ok: SIGKILL cleanup: tap gone, DPDK files removed, namespace deleted"

# ---- SIGTERM, in a fresh namespace ----
NS="ustcp-tap-$$-$RANDOM"
: >"$SERVER_LOG"
tap_start "$SERVER" --app echo --listen 7
start_client "$WORK/term.out"
SIGNAL_NS=$(date +%s%N)
kill -TERM "$SERVER_PID"
for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && tap_fail "server still running 10 s after SIGTERM"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" -eq 0 ] || tap_fail "server exited with $rc after SIGTERM"
grep -q "mbufs still in use after shutdown: 0$" "$SERVER_LOG" || tap_fail "mbufs were not all returned"
# The client must learn of the end from the server (RST or FIN), not from its own timeout.
wait_client $((CLIENT_TIMEOUT + MARGIN))
result=$(tail -1 "$WORK/term.out")
case "$result" in
    reset*|eof*) ;;
    *) tap_fail "client after SIGTERM: '$result' (rc $CLIENT_RC), expected a RST or FIN" ;;
esac
[ "$ELAPSED_MS" -lt $((CLIENT_TIMEOUT * 1000)) ] || tap_fail "client took ${ELAPSED_MS} ms to see the end"
echo "ok: SIGTERM mid-transfer: clean shutdown, every mbuf returned; client saw ${result%% *} in ${ELAPSED_MS} ms"
