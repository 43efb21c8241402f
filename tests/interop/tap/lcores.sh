#!/usr/bin/env bash
# tests/interop/tap/lcores.sh SERVER CLIENT: the multi-lcore runtime on net_tap (2 queues, no RSS:
# software steering) against the Linux kernel, with 2 worker lcores (EAL -l 0-1, --lcores 0-1).
#  - 100 concurrent nc connections each echo their message, and a 4 MiB echo is byte-exact;
#  - 100 connections held open at once: each one is in exactly one lcore's connection list, on the
#    lcore a Toeplitz hash computed here (Python, the symmetric 0x6d5a key, RETA i -> i % 2) names;
#  - both lcores served connections; no TCP frame reached, or left, an engine that does not own
#    its flow (per-lcore counters "not owned rx 0 tx 0"), and the steering moved frames;
#  - the server stops on SIGTERM with every mbuf back in its pools;
#  - dpdk-telemetry.py reads /ustcp/stats (connections by state) and every page of /ustcp/conns
#    of both lcores while those connections are held: each is listed once, ESTABLISHED;
#  - ustcp-client (2 lcores) opens 20 connections to a Linux echo server in the namespace, sends
#    random bytes on each and checks the echo (hash); the connections use both lcores.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 SERVER CLIENT" >&2; exit 2; }
SERVER=$1
CLIENT=$2
PY=/usr/bin/python3
[ -x "$PY" ] || tap_skip "$PY not found"

TAP_EAL_LCORES=0-1 tap_start "$SERVER" --app echo --listen 7 --lcores 0-1
grep -q "steering on (software Toeplitz, reta 128 over 2 workers)" "$SERVER_LOG" ||
    tap_fail "no software steering in the banner: $(grep 'offloads' "$SERVER_LOG")"
echo "ok: 2 worker lcores, 2 queues, software steering"

# 100 concurrent nc connections
concurrent_check 100
echo "ok: 100 concurrent connections"

echo_check $((4 * 1024 * 1024))
echo "ok: 4 MiB echo"

# 100 connections open at once; the server lists them (SIGUSR1) while the client holds them.
cat >"$WORK/hold.py" <<'EOF'
import os, socket, sys
host, n, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conns = []
for i in range(n):
    s = socket.create_connection((host, 7), timeout=10)
    msg = b"hold %d\n" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        part = s.recv(100)
        if not part:
            sys.exit("connection %d closed early" % i)
        got += part
    if got != msg:
        sys.exit("connection %d echoed %r" % (i, got))
    conns.append(s)
with open(ready, "w") as f:
    f.write("\n".join(str(s.getsockname()[1]) for s in conns) + "\n")
# Wait until the test has the server's connection list: a FIFO, no timing guess.
with open(go) as f:
    f.read()
for s in conns:
    s.close()
EOF
mkfifo "$WORK/go"
in_ns "$PY" "$WORK/hold.py" "$USTCP_IP" 100 "$WORK/ports" "$WORK/go" &
hold_pid=$!
for _ in $(seq 300); do [ -s "$WORK/ports" ] && break; kill -0 "$hold_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/ports" ] || tap_fail "the holding client did not open its 100 connections"
tap_stats
# The same connections through DPDK's telemetry socket, as an operator reads them.
tap_telemetry "$WORK/telemetry.out" /ustcp/stats /ustcp/conns,0 /ustcp/conns,0,40 /ustcp/conns,0,80 /ustcp/conns,1 \
    /ustcp/conns,1,40 /ustcp/conns,1,80
"$PY" - "$WORK/telemetry.out" "$WORK/ports" <<'EOF' || tap_fail "telemetry: $(head -c 3000 "$WORK/telemetry.out")"
import json, sys
text = open(sys.argv[1]).read()
ports = {int(p) for p in open(sys.argv[2]).read().split()}
# dpdk-telemetry.py prints one JSON object per command.
dec, objs, i = json.JSONDecoder(), [], 0
while (j := text.find("{", i)) >= 0:
    obj, i = dec.raw_decode(text, j)
    objs.append(obj)
stats = next(o["/ustcp/stats"] for o in objs if "/ustcp/stats" in o)
assert stats["lcores"] == [0, 1], stats["lcores"]
assert stats["states"]["ESTABLISHED"] >= 100, stats["states"]
assert stats["connections"] >= 100 and stats["engine"]["connections_opened"] >= 200, stats
seen = {}
for o in objs:
    for cmd, r in o.items():
        if not cmd.startswith("/ustcp/conns"):
            continue
        for c in r.values():
            if isinstance(c, dict) and int(c["remote"].split(":")[1]) in ports:
                assert c["state"] == "ESTABLISHED" and c["bytes_in"] > 0, c
                seen.setdefault(int(c["remote"].split(":")[1]), set()).add(r["lcore"])
assert all(len(v) == 1 for v in seen.values()), "a connection listed on two lcores"
assert len(seen) == len(ports), "%d of %d held connections listed" % (len(seen), len(ports))
print("ok: telemetry: %d connections, every held one listed once" % stats["connections"])
EOF
echo done >"$WORK/go"
wait "$hold_pid" || tap_fail "the holding client failed"

