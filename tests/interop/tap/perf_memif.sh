#!/usr/bin/env bash
# tests/interop/tap/perf_memif.sh SERVER PERF: ustcp-perf on ustcp against ustcp-server, two DPDK
# processes joined by net_memif (the server's end role=server; a socket file in the test's
# directory): --app perf with rr (depth 4), crr, bulk send, bulk recv and hold (10 connections),
# hold from secondary client addresses (--port.extra_ips, --src-range), crr beside --idle connections
# and --src-range refused outside the port, then --app http with keep-alive and --http-close
# requests. Each run: the JSON parses with every field, its count is > 0, errors 0, every mbuf
# back at exit on both sides. One client at a time: each stops its traffic and closes its
# connections before it leaves the link (a memif peer leaving mid-transfer has crashed a DPDK
# process here). Root, else 77.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 SERVER PERF" >&2; exit 2; }
SERVER=$1
PERF=$2
SOCK=$WORK/memif.sock
SRV_IP=198.18.2.1
CLI_IP=198.18.2.2
PREFIX=ustcp-memif-$$
memif_cleanup() {
    [ -n "${CLIENT_PID:-}" ] && kill -KILL "$CLIENT_PID" 2>/dev/null
    dpdk_forget "$PREFIX-s"
    dpdk_forget "$PREFIX-c"
    tap_cleanup
}
trap memif_cleanup EXIT
CLIENT_PID=

json_check() {
    /usr/bin/python3 "$(dirname "$0")/perf_check.py" "$@" || tap_fail "$(basename "$1"): $(head -c 1500 "$1" 2>/dev/null)"
}

# memif_server APP: ustcp-server on the memif's server end (EAL lcore 0).
memif_server() {
    rm -f "$SERVER_LOG" "$SOCK"  # not the last server's banner, nor its socket
    # shellcheck disable=SC2046
    "$SERVER" -l 0 --no-pci --file-prefix="$PREFIX-s" $(tap_eal_mem) --vdev="net_memif0,role=server,id=0,socket=$SOCK" \
        -- --lcores 0 --ip "$SRV_IP/24" --app "$1" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -qs "SIGUSR1 prints stats" "$SERVER_LOG" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || tap_fail "ustcp-server exited at start"
        sleep 0.1
    done
    tap_fail "ustcp-server not up after 10 s"
}

# perf_run NAME [flags]: ustcp-perf on the memif's client end (EAL lcore 1), to completion.
perf_run() {
    local name=$1; shift
    local log=$WORK/$name.out rc=0
    # shellcheck disable=SC2046
    timeout 90 "$PERF" -l 1 --no-pci --file-prefix="$PREFIX-c" $(tap_eal_mem) --vdev="net_memif0,role=client,id=0,socket=$SOCK" \
        -- --lcores 1 --ip "$CLI_IP/24" --tcp.rto_initial 200ms --warmup 1 --duration 2 --json "$WORK/$name.json" "$@" \
        >"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || tap_fail "ustcp-perf $*: exit $rc: $(grep -v 'lcore .*: 198' "$log" | tail -30)"
    grep -q '^\[ 2.0s\]' "$log" || tap_fail "$name: no interval lines: $(tail -20 "$log")"
    grep -q "mbufs still in use after shutdown: 0$" "$log" || tap_fail "$name: mbufs not all returned"
    dpdk_forget "$PREFIX-c"
}

memif_server perf
perf_run rr --mode rr --conns 4 --depth 4 --req-size 200 --resp-size 3000 --connect "$SRV_IP:5555" &&
    json_check "$WORK/rr.json" requests depth=4
perf_run crr --mode crr --conns 4 --connect "$SRV_IP:5555" && json_check "$WORK/crr.json" requests
perf_run bulk --mode bulk --conns 2 --connect "$SRV_IP:5555" && json_check "$WORK/bulk.json" bytes_sent
perf_run bulkr --mode bulk --direction recv --conns 2 --connect "$SRV_IP:5555" && json_check "$WORK/bulkr.json" bytes_received
perf_run hold --mode hold --conns 10 --connect "$SRV_IP:5555" && json_check "$WORK/hold.json" established_max established_max=10
tap_stats
grep -Eq "^perf: accepted [0-9]+ \(bulk 4 rr 4 crr [1-9][0-9]* hold 10\) .* refused 0" "$SERVER_LOG" ||
    tap_fail "the server's perf counters: $(grep '^perf:' "$SERVER_LOG")"
# Secondary client addresses: 12 held connections from three of them (the server resolves each by
# ARP and the client answers in its name), and crr beside 20 idle connections (--idle).
perf_run hold_src --mode hold --conns 12 --connect "$SRV_IP:5555" --port.extra_ips 198.18.2.10-198.18.2.12 \
    --src-range 198.18.2.10-198.18.2.12 && json_check "$WORK/hold_src.json" established_max established_max=12
perf_run crr_idle --mode crr --conns 4 --idle 20 --connect "$SRV_IP:5555" && json_check "$WORK/crr_idle.json" requests
grep -q "^ustcp-perf: 20 idle connection(s) established" "$WORK/crr_idle.out" ||
    tap_fail "--idle 20: $(grep -v 'lcore .*: 198' "$WORK/crr_idle.out" | tail -10)"
# An address that is not the port's is refused before any connect, naming the way out.
rc=0
# shellcheck disable=SC2046
"$PERF" -l 1 --no-pci --file-prefix="$PREFIX-c" $(tap_eal_mem) --vdev="net_memif0,role=client,id=0,socket=$SOCK" \
    -- --lcores 1 --ip "$CLI_IP/24" --mode hold --conns 2 --connect "$SRV_IP:5555" --src-range 198.18.2.50-198.18.2.51 \
    >"$WORK/src_bad.out" 2>&1 || rc=$?
dpdk_forget "$PREFIX-c"
[ "$rc" -eq 2 ] && grep -q "src-range: 198.18.2.50 is not an address of port port0 .*--port.extra_ips" "$WORK/src_bad.out" ||
    tap_fail "--src-range outside the port: exit $rc: $(tail -5 "$WORK/src_bad.out")"
tap_stats
grep -Eq "^perf: accepted [0-9]+ \(bulk 4 rr 4 crr [1-9][0-9]* hold 42\) .* refused 0" "$SERVER_LOG" ||
    tap_fail "the server's perf counters after the secondary-address runs: $(grep '^perf:' "$SERVER_LOG" | tail -1)"
tap_stop
echo "ok: ustcp-perf -> ustcp-server --app perf over memif: rr, crr, bulk send and recv, hold, hold from secondary addresses, crr beside idle connections"

memif_server http
perf_run http --mode http --conns 4 --connect "$SRV_IP:80" && json_check "$WORK/http.json" http_2xx http_non_2xx=0
perf_run httpc --mode http --http-close --conns 2 --connect "$SRV_IP:80" && json_check "$WORK/httpc.json" http_2xx http_non_2xx=0
tap_stop
echo "ok: ustcp-perf -> ustcp-server --app http over memif: keep-alive and --http-close, 2xx only"
