# Shared by the net_tap interop tests: a throw-away network namespace holding both
# ustcp-server's tap interface and the Linux programs that talk to it.
#
#   . tests/interop/tap/lib.sh
#   tap_start SERVER_BINARY [server flags after --]   # namespace, server, addresses
#   in_ns ping -c 1 "$USTCP_IP"                        # run a Linux program there
#   tap_stats                                          # SIGUSR1: the server prints its stats
#   tap_stop                                           # SIGTERM, wait, check mbufs, clean up
#
# Addresses: the kernel end 198.18.0.1/24, ustcp 198.18.0.2/24 (RFC 2544 benchmark range).
# Every DPDK process gets --no-pci and its own --file-prefix; the namespace is deleted on
# exit, whatever happened. Exits 77 (meson: skipped) without root or /dev/net/tun.
SKIP=77
NS="ustcp-tap-$$-$RANDOM"
LINUX_IP=198.18.0.1
USTCP_IP=198.18.0.2
TAP_IF=ustcp0
SERVER_PID=
WORK=$(mktemp -d /tmp/ustcp-interop.XXXXXX)
SERVER_LOG=$WORK/server.log

tap_skip() { echo "SKIP: $*" >&2; exit "$SKIP"; }
tap_fail() {
    echo "FAIL: $*" >&2
    if [ -f "$SERVER_LOG" ]; then
        echo "---- server log (last 40 lines) ----" >&2
        tail -40 "$SERVER_LOG" >&2
    fi
    exit 1
}
tap_cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap tap_cleanup EXIT

[ "$(id -u)" -eq 0 ] || tap_skip "needs root (network namespaces, net_tap)"
[ -c /dev/net/tun ] || tap_skip "/dev/net/tun missing"
for t in ip nc ping sha256sum timeout; do command -v "$t" >/dev/null || tap_skip "'$t' not found"; done

in_ns() { ip netns exec "$NS" "$@"; }

# EAL memory: hugepages when reserved, else --no-huge.
tap_eal_mem() {
    local hp
    hp=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
    if [ "$hp" -ge 64 ] && grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then echo "-m 128"; else echo "--no-huge -m 256"; fi
}

# tap_start SERVER [flags]: starts the server inside a new namespace on a net_tap vdev,
# addresses the kernel side, and waits until the server answers ARP.
tap_start() {
    local server=$1; shift
    ip netns add "$NS" || tap_fail "ip netns add"
    in_ns ip link set lo up
    # Not through in_ns: $! must be the server itself (ip netns exec execs it), so that
    # signals reach it.
    # shellcheck disable=SC2046
    ip netns exec "$NS" "$server" -l 0 --no-pci --file-prefix="$NS" $(tap_eal_mem) --vdev="net_tap0,iface=$TAP_IF" \
        -- --ip "$USTCP_IP/24" "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        in_ns ip link show "$TAP_IF" >/dev/null 2>&1 && grep -q "SIGUSR1 prints stats" "$SERVER_LOG" && break
        kill -0 "$SERVER_PID" 2>/dev/null || tap_fail "ustcp-server exited at start"
        sleep 0.1
    done
    in_ns ip link show "$TAP_IF" >/dev/null 2>&1 || tap_fail "no $TAP_IF after 10 s"
    in_ns ip addr add "$LINUX_IP/24" dev "$TAP_IF"
    in_ns ip link set "$TAP_IF" up
    for _ in $(seq 50); do
        in_ns ping -c 1 -W 1 "$USTCP_IP" >/dev/null 2>&1 && return 0
    done
    tap_fail "ustcp-server does not answer ping"
}

# tap_stats: the server prints its stats (SIGUSR1); waits for the new block.
tap_stats() {
    local before
    before=$(grep -c '^stats:' "$SERVER_LOG" || true)
    kill -USR1 "$SERVER_PID"
    for _ in $(seq 50); do
        [ "$(grep -c '^stats:' "$SERVER_LOG")" -gt "$before" ] && return 0
        sleep 0.1
    done
    tap_fail "no stats after SIGUSR1"
}

# tap_stop: SIGTERM; the server must exit 0 within 10 s with every mbuf back in its pool.
tap_stop() {
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=
    [ "$rc" -eq 0 ] || tap_fail "ustcp-server exited with $rc"
    grep -q "mbufs still in use after shutdown: 0$" "$SERVER_LOG" || tap_fail "mbufs were not all returned"
}

# random_file PATH BYTES
random_file() { head -c "$2" /dev/urandom >"$1"; }

# echo_check BYTES [nc flags]: sends BYTES random bytes to the echo port, checks SHA-256.
echo_check() {
    local n=$1; shift
    random_file "$WORK/in" "$n"
    in_ns timeout 120 nc -N "$@" "$USTCP_IP" 7 <"$WORK/in" >"$WORK/out" || tap_fail "nc failed (echo of $n bytes)"
    local a b
    a=$(sha256sum <"$WORK/in" | cut -d' ' -f1)
    b=$(sha256sum <"$WORK/out" | cut -d' ' -f1)
    [ "$a" = "$b" ] || tap_fail "echo of $n bytes: sha256 $b, sent $a ($(stat -c %s "$WORK/out") bytes back)"
}
