#!/usr/bin/env bash
# Installs what ustcp's build, tests and benchmarks need on Debian 12, and reserves
# 2 MB hugepages. Idempotent: quiet when everything is already there.
#
#   scripts/setup.sh            # as root (CI runs it as root)
#   USTCP_HUGEPAGES=512 scripts/setup.sh
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++ clang libclang-rt-14-dev llvm-14
  libdpdk-dev dpdk-dev libnuma-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev nettle-dev
  libfmt-dev libtomlplusplus-dev libcli11-dev libpcap-dev
  # real peers and capture tools for the interop tier
  tcpdump tshark wireshark-common netcat-openbsd iputils-ping curl iperf iperf3 wrk apache2-utils
  python3 python3-scapy iproute2 iptables procps kmod ethtool
  # benchmark plots
  gnuplot-nox
  # bench/run.sh: nginx beside the HTTP app; callgrind instruction counts for profiles
  nginx-light valgrind
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup.sh: need root for: $*" >&2; return 1; fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2 MB hugepages for DPDK. Tests fall back to --no-huge when none can be had.
want=${USTCP_HUGEPAGES:-512}
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -w "$hp" ] || [ "$(id -u)" -eq 0 ]; then
  have=$(cat "$hp" 2>/dev/null || echo 0)
  if [ "$have" -lt "$want" ]; then
    echo "$want" > "$hp" 2>/dev/null || true
    have=$(cat "$hp" 2>/dev/null || echo 0)
    [ "$have" -ge "$want" ] || echo "setup.sh: asked for $want 2 MB hugepages, got $have; DPDK tests will use --no-huge where needed"
  fi
  if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
      echo "setup.sh: could not mount hugetlbfs at /dev/hugepages; DPDK tests will use --no-huge"
  fi
else
  echo "setup.sh: not root, hugepages not reserved; DPDK tests will use --no-huge"
fi
