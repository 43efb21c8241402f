#!/usr/bin/env bash
# tests/interop/tap/pcap_replay.sh SERVER USTCP_PCAP: a Linux client's echo session recorded
# against ustcp-server on net_tap, then replayed open loop into a second ustcp-server through
# a net_pcap vdev (config/pcap.toml), and the second server's answers checked.
#
#  1. Record (root): ustcp-server --tcp.fixed_iss ISS on net_tap; tcpdump in the namespace
#     writes REC while a Python client connects, sends two messages (13 and 2048 bytes), reads
#     each echo, shuts down its write side and reads until EOF (seed 001's exchange, larger).
#  2. Replay (no root, --no-huge): the client's frames of REC are the rx_pcap of a second
#     server with the same ISS and a different secret key; its tx_pcap is OUT. burst = 1, so
#     that every frame is processed, and answered, before the next one is read: the capture
#     has the client's ACKs of the echo right behind its data, and in one burst they would
#     arrive before the echo was sent (SEG.ACK > SND.NXT: dropped).
#  3. Check OUT with ustcp-pcap (and against tcpdump's printing of it) and tshark:
#     - the SYN-ACK: seq ISS, ack the client's ISN + 1, and the options the SYN offered
#       (MSS, SACK-permitted, window scale, timestamps with TSecr = the SYN's TSval);
#     - the echoed bytes are the client's bytes, at the sequence numbers the recorded
#       server used, and the ACK numbers reach the client's FIN;
#     - our FIN follows the echo, nothing is reset, the replayed final ACK closes the
#       connection (stats: connections 0, opened 1, closed 1), and nothing is retransmitted.
#
# Timestamps: the replayed TSecr values echo the recorded server's clock, not this one's, so
# RTT samples from them are garbage (lib/tcp drops negative ones, clamps the rest); that only
# moves the RTO, and every segment is acknowledged within microseconds. PAWS looks at the
# client's TSvals, which the capture keeps in order.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 SERVER USTCP_PCAP" >&2; exit 2; }
SERVER=$1
USTCP_PCAP=$2
PY=/usr/bin/python3
for t in tcpdump tshark "$PY"; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done
ISS=3000000000
REC=$WORK/rec.pcap
IN=$WORK/in.pcap
OUT=$WORK/out.pcap
REPLAY_PID=
REPLAY_PREFIX="ustcp-replay-$$-$RANDOM"
REPLAY_LOG=$WORK/replay.log
TCPDUMP_PID=
replay_cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill -TERM "$TCPDUMP_PID" 2>/dev/null
    if [ -n "$REPLAY_PID" ] && kill -0 "$REPLAY_PID" 2>/dev/null; then kill -KILL "$REPLAY_PID"; fi
    dpdk_forget "$REPLAY_PREFIX"
    tap_cleanup
    dpdk_forget "$NS"
}
trap replay_cleanup EXIT
replay_fail() {
    echo "---- replay server log ----" >&2
    tail -20 "$REPLAY_LOG" >&2
    echo "---- OUT ----" >&2
    "$USTCP_PCAP" -S "$OUT" >&2 2>&1
    tap_fail "$@"
}

