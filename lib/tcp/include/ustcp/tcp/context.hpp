// Per-engine state every lib/tcp call needs: configuration, the outbox, counters,
// the engine-wide challenge-ACK budget (RFC 5961 §7) and the ISN/cookie secrets.
// One Context per lcore; nothing in it is shared between lcores.
#pragma once

#include <cstdint>

#include "ustcp/base/time.hpp"
#include "ustcp/tcp/buffer.hpp"
#include "ustcp/tcp/config.hpp"
#include "ustcp/tcp/isn.hpp"
#include "ustcp/tcp/output.hpp"
#include "ustcp/tcp/sack.hpp"
#include "ustcp/tcp/syncookie.hpp"

namespace ustcp::tcp {

/// Why segments were dropped or answered specially; the engine exports these.
struct Counters {
    std::uint64_t segs_in = 0;
    std::uint64_t segs_out = 0;
    std::uint64_t rst_sent = 0;
    std::uint64_t drop_bad_options = 0;   ///< malformed option list
    std::uint64_t drop_malformed = 0;     ///< TCP header too short or data offset wrong
    std::uint64_t drop_bad_checksum = 0;  ///< TCP checksum failed
    std::uint64_t drop_unacceptable = 0;  ///< failed the RFC 9293 sequence test (ACK sent)
    std::uint64_t drop_paws = 0;          ///< RFC 7323 PAWS (ACK sent)
    std::uint64_t drop_no_timestamp = 0;  ///< timestamps negotiated, segment had none
    std::uint64_t drop_no_ack = 0;        ///< ACK bit off in a synchronized state
    std::uint64_t drop_bad_ack = 0;       ///< ACK outside [SND.UNA - MAX.SND.WND, SND.NXT]
    std::uint64_t drop_out_of_order = 0;  ///< a FIN or data beyond RCV.NXT that could not be queued
    std::uint64_t ooo_queued = 0;         ///< segments held in a reassembly queue
    std::uint64_t drop_no_buffer = 0;     ///< payload dropped: no BufNode or buffer left (BufferStore)
    std::uint64_t delayed_acks = 0;       ///< ACKs sent when the delayed-ACK timer fired
    std::uint64_t window_probes = 0;      ///< zero-window probes sent (persist timer)
    std::uint64_t keepalives = 0;         ///< keepalive probes sent
    std::uint64_t fast_retransmits = 0;   ///< segments resent on duplicate or partial ACKs
    std::uint64_t drop_listen = 0;        ///< segment to a listener that is neither SYN nor ACK
    std::uint64_t challenge_acks = 0;
    std::uint64_t challenge_acks_suppressed = 0;
    std::uint64_t rst_ignored = 0;        ///< RST outside the window, or with the wrong ACK in SYN-SENT
    std::uint64_t syn_backlog_drops = 0;  ///< SYN-RECEIVED set full and cookies off
    std::uint64_t syn_cookies_sent = 0;
    std::uint64_t syn_cookies_ok = 0;
    std::uint64_t syn_cookies_bad = 0;
    std::uint64_t accept_overflows = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t time_wait_reused = 0;   ///< TIME-WAIT ended early by a new incarnation's SYN
    std::uint64_t ooo_pruned = 0;         ///< out-of-order segments dropped to free buffers
    // Loss recovery (RFC 2018/2883/6675/8985); each also kept per connection (ConnStats).
    std::uint64_t sack_recoveries = 0;    ///< SACK-based recovery episodes started (RFC 6675 §5)
    std::uint64_t rack_loss_marked = 0;   ///< ranges RACK marked lost (RFC 8985 §6.2)
    std::uint64_t tlp_sent = 0;           ///< tail-loss probes sent (RFC 8985 §7)
    std::uint64_t spurious_undos = 0;     ///< window reductions undone after D-SACKs
    std::uint64_t bytes_sacked = 0;       ///< payload bytes the peers SACKed (first report only)
    std::uint64_t bytes_retrans = 0;      ///< payload bytes sent again
    std::uint64_t dsacks_in = 0;          ///< D-SACK blocks received
    std::uint64_t dsacks_out = 0;         ///< D-SACK blocks sent
    std::uint64_t sack_blocks_invalid = 0;  ///< SACK blocks outside SND.UNA..SND.MAX or empty: ignored
    std::uint64_t sack_state_exhausted = 0;  ///< no SenderSack block free: recovery without SACK
};

/// Calls f(name, value) for every Counters field, in declaration order (for stats export).
template <class F>
void for_each_counter(const Counters& c, F&& f) {
    f("segs_in", c.segs_in);
    f("segs_out", c.segs_out);
    f("rst_sent", c.rst_sent);
    f("drop_bad_options", c.drop_bad_options);
    f("drop_malformed", c.drop_malformed);
    f("drop_bad_checksum", c.drop_bad_checksum);
    f("drop_unacceptable", c.drop_unacceptable);
    f("drop_paws", c.drop_paws);
    f("drop_no_timestamp", c.drop_no_timestamp);
    f("drop_no_ack", c.drop_no_ack);
    f("drop_bad_ack", c.drop_bad_ack);
    f("drop_out_of_order", c.drop_out_of_order);
    f("ooo_queued", c.ooo_queued);
    f("drop_no_buffer", c.drop_no_buffer);
    f("delayed_acks", c.delayed_acks);
    f("window_probes", c.window_probes);
    f("keepalives", c.keepalives);
    f("fast_retransmits", c.fast_retransmits);
    f("drop_listen", c.drop_listen);
    f("challenge_acks", c.challenge_acks);
    f("challenge_acks_suppressed", c.challenge_acks_suppressed);
    f("rst_ignored", c.rst_ignored);
    f("syn_backlog_drops", c.syn_backlog_drops);
    f("syn_cookies_sent", c.syn_cookies_sent);
    f("syn_cookies_ok", c.syn_cookies_ok);
    f("syn_cookies_bad", c.syn_cookies_bad);
    f("accept_overflows", c.accept_overflows);
    f("retransmits", c.retransmits);
    f("timeouts", c.timeouts);
    f("time_wait_reused", c.time_wait_reused);
    f("ooo_pruned", c.ooo_pruned);
    f("sack_recoveries", c.sack_recoveries);
    f("rack_loss_marked", c.rack_loss_marked);
    f("tlp_sent", c.tlp_sent);
    f("spurious_undos", c.spurious_undos);
    f("bytes_sacked", c.bytes_sacked);
    f("bytes_retrans", c.bytes_retrans);
    f("dsacks_in", c.dsacks_in);
    f("dsacks_out", c.dsacks_out);
    f("sack_blocks_invalid", c.sack_blocks_invalid);
    f("sack_state_exhausted", c.sack_state_exhausted);
}
static_assert(sizeof(Counters) == 41 * sizeof(std::uint64_t), "for_each_counter lists every field");

/// The engine-wide challenge-ACK allowance per one-second window.
struct ChallengeAckBudget {
    Instant window_start;
    std::uint32_t used = 0;
};

struct Context {
    const Config& cfg;
    Outbox& out;
    Counters& counters;
    ChallengeAckBudget& challenge;
    const IsnGenerator& isn;
    const SynCookies& cookies;
    /// Where connections keep payload buffers (nodes, deferred release).
    BufferStore& bufs;
    /// When true, on_segment() leaves a bare ACK it owes pending instead of sending it, so
    /// that data or a FIN the application produces in the same burst carries it. The engine
    /// then calls Connection::flush_ack() for every connection the burst touched (DESIGN:
    /// one ACK per connection per burst).
    bool defer_acks = false;
    /// The most payload one segment may carry when the port segments it on the way out (TCP
    /// segmentation offload): output() then sends up to this much, a whole number of MSS, as
    /// one OutSegment. 0 (and anything up to the MSS): one MSS per segment.
    std::uint32_t tso_max = 0;
    /// Where SACK senders borrow their recovery state (scoreboard, RACK log). Null: none,
    /// every connection recovers as without SACK (its ACKs still carry SACK blocks).
    SackPool* sacks = nullptr;
};

/// Sizes of a Stack's own buffers when no BufferOps are given (tests and tools).
struct StackBuffers {
    std::size_t nodes = 8192;         ///< BufNodes for all connections' queues
    std::size_t heap_blocks = 8192;   ///< HeapBuffers blocks (the engine uses its mbuf pool instead)
    std::uint32_t block_size = 2048;  ///< as an mbuf's data room
    std::size_t sack_senders = 1024;  ///< SenderSack blocks: connections in SACK recovery at once
};

/// Owns everything a Context refers to: one per lcore in the engine, one per endpoint in
/// tests and tools. Not copyable or movable, since `ctx` points into it. Without BufferOps
/// it backs payload with its own HeapBuffers.
struct Stack {
    Stack(const Config& c, const SipKey& isn_key, const SipKey& cookie_key, StackBuffers sizes = {})
        : cfg(c),
          isn(isn_key),
          cookies(cookie_key),
          heap(sizes.heap_blocks, sizes.block_size),
          bufs(heap.ops(), sizes.nodes),
          sacks(sizes.sack_senders),
          ctx{cfg, out, counters, budget, isn, cookies, bufs} {
        ctx.sacks = &sacks;
    }
    /// `sack_senders`: as StackBuffers::sack_senders.
    Stack(const Config& c, const SipKey& isn_key, const SipKey& cookie_key, BufferOps ops, std::size_t nodes,
          std::size_t sack_senders = 1024)
        : cfg(c), isn(isn_key), cookies(cookie_key), heap(0, 0), bufs(ops, nodes), sacks(sack_senders),
          ctx{cfg, out, counters, budget, isn, cookies, bufs} {
        ctx.sacks = &sacks;
    }
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    /// After the outbox's segments were transmitted (or copied): clears it and frees the
    /// buffers connections released, which those segments may have borrowed.
    void done_with_output() noexcept {
        out.clear();
        bufs.collect();
    }

    Config cfg;
    Outbox out;
    Counters counters;
    ChallengeAckBudget budget;
    IsnGenerator isn;
    SynCookies cookies;
    HeapBuffers heap;
    BufferStore bufs;
    SackPool sacks;
    Context ctx;
};

}  // namespace ustcp::tcp
