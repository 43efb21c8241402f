#!/usr/bin/env bash
# make_captures.sh OUTDIR
#
# Produce real Linux packet captures for the ustcp-pcap vs tcpdump interop test.
# Two throw-away network namespaces are joined by a veth pair (plus an 802.1Q
# sub-interface on each end; on kernels without 8021q a userspace tagging relay,
# vlan_relay.py, and two endpoint namespaces stand in for them); tcpdump records
# one veth end while we generate:
#   - ARP (first contact) and ICMP echo (ping -c 3)
#   - a multi-MB nc transfer with SACK/wscale/timestamps and 2% random loss on
#     the receiver's INPUT (so SACK blocks show up)
#   - a connection attempt to a closed port (RST)
#   - a transfer over the VLAN addresses (802.1Q frames)
#   - a transfer with timestamps and SACK disabled (different option layouts)
# Writes OUTDIR/linux-veth.pcap and, if editcap exists, OUTDIR/linux-veth.pcapng.
# Exit status 77 (meson "skipped") when root or a required tool is missing.
set -euo pipefail

SKIP=77
die() { echo "make_captures: $*" >&2; exit 1; }
skip() { echo "make_captures: SKIP: $*" >&2; exit "$SKIP"; }

[[ $# -eq 1 ]] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$1

# ---- prerequisites -------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, iptables)"
for tool in tcpdump ip iptables nc ss ping sysctl; do
    command -v "$tool" >/dev/null 2>&1 || skip "'$tool' not found"
done

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

# ---- names / addresses (unique per run) ------------------------------------
NS_A="ustcp-cap-a-$$"          # capture side, runs the nc clients
NS_B="ustcp-cap-b-$$"          # receiver side, runs the nc listeners
NS_VA="ustcp-cap-va-$$"        # VLAN endpoints, only used by the relay
NS_VB="ustcp-cap-vb-$$"        # fallback (kernel without 8021q)
IF_A=veth-a                    # interfaces are created directly inside the
IF_B=veth-b                    # namespaces, so fixed names cannot collide
VID=100
IP_A=198.18.0.1 IP_B=198.18.0.2          # plain veth addresses
VIP_A=198.18.1.1 VIP_B=198.18.1.2        # VLAN 100 addresses
# TCP ports: > 10000, not 10288 (BEEP), so tcpdump runs no application decoder.
P_BULK=20001 P_CLOSED=20002 P_VLAN=20003 P_NOOPT=20004
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

WORK=$(mktemp -d /tmp/ustcp-captures.XXXXXX)
PCAP_TMP="$WORK/capture.pcap"
TCPDUMP_PID=""
BG_PIDS=()        # nc listeners and relays, killed on exit
NAMESPACES=()

# stop_tcpdump: SIGINT (tcpdump flushes and closes the file), then reap it.
# A background process starts with SIGINT ignored until tcpdump installs its
# handler, so if we are interrupted very early the signal can be lost: resend
# it while polling, and fall back to SIGKILL after ~5 s. Returns tcpdump's status.
stop_tcpdump() {
    local pid=$TCPDUMP_PID tries=0 rc=0
    [[ -n $pid ]] || return 0
    TCPDUMP_PID=""
    kill -INT "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if (( ++tries > 50 )); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        (( tries % 10 )) || kill -INT "$pid" 2>/dev/null || true
        sleep 0.1
    done
    wait "$pid" || rc=$?
    return "$rc"
}

cleanup() {
    local rc=$?
    set +e
    # Background helpers first, then tcpdump, then the namespaces.
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    stop_tcpdump 2>/dev/null
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# wait_for TENTHS CMD...: poll CMD until it succeeds, for at most TENTHS/10 s.
wait_for() {
    local tries=$1; shift
    while ! "$@"; do
        (( tries-- > 0 )) || return 1
        sleep 0.1
    done
}

# new_ns NAME: namespace with lo up and IPv6 disabled (no RS/MLD/ND noise).
# 'default.disable_ipv6' is set before any interface exists so all inherit it.
new_ns() {
    ip netns add "$1" || skip "cannot create network namespaces"
    NAMESPACES+=("$1")
    if [[ -d /proc/sys/net/ipv6 ]]; then
        ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
                                      net.ipv6.conf.default.disable_ipv6=1
    fi
    ip netns exec "$1" ip link set lo up
}

# ---- topology ---------------------------------------------------------------
new_ns "$NS_A"
new_ns "$NS_B"
ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" ||
    skip "cannot create veth pairs"
in_a ip addr add "$IP_A/24" dev "$IF_A"
in_b ip addr add "$IP_B/24" dev "$IF_B"
in_a ip link set "$IF_A" up
in_b ip link set "$IF_B" up

# VLAN: native 802.1Q sub-interfaces when the kernel has 8021q; otherwise a
# userspace relay (vlan_relay.py) tags/untags frames between veth-a/veth-b and
# two extra endpoint namespaces. Either way real kernel TCP runs over VLAN 100.
if in_a ip link add link "$IF_A" name "$IF_A.$VID" type vlan id "$VID" 2>/dev/null; then
    VLAN_MODE=native
    VLAN_CLIENT_NS=$NS_A VLAN_SERVER_NS=$NS_B
    in_b ip link add link "$IF_B" name "$IF_B.$VID" type vlan id "$VID"
    in_a ip addr add "$VIP_A/24" dev "$IF_A.$VID"
    in_b ip addr add "$VIP_B/24" dev "$IF_B.$VID"
    in_a ip link set "$IF_A.$VID" up
    in_b ip link set "$IF_B.$VID" up
else
    VLAN_MODE=relay
    for tool in python3 ethtool; do
        command -v "$tool" >/dev/null 2>&1 ||
            skip "kernel lacks 8021q and '$tool' (needed for the VLAN relay) is missing"
    done
    VLAN_CLIENT_NS=$NS_VA VLAN_SERVER_NS=$NS_VB
    new_ns "$NS_VA"
    new_ns "$NS_VB"
    ip link add vl-a netns "$NS_VA" type veth peer name vl-a-r netns "$NS_A"
    ip link add vl-b netns "$NS_VB" type veth peer name vl-b-r netns "$NS_B"
    for side in a b; do
        ns_end=$NS_VA ns_relay=$NS_A ip_end=$VIP_A trunk=$IF_A
        if [[ $side == b ]]; then
            ns_end=$NS_VB ns_relay=$NS_B ip_end=$VIP_B trunk=$IF_B
        fi
        # The relay copies frames verbatim: make the endpoint send complete
        # checksums and MTU-sized segments (no TSO/GSO super-packets).
        ip netns exec "$ns_end" ethtool -K "vl-$side" tx off tso off gso off >/dev/null 2>&1 ||
            ip netns exec "$ns_end" ethtool -K "vl-$side" tx off >/dev/null
        ip netns exec "$ns_end" ip addr add "$ip_end/24" dev "vl-$side"
        ip netns exec "$ns_end" ip link set "vl-$side" up
        ip netns exec "$ns_relay" ip link set "vl-$side-r" up
        ip netns exec "$ns_relay" python3 "$HERE/vlan_relay.py" \
            "$trunk" "vl-$side-r" "$VID" "$WORK/relay-$side.ready" &
        BG_PIDS+=($!)
        wait_for 100 test -e "$WORK/relay-$side.ready" || die "VLAN relay $side did not start"
    done
fi
echo "make_captures: VLAN mode: $VLAN_MODE" >&2

# Random 2% loss of the bulk transfer's data at the receiver -> SACK blocks.
in_b iptables -A INPUT -p tcp --dport "$P_BULK" \
    -m statistic --mode random --probability 0.02 -j DROP ||
    skip "iptables statistic match unavailable"

# ---- start capture ------------------------------------------------------------
# tcpdump prints "listening on ..." to stderr once the socket is active.
# Started via 'ip netns exec' directly (not a shell function) so that $! is
# tcpdump itself and our SIGINT reaches it. A 64 MiB buffer (-B, KiB) keeps
# the kernel from dropping packets during the fast veth transfer.
ip netns exec "$NS_A" tcpdump -i "$IF_A" -B 65536 -s 0 -U --immediate-mode -n -w "$PCAP_TMP" \
    2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
wait_for 100 grep -qs "listening on" "$WORK/tcpdump.err" ||
    die "tcpdump did not start: $(cat "$WORK/tcpdump.err")"

# ---- helpers for nc -----------------------------------------------------------
# listen NS ADDR PORT: start a one-shot nc listener discarding its input, and
# wait until the socket is really in LISTEN state.
listen() {
    local ns=$1 addr=$2 port=$3
    ip netns exec "$ns" nc -l -d -n "$addr" "$port" >/dev/null &
    BG_PIDS+=($!)
    wait_for 100 listening "$ns" "$port" || die "nc listener on $addr:$port did not come up"
}
listening() {
    [[ -n $(ip netns exec "$1" ss -ltnH "sport = :$2") ]]
}
# send NS NBYTES ADDR PORT: push NBYTES zeros from NS, close cleanly, then
# wait for the listener (last background pid) to exit. -w bounds a stalled
# connection (e.g. broken VLAN path) so the script fails instead of hanging.
send() {
    local ns=$1 nbytes=$2 addr=$3 port=$4
    head -c "$nbytes" /dev/zero | ip netns exec "$ns" nc -N -n -w 10 "$addr" "$port"
    wait "${BG_PIDS[-1]}"
    unset 'BG_PIDS[-1]'
}

# ---- traffic ------------------------------------------------------------------
# 1. ARP (first contact) + ICMP echo.
in_a ping -c 3 -i 0.2 -W 2 "$IP_B" >/dev/null

# 2. Bulk transfer with Linux default options (SACK, wscale, TS) and loss.
#    Without TSO/GSO every MSS-sized segment is a separate loss candidate, so
#    SACK blocks are practically certain; ethtool is optional, and we retry
#    (new connection) in the unlikely case no SACK block was captured.
if command -v ethtool >/dev/null 2>&1; then
    in_a ethtool -K "$IF_A" tso off gso off >/dev/null 2>&1 || true
fi
# capture_has REGEX: does the (still growing) capture decode to a matching line?
# grep reads everything (no -q) so tcpdump never dies of SIGPIPE under pipefail.
capture_has() {
    { tcpdump -nt -r "$PCAP_TMP" 2>/dev/null || true; } | grep -E "$1" >/dev/null
}
sack_seen() { capture_has "sack [0-9]+ \{"; }
for attempt in 1 2 3 4 5; do
    listen "$NS_B" "$IP_B" "$P_BULK"
    send "$NS_A" $((4 * 1024 * 1024)) "$IP_B" "$P_BULK"
    wait_for 50 sack_seen && break
    (( attempt < 5 )) || die "no SACK blocks captured after $attempt transfers"
done

# 3. Closed port: SYN answered by RST.
in_a nc -z -n -w 2 "$IP_B" "$P_CLOSED" 2>/dev/null || true

# 4. Transfer over VLAN 100 (802.1Q frames, including ARP inside the VLAN).
listen "$VLAN_SERVER_NS" "$VIP_B" "$P_VLAN"
send "$VLAN_CLIENT_NS" $((256 * 1024)) "$VIP_B" "$P_VLAN"

# 5. Client without timestamps and SACK: SYN carries only mss,nop,wscale etc.
in_a sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0
listen "$NS_B" "$IP_B" "$P_NOOPT"
send "$NS_A" $((256 * 1024)) "$IP_B" "$P_NOOPT"

# 6. Sentinel: a ping with an unusual size; once its reply is in the file,
#    everything sent before it has been written as well.
in_a ping -c 1 -s 333 -W 2 "$IP_B" >/dev/null
wait_for 100 capture_has "ICMP echo reply.*length 341" || die "capture did not record the sentinel packet"

# ---- stop capture, publish results ------------------------------------------------
stop_tcpdump || die "tcpdump exited with an error: $(cat "$WORK/tcpdump.err")"
# Report tcpdump's statistics (e.g. "0 packets dropped by kernel").
sed -n 's/^/make_captures: tcpdump: /; /dropped/p' "$WORK/tcpdump.err" >&2

cp "$PCAP_TMP" "$OUTDIR/linux-veth.pcap"
if command -v editcap >/dev/null 2>&1; then
    editcap -F pcapng "$OUTDIR/linux-veth.pcap" "$OUTDIR/linux-veth.pcapng"
else
    echo "make_captures: editcap not found, not writing linux-veth.pcapng" >&2
    rm -f "$OUTDIR/linux-veth.pcapng"
fi
echo "make_captures: wrote $OUTDIR/linux-veth.pcap" \
     "($(tcpdump -nt -r "$OUTDIR/linux-veth.pcap" 2>/dev/null | wc -l) packets)"