# ---- 1. record ----
tap_start "$SERVER" --app echo --listen 7 --tcp.fixed_iss "$ISS"
# Not through in_ns: $! is tcpdump itself, stopped by its id (pkill would reach other tests' too).
ip netns exec "$NS" tcpdump -i "$TAP_IF" -U -s 0 -w "$REC" 'tcp port 7' 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$WORK/tcpdump.err" || tap_fail "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
cat >"$WORK/client.py" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=20)
for m in (b"hello, ustcp\n", bytes(range(256)) * 8):
    s.sendall(m)
    got = b""
    while len(got) < len(m):
        d = s.recv(65536)
        if not d:
            sys.exit("EOF before the echo of %d bytes" % len(m))
        got += d
    if got != m:
        sys.exit("echo differs")
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("data after the echo")
s.close()
EOF
in_ns timeout 60 "$PY" "$WORK/client.py" "$USTCP_IP" >"$WORK/client.err" 2>&1 || tap_fail "client: $(cat "$WORK/client.err")"
# The kernel ACKs our FIN at once; wait until tcpdump has written that ACK, then stop it.
fin_acked() {
    tcpdump -r "$REC" -nn 2>/dev/null | awk -v srv="$USTCP_IP.7 >" -v cli="> $USTCP_IP.7:" '
        index($0, srv) && /Flags \[F/ { fin = 1; next }
        fin && index($0, cli) && /Flags \[\.\]/ { found = 1 }
        END { exit !found }'
}
for _ in $(seq 100); do fin_acked && break; sleep 0.1; done
fin_acked || tap_fail "the recording has no ACK of our FIN: $(tcpdump -r "$REC" -nn 2>/dev/null | tail -3)"
kill -TERM "$TCPDUMP_PID"
wait "$TCPDUMP_PID"
TCPDUMP_PID=
tap_stop
tcpdump -r "$REC" -nn -S >"$WORK/rec.txt" 2>/dev/null || tap_fail "tcpdump cannot read the recording"
grep -q "Flags \[S\.\]" "$WORK/rec.txt" || tap_fail "recording has no SYN-ACK: $(cat "$WORK/rec.txt")"
grep -q "$USTCP_IP\.7 > .*Flags \[F" "$WORK/rec.txt" || tap_fail "recording has no FIN from ustcp"
echo "ok: recorded $(wc -l <"$WORK/rec.txt") segments against ustcp-server --tcp.fixed_iss $ISS"

# The client's half, with checksums recomputed: the kernel may leave them to the tap's offload.
"$PY" - "$REC" "$IN" "$LINUX_IP" <<'EOF' || tap_fail "cannot make the rx pcap"
import sys
from scapy.all import IP, TCP, rdpcap, wrpcap
pkts = [p for p in rdpcap(sys.argv[1]) if IP in p and TCP in p and p[IP].src == sys.argv[3]]
for p in pkts:
    del p[IP].chksum
    del p[TCP].chksum
wrpcap(sys.argv[2], [p.__class__(bytes(p)) for p in pkts])
print(len(pkts), "client frames")
EOF

# ---- 2. replay ----
: >"$OUT"
"$SERVER" -l 0 --no-pci --file-prefix="$REPLAY_PREFIX" --no-huge -m 256 \
    --vdev="net_pcap0,rx_pcap=$IN,tx_pcap=$OUT" -- --ip "$USTCP_IP/24" --app echo --listen 7 \
    --burst 1 --tcp.fixed_iss "$ISS" --tcp.syn_cookies off >"$REPLAY_LOG" 2>&1 &
REPLAY_PID=$!
# Done when OUT holds our FIN and the replayed final ACK closed the connection.
done_replay=
for _ in $(seq 200); do
    kill -0 "$REPLAY_PID" 2>/dev/null || replay_fail "replay server exited early"
    if "$USTCP_PCAP" "$OUT" 2>/dev/null | grep -q "$USTCP_IP\.7 > .*Flags \[F"; then
        before=$(grep -c '^stats:' "$REPLAY_LOG" || true)
        kill -USR1 "$REPLAY_PID"
        for _ in $(seq 50); do [ "$(grep -c '^stats:' "$REPLAY_LOG" || true)" -gt "$before" ] && break; sleep 0.05; done
        if grep -A2 '^stats:' "$REPLAY_LOG" | tail -1 | grep -q "connections 0 (opened 1 closed 1)"; then
            done_replay=1
            break
        fi
    fi
    sleep 0.1
done
[ -n "$done_replay" ] || replay_fail "no FIN exchange in OUT within 20 s"
kill -TERM "$REPLAY_PID"
for _ in $(seq 100); do kill -0 "$REPLAY_PID" 2>/dev/null || break; sleep 0.1; done
rc=0
wait "$REPLAY_PID" || rc=$?
REPLAY_PID=
[ "$rc" -eq 0 ] || replay_fail "replay server exited with $rc"
grep -q "mbufs still in use after shutdown: 0$" "$REPLAY_LOG" || replay_fail "replay: mbufs were not all returned"
grep -A2 '^stats:' "$REPLAY_LOG" | tail -1 | grep -q "retransmits 0 " ||
    replay_fail "the replay server retransmitted: $(grep -A2 '^stats:' "$REPLAY_LOG" | tail -1)"
echo "ok: replayed $(tcpdump -r "$IN" 2>/dev/null | wc -l) frames through net_pcap; connection closed, nothing retransmitted"

# ---- 3. check OUT ----
"$USTCP_PCAP" -S "$OUT" >"$WORK/out.txt" || replay_fail "ustcp-pcap cannot read OUT"
tcpdump -S -nt -r "$OUT" >"$WORK/out.tcpdump" 2>/dev/null
diff -u "$WORK/out.tcpdump" "$WORK/out.txt" >"$WORK/out.diff" ||
    replay_fail "ustcp-pcap and tcpdump disagree on OUT: $(head -20 "$WORK/out.diff")"
grep -q "Flags \[R" "$WORK/out.txt" && replay_fail "the replay server sent a RST"
syn=$(grep -m1 "$LINUX_IP\.[0-9]* > $USTCP_IP\.7: Flags \[S\]" "$WORK/rec.txt")
client_isn=$(sed -n 's/.* seq \([0-9]*\),.*/\1/p' <<<"$syn")
client_tsval=$(sed -n 's/.*TS val \([0-9]*\) .*/\1/p' <<<"$syn")
synack=$(grep -m1 "Flags \[S\.\]" "$WORK/out.txt") || replay_fail "OUT has no SYN-ACK"
[[ $synack == *"seq $ISS, ack $((client_isn + 1)),"* ]] ||
    replay_fail "SYN-ACK '$synack': want seq $ISS, ack $((client_isn + 1))"
[[ $synack =~ options\ \[mss\ 1460,sackOK,TS\ val\ [0-9]+\ ecr\ $client_tsval,nop,wscale\ [0-9]+\] ]] ||
    replay_fail "SYN-ACK options '$synack': want mss 1460, sackOK, TS ecr $client_tsval, wscale"
echo "ok: SYN-ACK seq $ISS ack $((client_isn + 1)) with mss, sackOK, TS (ecr $client_tsval), wscale"

# tshark: both directions' payload, our ACK numbers, our segments against the recorded ones.
fields=(-T fields -e tcp.srcport -e tcp.flags.syn -e tcp.flags.fin -e tcp.seq_raw -e tcp.ack_raw -e tcp.len -e tcp.payload)
tshark -r "$IN" -Y tcp "${fields[@]}" >"$WORK/in.fields" 2>/dev/null || replay_fail "tshark cannot read IN"
tshark -r "$OUT" -Y tcp "${fields[@]}" >"$WORK/out.fields" 2>/dev/null || replay_fail "tshark cannot read OUT"
tshark -r "$REC" -Y "tcp.srcport == 7" "${fields[@]}" >"$WORK/recsrv.fields" 2>/dev/null
"$PY" - "$WORK/in.fields" "$WORK/out.fields" "$WORK/recsrv.fields" "$ISS" <<'EOF' || replay_fail "OUT does not match the session"
import sys
def load(path):
    rows = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        f += [""] * (7 - len(f))
        rows.append(dict(sport=int(f[0]), syn=f[1] in ("1", "True"), fin=f[2] in ("1", "True"), seq=int(f[3]),
                         ack=int(f[4]), len=int(f[5] or 0), data=bytes.fromhex(f[6].replace(":", ""))))
    return rows
def stream(rows, isn):
    # The bytes in sequence order, each once (retransmissions overlap what came before).
    have = {}
    for r in rows:
        for i, b in enumerate(r["data"]):
            have.setdefault((r["seq"] - isn - 1 + i) % 2**32, b)
    return bytes(have[i] for i in range(len(have)))
cli, out, rec = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
iss = int(sys.argv[4])
out = [r for r in out if r["sport"] == 7]
cli_isn = next(r["seq"] for r in cli if r["syn"])
sent = stream(cli, cli_isn)
echoed = stream(out, iss)
problems = []
if echoed != sent:
    problems.append("echo: %d bytes back, %d sent, equal prefix %s" % (len(echoed), len(sent), echoed == sent[:len(echoed)]))
client_fin = next((r for r in cli if r["fin"]), None)
if client_fin is None:
    problems.append("the capture has no client FIN")
else:
    want_ack = (client_fin["seq"] + client_fin["len"] + 1) % 2**32
    if max(r["ack"] for r in out) != want_ack:
        problems.append("highest ACK %d, want %d (the client's FIN)" % (max(r["ack"] for r in out), want_ack))
for r in out:
    if r["ack"] - cli_isn - 1 > len(sent) + 1:
        problems.append("ACK %d beyond what the client sent" % r["ack"])
fins = [r for r in out if r["fin"]]
if not fins or fins[0]["seq"] != (iss + 1 + len(sent)) % 2**32:
    problems.append("our FIN: %s, want seq %d" % (fins[:1], (iss + 1 + len(sent)) % 2**32))
# Data and FIN segments as the recorded server sent them (seq, length, FIN), each once.
key = lambda rows: sorted({(r["seq"], r["len"], r["fin"]) for r in rows if r["len"] or r["fin"]})
if key(out) != key(rec):
    problems.append("segments differ from the recording: replay %s, recorded %s" % (key(out), key(rec)))
for p in problems:
    print("OUT:", p)
sys.exit(1 if problems else 0)
EOF
echo "ok: OUT echoes the client's $(($(grep -c . "$WORK/in.fields"))) frames' bytes at the recorded sequence numbers, ACKs reach the client's FIN, FIN follows"