cat >"$WORK/owner.py" <<'EOF'
import re, sys
# Symmetric Toeplitz: key 0x6d5a repeated; input src ip, dst ip, src port, dst port (network order).
key = bytes([0x6d, 0x5a] * 26)
kbits = int.from_bytes(key, "big")
klen = len(key) * 8
def toeplitz(data):
    h = 0
    for i, byte in enumerate(data):
        for j in range(8):
            if byte & (0x80 >> j):
                bit = i * 8 + j
                h ^= (kbits >> (klen - 32 - bit)) & 0xffffffff
    return h
def ip(s):
    return bytes(int(x) for x in s.split("."))
log, ports_file, linux_ip, ustcp_ip = sys.argv[1:5]
text = open(log).read()
# The last stats block: the per-lcore connection lines before the last "stats:" line.
block = text[:text.rfind("\nstats:")]
block = block[block.rfind("\nstats:") + 1:] if "\nstats:" in block else block
seen = {}
for lcore, rport in re.findall(r"^  lcore (\d+): " + re.escape(ustcp_ip) + r":7 <- " + re.escape(linux_ip) +
                               r":(\d+) ", block, re.M):
    seen.setdefault(int(rport), []).append(int(lcore))
bad = 0
per_lcore = {0: 0, 1: 0}
for p in (int(x) for x in open(ports_file).read().split()):
    where = seen.get(p, [])
    h = toeplitz(ip(linux_ip) + ip(ustcp_ip) + p.to_bytes(2, "big") + (7).to_bytes(2, "big"))
    want = (h % 128) % 2  # RETA of 128 entries, i -> i % 2; worker w is lcore w here
    if where != [want]:
        print("port %d: on lcore(s) %s, its hash %#x names lcore %d" % (p, where, h, want))
        bad += 1
    else:
        per_lcore[want] += 1
print("connections per lcore: %s" % per_lcore)
if bad or min(per_lcore.values()) == 0:
    sys.exit(1)
EOF
"$PY" "$WORK/owner.py" "$SERVER_LOG" "$WORK/ports" "$LINUX_IP" "$USTCP_IP" >"$WORK/owner.out" ||
    tap_fail "flows not on their owner lcore: $(cat "$WORK/owner.out")"
echo "ok: 100 held connections, each on exactly the lcore its Toeplitz hash names ($(tail -1 "$WORK/owner.out"))"

# Per-lcore counters (the last stats block).
tap_stats
for lc in 0 1; do
    line=$(grep "^lcore $lc: worker $lc port port0 queue $lc: " "$SERVER_LOG" | tail -1)
    opened=$(echo "$line" | sed -n 's/.* opened \([0-9]*\) .*/\1/p')
    [ -n "$opened" ] && [ "$opened" -gt 0 ] || tap_fail "lcore $lc served no connection: '$line'"
    st=$(grep "^lcore $lc: steering software: " "$SERVER_LOG" | tail -1)
    echo "$st" | grep -q "not owned rx 0 tx 0$" || tap_fail "lcore $lc: frames off their owner: '$st'"
    echo "ok: lcore $lc opened $opened connections; ${st#*: }"
done
steered=$(grep "^lcore [01]: steering software: " "$SERVER_LOG" | tail -2 | sed -n 's/.* steered out \([0-9]*\) .*/\1/p' |
          awk '{s += $1} END {print s + 0}')
[ "$steered" -gt 0 ] || tap_fail "no frame was steered between the lcores"
echo "ok: $steered frames steered to their owner lcore"

tap_stop
echo "ok: clean shutdown, every mbuf returned"

# ---- the active open: ustcp-client with 2 lcores against a Linux echo server ----
cat >"$WORK/echo_server.py" <<'EOF'
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[2], int(sys.argv[1])))  # PORT, then the address lib.sh appends
srv.listen(128)
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
TAP_EAL_LCORES=0-1 client_start "$CLIENT" "$PY" "$WORK/echo_server.py" 7 -- --lcores 0-1 --connect "$LINUX_IP:7" --conns 20 --bytes 200000
client_wait 120 || tap_fail "ustcp-client failed"
grep -q "^result: 20 of 20 connections echoed correctly" "$CLIENT_LOG" || tap_fail "client: $(grep '^result' "$CLIENT_LOG")"
for lc in 0 1; do
    n=$(grep -c "^conn [0-9]* lcore $lc .* ok$" "$CLIENT_LOG" || true)
    [ "$n" -gt 0 ] || tap_fail "client: no connection on lcore $lc"
    st=$(grep "^lcore $lc: steering software: " "$CLIENT_LOG" | tail -1)
    echo "$st" | grep -q "not owned rx 0 tx 0$" || tap_fail "client lcore $lc: frames off their owner: '$st'"
    echo "ok: client lcore $lc: $n connections verified; ${st#*: }"
done
grep -q "mbufs still in use after shutdown: 0$" "$CLIENT_LOG" || tap_fail "client: mbufs were not all returned"
echo "ok: 20 active opens over 2 lcores, every echo verified, every mbuf returned"
