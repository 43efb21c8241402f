// DPDK runtime pieces for the engine: EAL start-up with the project's safety rules,
// per-lcore mbuf pools as lib/tcp BufferOps, ethdev ports with negotiated offloads,
// and DpdkPort, the engine::Port over one RX/TX queue pair. The only module that
// includes rte_*.h (here in the .cpp files; this header exposes none of them).
//
//   auto eal = dpdk::start_eal(argc, argv);          // adds --no-pci / --file-prefix when absent
//   dpdk::Pool pool("ustcp0", 16383, 256, 2176, socket);
//   auto info = dpdk::setup_port(0, {.queues = 1}, pool);
//   dpdk::DpdkPort port(0, 0, pool, info);
//   engine::Engine e(cfg, port, isn, cookie);
//   while (running) e.poll(dpdk::now());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/engine/port.hpp"

struct rte_mempool;
struct rte_mbuf;

namespace ustcp::dpdk {

/// What start_eal() did. `app_argc`/`app_argv` are the arguments after `--`.
struct EalStart {
    int app_argc = 0;
    char** app_argv = nullptr;
    std::vector<std::string> added;  ///< EAL arguments we added (e.g. --no-pci), for the banner
};

/// rte_eal_init with the project's rules: `--no-pci` unless the user named devices
/// (-a/--allow/-b/--block/--no-pci), and a unique `--file-prefix` (ustcp-<pid>) unless
/// given. Errors: the EAL's own message (rte_strerror).
Result<EalStart, std::string> start_eal(int argc, char** argv);
/// rte_eal_cleanup.
void stop_eal();

/// Monotonic time from the TSC.
Instant now() noexcept;

/// One mbuf pool (per lcore per NUMA socket), also serving lib/tcp's copying writes.
class Pool {
public:
    /// Errors are reported by ok()/error(): the pool could not be created.
    Pool(const std::string& name, std::uint32_t mbufs, std::uint32_t cache, std::uint16_t data_room, int socket);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();
    [[nodiscard]] bool ok() const noexcept { return mp_ != nullptr; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] rte_mempool* get() const noexcept { return mp_; }
    /// lib/tcp's view of the pool: alloc an mbuf (its tailroom), free in bulk.
    [[nodiscard]] tcp::BufferOps ops() noexcept;
    /// Mbufs not in the pool now (in flight, queued in lib/tcp, held by the NIC).
    [[nodiscard]] std::uint32_t in_use() const noexcept;
    [[nodiscard]] std::uint64_t alloc_failures() const noexcept { return alloc_failed_; }

private:
    static tcp::MutBuf alloc(void* self, std::uint32_t want) noexcept;
    static void free_bulk(void* self, void* const* h, std::uint32_t n) noexcept;
    rte_mempool* mp_ = nullptr;
    std::string error_;
    std::uint64_t alloc_failed_ = 0;
};

struct PortSetup {
    std::uint16_t queues = 1;
    std::uint16_t rx_desc = 1024;
    std::uint16_t tx_desc = 1024;
    std::uint16_t mtu = 1500;
    bool want_checksum_offload = true;
};

/// What setup_port() negotiated.
struct PortInfo {
    std::uint16_t port_id = 0;
    std::string driver;
    std::string name;
    MacAddr mac;
    engine::PortCaps caps;
    bool multi_seg_tx = false;  ///< chains of mbufs may be sent (zero-copy payload)
    std::uint16_t queues = 1;
};

/// Configures and starts ethdev `port_id`: queues, descriptors, MTU, offloads negotiated
/// from rte_eth_dev_info. Errors: the step that failed, with rte_strerror.
Result<PortInfo, std::string> setup_port(std::uint16_t port_id, const PortSetup& s, Pool& pool);
/// Probes a device from its devargs ("net_tap0,iface=ustcp0") and returns its ethdev port id
/// (the device is named `name`). Errors: rte_dev_probe's, or no ethdev of that name appeared.
Result<std::uint16_t, std::string> attach_port(const std::string& devargs, const std::string& name);
/// rte_eth_dev_stop + close.
void close_port(std::uint16_t port_id);
/// Ethdev ports the EAL probed.
std::uint16_t port_count() noexcept;

/// engine::Port over queue `queue` of `port_id`, owned by one lcore.
class DpdkPort final : public engine::Port {
public:
    DpdkPort(std::uint16_t port_id, std::uint16_t queue, Pool& pool, const PortInfo& info);

    std::uint16_t rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept override;
    std::uint16_t tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept override;
    void free_rx(void* const* handles, std::uint16_t n) noexcept override;
    bool materialize(engine::TxFrame& f) noexcept override;
    tcp::BufferOps buffer_ops() noexcept override { return pool_.ops(); }
    [[nodiscard]] MacAddr mac() const noexcept override { return info_.mac; }
    [[nodiscard]] engine::PortCaps caps() const noexcept override { return info_.caps; }
    [[nodiscard]] const engine::PortStats& stats() const noexcept override { return stats_; }

    std::uint64_t rx_multiseg_dropped = 0;  ///< RX chains that could not be linearised

private:
    rte_mbuf* build(engine::TxFrame& f, bool allow_chain) noexcept;

    std::uint16_t port_;
    std::uint16_t queue_;
    Pool& pool_;
    PortInfo info_;
    engine::PortStats stats_;
};

}  // namespace ustcp::dpdk
