// The EAL for tests and benchmarks that need DPDK libraries (rte_hash, mempools) but no
// device and no root:
//
//   if (int rc = dpdk::init_test_eal("ustcp-bench-micro"); rc != 0) skip(rc);
//
// Arguments: --no-pci, --no-telemetry, --log-level=error, one lcore, and a private
// --file-prefix (program name and pid) so that concurrent runs never share runtime files.
// Memory: --no-huge with `mem_mb` MiB of anonymous memory (the default, so runs do not
// depend on or take the machine's hugepages); with USTCP_EAL_HUGEPAGES=1 in the
// environment, --in-memory hugepages instead (falling back to nothing: a failed hugepage
// init is reported, not retried, because the EAL can be initialised once per process).
// The calling thread's CPU affinity is restored afterwards, so threads it starts later
// are not all pinned to the EAL's lcore.
#pragma once

namespace ustcp::dpdk {

/// Initialises the EAL once per process (later calls return the first result): 0, or a
/// negative errno from rte_eal_init.
int init_test_eal(const char* program, unsigned mem_mb = 1024) noexcept;

/// Whether init_test_eal chose hugepages.
bool test_eal_uses_hugepages() noexcept;

}  // namespace ustcp::dpdk
