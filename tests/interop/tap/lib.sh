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
    # Background helpers a failing test left (clients, captures, a client blocked on a FIFO):
    # they would hold the test's output open, and meson would wait for them.
    local j
    for j in $(jobs -p); do [ "$j" = "$SERVER_PID" ] || kill "$j" 2>/dev/null; done
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null || true
    # EAL leaves its hugepage files behind (always after SIGKILL): they would hold the pages.
    dpdk_forget "$NS"
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

# tap_start SERVER [flags]: starts the server inside a new namespace on a net_tap vdev (EAL lcores
# -l ${TAP_EAL_LCORES:-0}),
# addresses the kernel side, and waits until the server answers ARP.
tap_start() {
    local server=$1; shift
    ip netns add "$NS" || tap_fail "ip netns add"
    in_ns ip link set lo up
    # Not through in_ns: $! must be the server itself (ip netns exec execs it), so that
    # signals reach it.
    # TAP_WRAP: a command the server runs under (console_start's pty relay).
    # shellcheck disable=SC2046,SC2086
    ip netns exec "$NS" ${TAP_WRAP:-} "$server" -l "${TAP_EAL_LCORES:-0}" --no-pci --file-prefix="$NS" $(tap_eal_mem) --vdev="net_tap0,iface=$TAP_IF" \
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

# tap_telemetry OUT CMD...: asks the server's telemetry socket (dpdk-telemetry.py on its
# --file-prefix) each CMD, one JSON object per command into OUT.
tap_telemetry() {
    local out=$1; shift
    command -v dpdk-telemetry.py >/dev/null || tap_fail "dpdk-telemetry.py not found (dpdk package)"
    printf '%s\n' "$@" | dpdk-telemetry.py -f "$NS" >"$out" 2>&1 || tap_fail "dpdk-telemetry.py failed: $(cat "$out")"
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

# concurrent_check N: N nc clients at once, each sends one line to the echo port and must get
# it back.
concurrent_check() {
    local n=$1 i pids=()
    for i in $(seq "$n"); do
        (printf 'message %s\n' "$i" | in_ns timeout 30 nc -N "$USTCP_IP" 7 >"$WORK/c$i") &
        pids+=($!)
    done
    wait "${pids[@]}"  # not a bare wait: the server is a background job too
    for i in $(seq "$n"); do
        [ "$(cat "$WORK/c$i")" = "message $i" ] || tap_fail "concurrent connection $i echoed '$(cat "$WORK/c$i")'"
    done
}

# dpdk_forget PREFIX: removes what EAL keeps on disk for a --file-prefix once no process of it
# runs: its hugepage files, which hold their pages until unlinked (EAL leaves them behind at
# exit unless started with --huge-unlink, and always after SIGKILL), and /var/run/dpdk/PREFIX.
dpdk_forget() {
    local m
    for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do rm -f "$m/$1map_"*; done
    rm -rf "/var/run/dpdk/$1"
}

# ---- net_af_packet (tests/interop/tap/af_packet.sh, bench/link_compare.sh) ----
# ustcp-server in a second namespace, AFP_NS, on net_af_packet bound to one end of a veth pair
# (AFP_IF); the other end, in NS, is the kernel's LINUX_IP, so in_ns, echo_check, tap_stats and
# tap_stop work as with net_tap. Nothing is created in the root namespace: the pair is made
# with both ends already in place, and deleting the namespaces deletes it.
#
#   afp_start SERVER [flags]        # both namespaces, the pair, the server; waits for ping
#   echo_check $((32 << 20))
#   tap_stop; afp_cleanup
#
# The kernel end has checksum offload, TSO and GSO off: a frame that veth hands to an
# AF_PACKET socket with its checksum still to be filled in (CHECKSUM_PARTIAL) would reach ustcp
# with a wrong one, and a GSO frame would not fit the PMD's ring frames. AFP_DEVARGS adds
# driver arguments (config/af_packet.toml lists them).
AFP_NS=
AFP_IF=
AFP_DEVARGS=${AFP_DEVARGS:-}
afp_cleanup() {
    [ -n "$AFP_NS" ] && ip netns del "$AFP_NS" 2>/dev/null
    [ -n "$AFP_NS" ] && dpdk_forget "$AFP_NS"
    AFP_NS=
    return 0
}
afp_start() {
    local server=$1; shift
    command -v ethtool >/dev/null || tap_skip "'ethtool' not found"
    AFP_NS="$NS-afp"
    AFP_IF="uafs$$"
    local peer="uafc$$" mem
    ip netns add "$NS" || tap_fail "ip netns add $NS"
    ip netns add "$AFP_NS" || tap_fail "ip netns add $AFP_NS"
    in_ns ip link set lo up
    ip -n "$AFP_NS" link set lo up
    ip link add "$AFP_IF" netns "$AFP_NS" type veth peer name "$peer" netns "$NS" || tap_fail "ip link add veth"
    # The server's end carries no address; the kernel there must stay quiet (no IPv6 chatter).
    ip netns exec "$AFP_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$AFP_NS" sysctl -qw "net.ipv6.conf.$AFP_IF.disable_ipv6=1"
    ip netns exec "$AFP_NS" ethtool -K "$AFP_IF" gro off >/dev/null 2>&1
    ip -n "$AFP_NS" link set "$AFP_IF" up
    in_ns sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1"
    in_ns ethtool -K "$peer" tx off tso off gso off >/dev/null 2>&1 || tap_fail "ethtool -K $peer tx off"
    in_ns ip addr add "$LINUX_IP/24" dev "$peer"
    in_ns ip link set "$peer" up
    mem=$(tap_eal_mem)
    # --huge-unlink: the hugepage files go away with the process, however it ends.
    [[ $mem == "-m "* ]] && mem="$mem --huge-unlink"
    # shellcheck disable=SC2086
    ip netns exec "$AFP_NS" "$server" -l "${TAP_EAL_LCORES:-0}" --no-pci --file-prefix="$AFP_NS" $mem \
        --vdev="net_af_packet0,iface=$AFP_IF${AFP_DEVARGS:+,$AFP_DEVARGS}" \
        -- --ip "$USTCP_IP/24" "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q "SIGUSR1 prints stats" "$SERVER_LOG" && break
        kill -0 "$SERVER_PID" 2>/dev/null || tap_fail "ustcp-server exited at start"
        sleep 0.1
    done
    grep -q "SIGUSR1 prints stats" "$SERVER_LOG" || tap_fail "ustcp-server not up after 10 s"
    for _ in $(seq 50); do
        in_ns ping -c 1 -W 1 "$USTCP_IP" >/dev/null 2>&1 && return 0
    done
    tap_fail "ustcp-server does not answer ping over af_packet"
}

# ---- capture helpers (capture.sh, fragments.sh) ----
TCPDUMP_PID=
HUGEPAGES_RESTORE=
HUGEPAGES_WHY=

# Stops what the helpers below started, then tap_cleanup (they install it as the EXIT trap).
tap_helpers_cleanup() {
    if [ -n "$TCPDUMP_PID" ]; then kill -TERM "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
    if [ -n "$HUGEPAGES_RESTORE" ]; then
        echo "$HUGEPAGES_RESTORE" >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null || true
    fi
    tap_cleanup
}

# tap_count FILE FILTER: packets of FILE that match the tcpdump FILTER (a file still being
# written reads up to its last whole block).
tap_count() { tcpdump -nn -r "$1" "$2" 2>/dev/null | wc -l; }

# tap_wait_packets FILE MIN FILTER: waits up to 10 s until FILE holds MIN packets matching
# FILTER; returns 1 if it does not.
tap_wait_packets() {
    for _ in $(seq 100); do
        [ "$(tap_count "$1" "$3")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# tap_tcpdump_start FILE: tcpdump on the namespace's tap interface, packet-buffered into FILE;
# returns when it is capturing.
tap_tcpdump_start() {
    trap tap_helpers_cleanup EXIT
    # Not through in_ns, so that $! is tcpdump itself.
    ip netns exec "$NS" tcpdump -i "$TAP_IF" -U -n -s 0 -B 16384 -w "$1" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$WORK/tcpdump.err" && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || break
        sleep 0.1
    done
    tap_fail "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
}

# tap_tcpdump_stop: SIGTERM (a background job ignores SIGINT); tcpdump writes what it holds and
# exits.
tap_tcpdump_stop() {
    kill -TERM "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" 2>/dev/null
    TCPDUMP_PID=
}

# tap_reserve_hugepages N: at least N free 2 MB hugepages and hugetlbfs at /dev/hugepages,
# reserving more (given back at exit) when needed. Returns 1 with HUGEPAGES_WHY set if not.
tap_reserve_hugepages() {
    local want=$1 hp=/sys/kernel/mm/hugepages/hugepages-2048kB free nr
    trap tap_helpers_cleanup EXIT
    [ -e "$hp/nr_hugepages" ] || { HUGEPAGES_WHY="no 2 MB hugepage support ($hp)"; return 1; }
    if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
            { HUGEPAGES_WHY="hugetlbfs is not mounted at /dev/hugepages and cannot be"; return 1; }
    fi
    free=$(cat "$hp/free_hugepages")
    if [ "$free" -lt "$want" ]; then
        nr=$(cat "$hp/nr_hugepages")
        HUGEPAGES_RESTORE=$nr
        echo $((nr + want - free)) >"$hp/nr_hugepages" 2>/dev/null || true
        free=$(cat "$hp/free_hugepages")
    fi
    [ "$free" -ge "$want" ] || { HUGEPAGES_WHY="$free free 2 MB hugepages, $want needed, and no more could be reserved"; return 1; }
}

# ---- the active open (tests/interop/tap/lcores.sh) ----
# client_start CLIENT LINUX_SERVER_CMD... -- [client flags]: ustcp-client in the namespace on a
# net_tap vdev (EAL -l ${TAP_EAL_LCORES:-0}, --wait-for a file), then the kernel side addressed,
# the Linux server started there (its command before `--`, given the address and nothing else:
# it must listen on LINUX_IP at the port it is told), and once the server accepts, the file
# that releases the client's connects. client_wait SECONDS: its exit status.
CLIENT_PID=
LINUX_SRV_PID=
CLIENT_LOG=$WORK/client.log
tap_client_cleanup() {
    [ -n "$CLIENT_PID" ] && kill -KILL "$CLIENT_PID" 2>/dev/null
    [ -n "$LINUX_SRV_PID" ] && kill -KILL "$LINUX_SRV_PID" 2>/dev/null
    tap_cleanup
}
client_start() {
    local client=$1; shift
    local srv=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do srv+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    trap tap_client_cleanup EXIT
    ip netns list | grep -q "^$NS\b" || { ip netns add "$NS" || tap_fail "ip netns add"; in_ns ip link set lo up; }
    # shellcheck disable=SC2046
    ip netns exec "$NS" "$client" -l "${TAP_EAL_LCORES:-0}" --no-pci --file-prefix="$NS-c" $(tap_eal_mem) \
        --vdev="net_tap0,iface=$TAP_IF" -- --ip "$USTCP_IP/24" --wait-for "$WORK/client.go" "$@" >"$CLIENT_LOG" 2>&1 &
    CLIENT_PID=$!
    for _ in $(seq 100); do
        in_ns ip link show "$TAP_IF" >/dev/null 2>&1 && grep -q "waiting for" "$CLIENT_LOG" && break
        kill -0 "$CLIENT_PID" 2>/dev/null || { cat "$CLIENT_LOG" >&2; tap_fail "ustcp-client exited at start"; }
        sleep 0.1
    done
    in_ns ip link show "$TAP_IF" >/dev/null 2>&1 || tap_fail "no $TAP_IF from ustcp-client after 10 s"
    # net_tap gives the kernel interface the port's own MAC; the kernel's ARP replies would then
    # name our MAC as theirs, which the engine drops as its own. A MAC of its own for the kernel.
    in_ns ip link set "$TAP_IF" address 02:00:00:00:00:01
    in_ns ip addr add "$LINUX_IP/24" dev "$TAP_IF"
    in_ns ip link set "$TAP_IF" up
    ip netns exec "$NS" "${srv[@]}" "$LINUX_IP" >"$WORK/linux-server.log" 2>&1 &
    LINUX_SRV_PID=$!
    for _ in $(seq 100); do
        in_ns ss -Hltn "src $LINUX_IP" | grep -q . && break
        kill -0 "$LINUX_SRV_PID" 2>/dev/null || tap_fail "the Linux server exited: $(cat "$WORK/linux-server.log")"
        sleep 0.1
    done
    touch "$WORK/client.go"
}
client_wait() {
    local rc=0
    for _ in $(seq $(($1 * 10))); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$CLIENT_PID" 2>/dev/null && kill -TERM "$CLIENT_PID"
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    if [ "$rc" -ne 0 ]; then
        echo "---- client log (last 60 lines) ----" >&2
        tail -60 "$CLIENT_LOG" >&2
    fi
    return "$rc"
}

# ---- the interactive console (tests/interop/tap/console.sh) ----
# console_start SERVER [flags]: tap_start with `-i`, the server on a pseudo-terminal
# (pty_relay.py; SERVER_PID is the relay, which passes signals on and exits with the server's
# status); waits for the first prompt. console_cmd CMD REGEX: types CMD and waits up to 10 s
# until what the server printed since matches REGEX (grep -E) and a prompt follows;
# $WORK/console.out holds that output, carriage returns removed.
CONSOLE_IN=$WORK/console.in
console_start() {
    local server=$1; shift
    mkfifo "$CONSOLE_IN" || tap_fail "mkfifo"
    TAP_WRAP="/usr/bin/python3 $(dirname "${BASH_SOURCE[0]}")/pty_relay.py $CONSOLE_IN --" tap_start "$server" "$@" -i
    console_wait 0 'ustcp> ' || tap_fail "console: no prompt"
}
# console_wait FROM REGEX [PROMPT]: the log from byte FROM matches REGEX (and then ends in a
# prompt when PROMPT is 1); 10 s at most.
console_wait() {
    local from=$1 re=$2 prompt=${3:-0}
    for _ in $(seq 100); do
        tail -c +$((from + 1)) "$SERVER_LOG" | tr -d '\r' >"$WORK/console.out"
        if grep -aqE -- "$re" "$WORK/console.out"; then
            [ "$prompt" = 0 ] && return 0
            [ "$(tail -c 7 "$WORK/console.out")" = "ustcp> " ] && return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
console_cmd() {
    local from
    from=$(stat -c %s "$SERVER_LOG")
    printf '%s\n' "$1" >"$CONSOLE_IN"
    console_wait "$from" "$2" 1 || tap_fail "console: '$1' did not print /$2/ (got: $(cat "$WORK/console.out"))"
}
