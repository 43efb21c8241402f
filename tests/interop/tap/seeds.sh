#!/usr/bin/env bash
# tests/interop/tap/seeds.sh SERVER: the seed servers (/work/shared/seeds 000 and 002).
#  - welcome (port 20000): nc receives "welcome to our server. timestamp on server: <ctime>" and
#    the server's FIN (nc returns by itself); the server logs the client; 20 clients in a row;
#  - print (port 8000): a client sends three messages and closes: each is logged as
#    "Message from client=[...]" and the close is logged; a second client sends one message and
#    aborts with RST (SO_LINGER 0): the abort is logged and the connection freed;
#  - each server stops on SIGTERM with every mbuf back in its pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
PY=/usr/bin/python3
[ -x "$PY" ] || tap_skip "$PY not found"

# wait_log PATTERN: polls the server log for an extended regex, 10 s at most.
wait_log() {
    for _ in $(seq 100); do
        grep -Eq "$1" "$SERVER_LOG" && return 0
        sleep 0.1
    done
    tap_fail "server log lacks /$1/"
}

# ---- welcome ----
tap_start "$SERVER" --app welcome
for i in $(seq 20); do
    in_ns timeout 10 nc -d "$USTCP_IP" 20000 </dev/null >"$WORK/w" || tap_fail "welcome client $i: nc failed or no FIN"
    grep -Eq '^welcome to our server\. timestamp on server: [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$' "$WORK/w" ||
        tap_fail "welcome client $i got: $(cat "$WORK/w")"
    [ "$(wc -l <"$WORK/w")" -eq 1 ] || tap_fail "welcome: not one line: $(cat "$WORK/w")"
done
echo "ok: welcome: 20 clients got '$(cat "$WORK/w")' and a FIN"
wait_log "welcome: connect from client: IP: $LINUX_IP, Port: [0-9]+"
tap_stop
echo "ok: welcome: clean shutdown, every mbuf returned"

# ---- print ----
ip netns del "$NS" 2>/dev/null || true
dpdk_forget "$NS"
NS="ustcp-tap-$$-$RANDOM"  # a fresh namespace and file prefix for the second server
tap_start "$SERVER" --app print
in_ns timeout 10 "$PY" - "$USTCP_IP" <<'PYEOF' || tap_fail "print: the closing client failed"
import socket, sys
s = socket.create_connection((sys.argv[1], 8000), timeout=5)
s.sendall(b"first message\n")
s.sendall(b"second message\nthird ")
s.sendall(b"message\n")
s.shutdown(socket.SHUT_WR)
if s.recv(100) != b"":  # the server closes after our FIN
    sys.exit("data from the print server")
s.close()
PYEOF
for m in first second third; do wait_log "print: $LINUX_IP:[0-9]+ Message from client=\[$m message\]$"; done
wait_log "print: $LINUX_IP:[0-9]+ closed by the client$"
echo "ok: print: three messages logged, the client's close logged"

port=$(in_ns timeout 10 "$PY" - "$USTCP_IP" <<'PYEOF'
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], 8000), timeout=5)
s.sendall(b"about to abort\n")
# The message is acknowledged before the abort (else the RST would race it).
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
info = None
for _ in range(500):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    if struct.unpack_from("B", info, 0)[0] == 1 and struct.unpack_from("I", info, 24)[0] == 0:  # ESTABLISHED, tcpi_unacked 0
        break
    time.sleep(0.01)
print(s.getsockname()[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # SO_LINGER 0: RST
PYEOF
) || tap_fail "print: the aborting client failed"
wait_log "print: $LINUX_IP:$port Message from client=\[about to abort\]$"
wait_log "print: $LINUX_IP:$port aborted by the client \(RST\)"
wait_log "print: $LINUX_IP:$port connection freed$"
echo "ok: print: the RST of client port $port logged, its connection freed"
tap_stats
wait_log "print: 4 messages, 1 clients aborted, 0 connections"
tap_stop
echo "ok: print: clean shutdown, every mbuf returned"
