#!/usr/bin/env bash
# tests/interop/tap/fault_sack.sh SERVER: SACK against the Linux kernel through net_tap while
# ustcp-server's port loses 2% of what it receives and 2% of what it sends (--fault):
#  - a 4 MiB echo to nc comes back byte-exact (SHA-256): Linux's data lost on ustcp's RX is
#    repaired by Linux from ustcp's SACK blocks, ustcp's data lost on TX by ustcp from Linux's;
#  - the capture on the tap interface (sack_check.py) shows both: Linux's SACK blocks, with
#    ustcp resending holes below them and never bytes Linux had already acknowledged or
#    SACKed; ustcp's SACK blocks covering only bytes Linux sent (D-SACK only for duplicates);
#  - /ustcp/stats (telemetry) counts SACK recoveries and SACKed bytes, and the fault port's
#    losses on both directions.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
command -v tcpdump >/dev/null || tap_skip "tcpdump not found"
"$PY" -c 'import scapy' 2>/dev/null || tap_skip "scapy not found (python3-scapy)"

tap_start "$SERVER" --app echo --listen 7 --fault "rx:loss=2%,seed=3;tx:loss=2%,seed=4"
in_ns sysctl -qw net.ipv4.tcp_sack=1 net.ipv4.tcp_timestamps=1
tap_tcpdump_start "$WORK/sack.pcap"
echo_check $((4 << 20))
tap_tcpdump_stop
echo "ok: 4 MiB echo byte-exact with 2% lost on each of the server's directions"
"$PY" "$HERE/sack_check.py" "$WORK/sack.pcap" "$USTCP_IP" "$LINUX_IP" || tap_fail "the capture shows SACK misused"
echo "ok: SACK used both ways (capture)"

tap_telemetry "$WORK/telemetry.out" /ustcp/stats
"$PY" - "$WORK/telemetry.out" <<'PYEOF' || tap_fail "telemetry: $(head -c 3000 "$WORK/telemetry.out")"
import json, sys
text = open(sys.argv[1]).read()
s = json.JSONDecoder().raw_decode(text, text.index("{"))[0]["/ustcp/stats"]
t, f, port = s["tcp"], s["faults"], s["port"]
assert f["rx_lost"] > 0 and f["tx_lost"] > 0, f
assert t["sack_recoveries"] > 0 and t["bytes_sacked"] > 0 and t["fast_retransmits"] + t["retransmits"] > 0, t
# What ustcp resent stays near what never reached Linux: the frames its fault port lost (ACKs
# among them) and those the tap's full TX queue dropped. No resending of SACKed data.
gone = f["tx_lost"] + port["tx_dropped"]
assert t["bytes_retrans"] <= 1.5 * 1448 * gone + 16 * 1024, (t["bytes_retrans"], f["tx_lost"], port["tx_dropped"])
print("ok: telemetry: %d SACK recoveries, %d bytes SACKed, %d bytes resent for %d frames lost on TX (and %d "
      "dropped by the tap), %d RACK losses, %d TLPs, %d RTOs, %d D-SACKs in" % (
          t["sack_recoveries"], t["bytes_sacked"], t["bytes_retrans"], f["tx_lost"], port["tx_dropped"],
          t["rack_loss_marked"], t["tlp_sent"], t["timeouts"], t["dsacks_in"]))
PYEOF
tap_stop
echo "ok: clean shutdown, every mbuf returned"
