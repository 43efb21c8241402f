// Bulk transfer end to end: 64 MiB from connection A to connection B, each in its own Stack,
// over a lossless in-memory link with a propagation delay and a 10 Gbit/s serialisation
// rate, on a fake clock driven by the link's arrivals and the connections' timers.
//
// The link behaves as a NIC pair would: each OutSegment's payload is gathered (copy_payload)
// into a block of the *receiving* Stack's HeapBuffers, as the receiving NIC's DMA would
// fill an mbuf from its own pool, and handed over with on_segment(BufRef), so the receiver
// owns it from then on. A receiver pool that runs dry would be a NIC drop; it is counted and
// fails the test. The receiving application reads with receive() (copying) or, in the
// zero-copy variants, with receive_bufs() and frees each buffer back to its own pool; the
// sending application writes with send() or, zero copy, with send_buf() of blocks from its
// own pool. A writes everything, then close(); B reads to end of stream, then close().
//
// Variants (window scaling on in all): timestamps on and off; copying and zero-copy
// applications; a 1 MiB window; a receiver reading eagerly (the window stays open), at a
// pace below the link rate (its buffer fills, the window closes and reopens), or stalling
// for a while halfway (zero window, persist probes, window update).
//
// Checked: SHA-256 of the bytes written equals SHA-256 of the bytes read; the transfer
// finishes in bounded virtual time (close to what the wire, the reader's pace and any stall
// allow) with no retransmission; no global operator new in the steady state (nor anywhere
// from connect() to the last close); no outbox overflow or NIC drop; and after the FIN
// exchange and TIME-WAIT expiry (timers only) every buffer and node is back on both stacks,
// with no drop_no_buffer.
//
// This binary replaces global operator new to count calls (as test_no_alloc.cpp does for its
// own binary), so gtest assertions are kept out of the counted region.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.hpp"
#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"

// ---------------------------------------------------------------------------
// Counting replacements of the global allocation functions
// ---------------------------------------------------------------------------

#include "counting_new.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using ustcp::test::Sha256;

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define USTCP_BULK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define USTCP_BULK_ASAN 1
#endif

/// Bytes each transfer moves: 64 MiB, or 8 MiB under AddressSanitizer, where every byte the
/// SHA-256 and the copies touch is checked: with the portable SHA-256 (a CPU without the SHA
/// instructions) the 64 MiB variants would take tens of seconds there, too close to the
/// sanitizer run's timeout. USTCP_BULK_MIB overrides either.
std::size_t transfer_bytes() {
    if (const char* e = std::getenv("USTCP_BULK_MIB"); e != nullptr && std::atoi(e) > 0) {
        return static_cast<std::size_t>(std::atoi(e)) << 20;
    }
#ifdef USTCP_BULK_ASAN
    return std::size_t{8} << 20;
#else
    return std::size_t{64} << 20;
#endif
}

const Ipv4Addr kA(198, 18, 0, 1);
const Ipv4Addr kB(198, 18, 0, 2);
constexpr std::uint16_t kPortA = 40000;
constexpr std::uint16_t kPortB = 5001;

SipKey key(std::uint64_t seed) { return SipKey::from_words(0x0123456789abcdefull ^ seed, 0xfedcba9876543210ull + seed); }

// ---------------------------------------------------------------------------
// The link
// ---------------------------------------------------------------------------

/// One direction of the link: a fixed-capacity FIFO of frames in flight, each with its
/// arrival time. Rate and delay make arrivals spread out as on a real wire.
class Pipe {
public:
    static constexpr Duration kDelay = Duration::micros(25);  // one way: a 50 us RTT
    static constexpr std::int64_t kOverhead = 78;  // Ethernet + preamble/IFG + IPv4 + TCP headers, bytes

    struct Frame {
        Instant at;
        wire::TcpRepr hdr;
        BufRef buf;
    };

    explicit Pipe(std::size_t cap) : ring_(cap) {}

    /// Puts every segment of `from`'s outbox on the wire, each payload copied into a block of
    /// `to` (the receiver's pool, as its NIC would), then lets `from` release its buffers.
    void transmit(Stack& from, HeapBuffers& to, Instant now) {
        for (const OutSegment& s : from.out.segments()) {
            const auto len = static_cast<std::uint32_t>(s.payload_len());
            Frame f{};
            f.hdr = s.hdr;
            if (len > 0) {
                const MutBuf m = to.alloc(len);
                if (m.handle == nullptr || m.cap < len) {
                    if (m.handle != nullptr) to.free(m.handle);
                    ++nic_drops_;  // the receiving NIC found no buffer: a loss (fails the test)
                    continue;
                }
                s.copy_payload(m.data);
                f.buf = BufRef{m.handle, m.data, len};
            }
            if (n_ == ring_.size()) {
                if (f.buf.handle != nullptr) to.free(f.buf.handle);
                ++overflows_;
                continue;
            }
            // 10 Gbit/s: 0.8 ns per byte on the wire, frames back to back.
            const Instant start = std::max(now, busy_until_);
            busy_until_ = start + Duration::nanos((len + kOverhead) * 8 / 10);
            f.at = busy_until_ + kDelay;
            ring_[(head_ + n_++) % ring_.size()] = f;
            ++frames_;
        }
        for (const Event& e : from.out.events()) {
            if (e.kind == EventKind::Error) ++errors_;
        }
        from.done_with_output();
    }

    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    [[nodiscard]] Instant next_at() const noexcept { return n_ == 0 ? kNever : ring_[head_].at; }
    Frame pop() noexcept {
        Frame f = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        --n_;
        return f;
    }
    [[nodiscard]] std::uint64_t nic_drops() const noexcept { return nic_drops_; }
    [[nodiscard]] std::uint64_t overflows() const noexcept { return overflows_; }
    [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }
    [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }

private:
    std::vector<Frame> ring_;
    std::size_t head_ = 0;
    std::size_t n_ = 0;
    Instant busy_until_;
    std::uint64_t nic_drops_ = 0;
    std::uint64_t overflows_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t frames_ = 0;
};

// ---------------------------------------------------------------------------
// The applications
// ---------------------------------------------------------------------------

/// The sender's byte stream: xorshift64* output, produced in chunks (so a run never holds
/// 64 MiB), hashed as the connection accepts it.
class Source {
public:
    static constexpr std::size_t kChunk = 64 * 1024;

    explicit Source(std::size_t total) : total_(total), chunk_(kChunk) {}

    [[nodiscard]] std::size_t left() const noexcept { return total_ - done_; }
    /// The next bytes of the stream (at most to the end of the current chunk).
    [[nodiscard]] wire::Bytes peek() noexcept {
        if (off_ == len_) refill();
        return {chunk_.data() + off_, std::min(len_ - off_, left())};
    }
    /// `n` bytes of peek() were taken by the connection.
    void consume(std::size_t n) noexcept {
        sha_.update(chunk_.data() + off_, n);
        off_ += n;
        done_ += n;
    }
    [[nodiscard]] Sha256::Digest digest() noexcept { return sha_.finish(); }

private:
    void refill() noexcept {
        for (std::size_t i = 0; i < kChunk; i += 8) {
            state_ ^= state_ >> 12;
            state_ ^= state_ << 25;
            state_ ^= state_ >> 27;
            const std::uint64_t v = state_ * 0x2545F4914F6CDD1Dull;
            std::memcpy(chunk_.data() + i, &v, 8);
        }
        off_ = 0;
        len_ = kChunk;
    }

    std::size_t total_;
    std::size_t done_ = 0;
    std::vector<std::uint8_t> chunk_;
    std::size_t off_ = 0;
    std::size_t len_ = 0;
    std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
    Sha256 sha_;
};

struct BulkParams {
    const char* name;
    bool timestamps;
    bool zero_copy;              // send_buf() + receive_bufs() instead of send() + receive()
    std::uint32_t buffer;        // send_buffer and recv_buffer
    /// The receiving application's pace: 0 reads whatever arrives at once; otherwise it wakes
    /// every kReadPeriod and consumes this many Gbit/s' worth, slower than the link, so that
    /// its receive buffer fills and the window closes and reopens (window updates).
    std::uint32_t read_gbps = 0;
    /// Halfway through, the receiving application stops reading for this long: its buffer
    /// fills, the window goes to zero, the sender probes it (persist timer) and resumes on
    /// the window update that the reader's next read sends.
    std::uint32_t stall_ms = 0;
    /// Bytes per receive() call of the copying reader: not a multiple of the MSS, so reads
    /// end inside buffers.
    std::uint32_t read_size = 3000;
};

void PrintTo(const BulkParams& p, std::ostream* os) { *os << p.name; }

constexpr Duration kReadPeriod = Duration::micros(20);

/// What a run measured, checked by the test afterwards (outside the counted region).
struct Outcome {
    std::size_t total = 0;
    std::size_t received = 0;
    Sha256::Digest sent_digest{};
    Sha256::Digest recv_digest{};
    bool eof = false;
    bool stuck = false;          // no event left, yet not finished
    bool step_limit = false;
    bool send_error = false;     // send()/close() failed other than WouldBlock
    bool recv_error = false;
    std::size_t allocs_total = 0;   // connect() to the end
    std::size_t allocs_steady = 0;  // while the receiver was between 1/8 and 7/8 of the stream
    std::uint64_t steady_segments = 0;  // data segments B received in that span
    Instant start, data_done, end;
    State a_after_eof = State::Closed;
    State b_after_eof = State::Closed;
    bool a_time_wait = false;    // A was seen in TIME-WAIT
    std::size_t max_readable = 0;   // most in-order bytes B held unread
    std::uint32_t min_snd_wnd = std::numeric_limits<std::uint32_t>::max();  // A's smallest SND.WND, steady state
};

struct Endpoint {
    Endpoint(const Config& cfg, std::uint64_t seed, const FourTuple& t) : st(cfg, key(seed), key(seed + 100)), conn(t) {}
    Stack st;
    Connection conn;
};

class BulkTransfer {
public:
    explicit BulkTransfer(const BulkParams& p)
        : p_(p),
          a_(config(p), 1, FourTuple{kA, kB, kPortA, kPortB}),
          b_(config(p), 2, FourTuple{kB, kA, kPortB, kPortA}),
          ab_(16384),
          ba_(16384),
          src_(transfer_bytes()),
          read_buf_(p.read_size) {
        out_.total = transfer_bytes();
    }

    static Config config(const BulkParams& p) {
        Config c;
        c.timestamps = p.timestamps;
        c.window_scaling = true;
        c.send_buffer = p.buffer;
        c.recv_buffer = p.buffer;
        return c;
    }

    Outcome run() {
        Instant now = Instant::from_nanos(1'000'000'000);
        out_.start = now;
        const std::size_t steady_from = out_.total / 8;
        const std::size_t steady_to = out_.total - out_.total / 8;
        bool steady_started = false, steady_done = false;
        std::size_t steady_allocs0 = 0;
        std::uint64_t steady_segs0 = 0;

        g_allocs.store(0);
        g_counting.store(true);
        (void)a_.conn.connect(a_.st.ctx, now);
        ab_.transmit(a_.st, b_.st.heap, now);
        std::uint64_t step = 0;
        for (; step < kMaxSteps; ++step) {
            if (finished()) break;
            const Instant t = std::min({ab_.next_at(), ba_.next_at(), a_.conn.next_deadline(), b_.conn.next_deadline(),
                                        next_read_});
            if (t == kNever) {
                out_.stuck = true;
                break;
            }
            if (t > now) now = t;
            // Arrivals at B, then B's application reads.
            while (!ab_.empty() && ab_.next_at() <= now) {
                deliver_to_b(ab_.pop(), now);
                ba_.transmit(b_.st, a_.st.heap, now);
            }
            app_receive(now);
            ba_.transmit(b_.st, a_.st.heap, now);
            // Arrivals at A, then A's application writes.
            while (!ba_.empty() && ba_.next_at() <= now) {
                const Pipe::Frame f = ba_.pop();
                a_.conn.on_segment(a_.st.ctx, now, f.hdr, f.buf);
                ab_.transmit(a_.st, b_.st.heap, now);
            }
            app_send(now);
            ab_.transmit(a_.st, b_.st.heap, now);
            // Timers.
            if (a_.conn.next_deadline() <= now) {
                a_.conn.on_deadline(a_.st.ctx, now);
                ab_.transmit(a_.st, b_.st.heap, now);
            }
            if (b_.conn.next_deadline() <= now) {
                b_.conn.on_deadline(b_.st.ctx, now);
                ba_.transmit(b_.st, a_.st.heap, now);
            }
            if (a_.conn.state() == State::TimeWait) out_.a_time_wait = true;
            out_.max_readable = std::max(out_.max_readable, b_.conn.bytes_readable());
            if (steady_started && !steady_done) out_.min_snd_wnd = std::min(out_.min_snd_wnd, a_.conn.snd_wnd());
            // The steady-state window of the allocation count.
            if (!steady_started && out_.received >= steady_from) {
                steady_started = true;
                steady_allocs0 = g_allocs.load();
                steady_segs0 = b_.conn.stats().data_segs_in;
            }
            if (steady_started && !steady_done && out_.received >= steady_to) {
                steady_done = true;
                out_.allocs_steady = g_allocs.load() - steady_allocs0;
                out_.steady_segments = b_.conn.stats().data_segs_in - steady_segs0;
            }
        }
        g_counting.store(false);
        out_.allocs_total = g_allocs.load();
        out_.step_limit = step == kMaxSteps;
        out_.end = now;
        out_.sent_digest = src_.digest();
        out_.recv_digest = recv_sha_.finish();
        return out_;
    }

    [[nodiscard]] const Endpoint& a() const { return a_; }
    [[nodiscard]] const Endpoint& b() const { return b_; }
    [[nodiscard]] const Pipe& ab() const { return ab_; }
    [[nodiscard]] const Pipe& ba() const { return ba_; }
    [[nodiscard]] bool pending_send_buf() const { return pending_.handle != nullptr; }

private:
    static constexpr std::uint64_t kMaxSteps = 50'000'000;
    static constexpr std::size_t kRefs = 16;

    [[nodiscard]] bool finished() const noexcept {
        return a_.conn.state() == State::Closed && b_.conn.state() == State::Closed && ab_.empty() && ba_.empty();
    }

    void deliver_to_b(const Pipe::Frame& f, Instant now) {
        if (!b_opened_) {
            // B's passive open, as a listener would do it: the first segment is A's SYN.
            if (f.buf.handle != nullptr) b_.st.heap.free(f.buf.handle);
            if ((f.hdr.flags & wire::tcp_flags::SYN) == 0) return;
            b_opened_ = true;
            b_.conn.accept_syn(b_.st.ctx, now, f.hdr, nullptr);
            if (p_.read_gbps > 0) next_read_ = now + kReadPeriod;
            return;
        }
        b_.conn.on_segment(b_.st.ctx, now, f.hdr, f.buf);
    }

    void app_send(Instant now) {
        Connection& c = a_.conn;
        Context& ctx = a_.st.ctx;
        if (a_closed_ || c.state() == State::Closed) return;
        while (src_.left() > 0) {
            if (!p_.zero_copy) {
                const wire::Bytes d = src_.peek();
                auto r = c.send(ctx, now, d);
                if (!r) {
                    if (r.error() != Error::WouldBlock) out_.send_error = true;
                    return;
                }
                if (*r == 0) return;
                src_.consume(*r);
                continue;
            }
            if (pending_.handle == nullptr) {
                // The application writes straight into a buffer of its own stack's pool.
                const MutBuf m = a_.st.heap.alloc(a_.st.heap.block_size());
                if (m.handle == nullptr) return;  // pool empty for now: acknowledgments refill it
                const wire::Bytes d = src_.peek();
                const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(m.cap, d.size()));
                std::memcpy(m.data, d.data(), n);
                pending_ = BufRef{m.handle, m.data, n};
            }
            auto r = c.send_buf(ctx, now, pending_);
            if (!r) {
                if (r.error() != Error::WouldBlock) out_.send_error = true;
                return;  // still ours: offered again next time
            }
            src_.consume(pending_.len);
            pending_ = {};
        }
        if (!a_closed_) {
            a_closed_ = true;  // everything written: CLOSE, as an application that only sends would
            if (!c.close(ctx, now)) out_.send_error = true;
        }
    }

    void app_receive(Instant now) {
        if (!b_opened_ || out_.eof) return;
        if (p_.stall_ms > 0 && !stalled_ && out_.received >= out_.total / 2) {
            stalled_ = true;
            stall_until_ = now + Duration::millis(p_.stall_ms);
        }
        if (now < stall_until_) {
            next_read_ = stall_until_;  // wake up when the stall ends
            return;
        }
        if (p_.read_gbps == 0) {  // an eager reader takes whatever is there
            next_read_ = kNever;
            (void)read(now, std::numeric_limits<std::int64_t>::max());
            return;
        }
        // A paced reader wakes every kReadPeriod with that period's worth of credit. Credit
        // left when nothing more was readable is not banked (the reader idled); an overdraft
        // by a whole buffer (zero copy) is paid back at the next wake-up.
        if (now < next_read_) return;
        next_read_ = now + kReadPeriod;
        read_credit_ += static_cast<std::int64_t>(p_.read_gbps) * kReadPeriod.as_nanos() / 8;
        read_credit_ = std::min<std::int64_t>(read(now, read_credit_), 0);
        if (out_.eof) next_read_ = kNever;
    }

    /// Reads until `budget` bytes are consumed, nothing is readable, or the end of stream
    /// (then closes B). Returns what is left of the budget.
    std::int64_t read(Instant now, std::int64_t budget) {
        Connection& c = b_.conn;
        Context& ctx = b_.st.ctx;
        while (budget > 0) {
            std::size_t n = 0;
            if (!p_.zero_copy) {
                const auto want = static_cast<std::size_t>(std::min<std::int64_t>(budget, read_buf_.size()));
                auto r = c.receive(ctx, now, wire::MutBytes(read_buf_.data(), want));
                if (!r) {
                    if (r.error() != Error::WouldBlock) out_.recv_error = true;
                    return budget;
                }
                n = *r;
                recv_sha_.update(read_buf_.data(), n);
                out_.received += n;
                budget -= static_cast<std::int64_t>(n);
            } else {
                std::array<BufRef, kRefs> refs{};
                // Whole buffers only: near the end of the budget one at a time.
                const std::size_t k = budget >= static_cast<std::int64_t>(kRefs * 1460) ? kRefs : 1;
                auto r = c.receive_bufs(ctx, now, std::span<BufRef>(refs.data(), k));
                if (!r) {
                    if (r.error() != Error::WouldBlock) out_.recv_error = true;
                    return budget;
                }
                n = *r;
                for (std::size_t i = 0; i < n; ++i) {
                    recv_sha_.update(refs[i].data, refs[i].len);
                    out_.received += refs[i].len;
                    budget -= refs[i].len;
                    b_.st.heap.free(refs[i].handle);  // the application's now: back to its pool
                }
            }
            if (n == 0) {  // end of stream: the peer's FIN
                out_.eof = true;
                out_.data_done = now;
                out_.a_after_eof = a_.conn.state();
                out_.b_after_eof = c.state();
                if (!c.close(ctx, now)) out_.recv_error = true;
                return budget;
            }
        }
        return budget;
    }

    BulkParams p_;
    Endpoint a_;
    Endpoint b_;
    Pipe ab_;
    Pipe ba_;
    Source src_;
    Sha256 recv_sha_;
    std::vector<std::uint8_t> read_buf_;
    BufRef pending_{};
    Instant next_read_ = kNever;    // the reader's next wake-up (pacing, end of a stall)
    Instant stall_until_;
    bool stalled_ = false;
    std::int64_t read_credit_ = 0;
    bool b_opened_ = false;
    bool a_closed_ = false;
    Outcome out_;
};

// ---------------------------------------------------------------------------
// SHA-256 itself
// ---------------------------------------------------------------------------

std::string sha_hex(std::string_view s, bool accel) { return Sha256::hex(Sha256::of(s.data(), s.size(), accel)); }

/// Both implementations: the portable one, and the SHA instructions where the CPU has them.
class Sha256Impl : public ::testing::TestWithParam<bool> {};

TEST_P(Sha256Impl, KnownVectors) {
    const bool accel = GetParam();
    if (accel && !Sha256::cpu_has_sha()) GTEST_SKIP() << "no SHA instructions on this CPU";
    EXPECT_EQ(Sha256(accel).accelerated(), accel);
    // FIPS 180-2 appendix B and the empty string.
    EXPECT_EQ(sha_hex("abc", accel), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha_hex("", accel), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", accel),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", accel),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    const std::string million(1'000'000, 'a');
    EXPECT_EQ(sha_hex(million, accel), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_P(Sha256Impl, AnySplitGivesTheSameDigest) {
    const bool accel = GetParam();
    if (accel && !Sha256::cpu_has_sha()) GTEST_SKIP() << "no SHA instructions on this CPU";
    std::vector<std::uint8_t> data(5000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + (i >> 8));
    const Sha256::Digest whole = Sha256::of(data.data(), data.size(), accel);
    for (std::size_t step : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 1448u}) {
        Sha256 h(accel);
        for (std::size_t off = 0; off < data.size(); off += step) h.update(data.data() + off, std::min(step, data.size() - off));
        EXPECT_EQ(h.finish(), whole) << "step " << step;
    }
    // Lengths around the padding boundary and across several blocks, against the other
    // implementation too.
    for (std::size_t n = 0; n < 300; ++n) {
        Sha256 h(accel);
        h.update(data.data(), n / 2);
        h.update(data.data() + n / 2, n - n / 2);
        const Sha256::Digest d = h.finish();
        EXPECT_EQ(d, Sha256::of(data.data(), n, accel)) << "length " << n;
        EXPECT_EQ(d, Sha256::of(data.data(), n, !accel)) << "length " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(Sha256, Sha256Impl, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "ShaInstructions" : "Portable"; });

// ---------------------------------------------------------------------------
// The bulk transfer
// ---------------------------------------------------------------------------

class Bulk : public ::testing::TestWithParam<BulkParams> {};

TEST_P(Bulk, TransfersIntactWithoutAllocationAndReturnsEveryBuffer) {
    const BulkParams& p = GetParam();
    auto t = std::make_unique<BulkTransfer>(p);
    const Outcome o = t->run();
    const Endpoint& a = t->a();
    const Endpoint& b = t->b();

    // The run ended because both sides closed, not for want of events or steps.
    EXPECT_FALSE(o.stuck) << "A " << to_string(a.conn.state()) << ", B " << to_string(b.conn.state());
    EXPECT_FALSE(o.step_limit);
    EXPECT_FALSE(o.send_error);
    EXPECT_FALSE(o.recv_error);
    EXPECT_FALSE(t->pending_send_buf());
    EXPECT_EQ(a.conn.state(), State::Closed);
    EXPECT_EQ(b.conn.state(), State::Closed);
    EXPECT_FALSE(a.conn.failure().has_value());
    EXPECT_FALSE(b.conn.failure().has_value());

    // Options as configured.
    EXPECT_EQ(a.conn.timestamps_on(), p.timestamps);
    EXPECT_EQ(b.conn.timestamps_on(), p.timestamps);
    EXPECT_GT(a.conn.snd_wscale(), 0u);
    EXPECT_GT(b.conn.rcv_wscale(), 0u);
    EXPECT_EQ(a.conn.snd_mss(), p.timestamps ? 1448u : 1460u);

    // Every byte, in order.
    EXPECT_TRUE(o.eof);
    EXPECT_EQ(o.received, o.total);
    EXPECT_EQ(Sha256::hex(o.recv_digest), Sha256::hex(o.sent_digest));
    EXPECT_EQ(a.conn.stats().bytes_acked, o.total);
    EXPECT_EQ(b.conn.stats().bytes_in, o.total);
    // The FIN exchange: B read EOF in CLOSE-WAIT while A waited in FIN-WAIT-1/2; A (the
    // active closer) then went through TIME-WAIT, whose timer closed it.
    EXPECT_TRUE(o.a_after_eof == State::FinWait1 || o.a_after_eof == State::FinWait2) << to_string(o.a_after_eof);
    EXPECT_EQ(o.b_after_eof, State::CloseWait);
    EXPECT_TRUE(o.a_time_wait);

    // A paced reader lets its buffer fill, so the window closes (almost) and reopens; an
    // eager one keeps it open.
    // A stalled reader's buffer fills completely and the window goes to zero.
    // (A paced reader may leave it a sliver, less than a segment, that SWS avoidance on
    // both sides leaves unused until the persist timer's override.)
    if (p.stall_ms > 0) {
        EXPECT_GT(o.max_readable, p.buffer - 2 * a.conn.snd_mss());
        if (p.read_gbps == 0) {
            EXPECT_EQ(o.min_snd_wnd, 0u);
        }
        EXPECT_LT(o.min_snd_wnd, a.conn.snd_mss());
    } else if (p.read_gbps > 0) {
        EXPECT_GT(o.max_readable, p.buffer * 3 / 4);
        EXPECT_LT(o.min_snd_wnd, p.buffer / 4);
    } else {
        EXPECT_GT(o.min_snd_wnd, p.buffer / 2);
    }

    // Lossless link: nothing resent, nothing lost for want of room anywhere. Only a zero
    // window's probes are refused (and their octet sent again), and only while stalled.
    const std::uint64_t probes = a.st.counters.window_probes;
    if (p.stall_ms > 0) {
        if (p.read_gbps == 0) {
            EXPECT_GT(probes, 0u);
        }
        EXPECT_LE(a.conn.stats().bytes_retrans, probes);
        EXPECT_LE(b.st.counters.drop_unacceptable, probes);
    } else {
        EXPECT_EQ(probes, 0u);
        EXPECT_EQ(a.conn.stats().bytes_retrans, 0u);
        EXPECT_EQ(b.st.counters.drop_unacceptable, 0u);
    }
    EXPECT_EQ(a.st.counters.retransmits + b.st.counters.retransmits, 0u);
    EXPECT_EQ(a.st.counters.fast_retransmits + b.st.counters.fast_retransmits, 0u);
    EXPECT_EQ(a.st.counters.drop_no_buffer, 0u);
    EXPECT_EQ(b.st.counters.drop_no_buffer, 0u);
    EXPECT_EQ(a.st.counters.drop_unacceptable, 0u);
    EXPECT_EQ(a.st.counters.drop_paws, 0u);
    EXPECT_EQ(b.st.counters.drop_paws, 0u);
    EXPECT_EQ(a.st.bufs.stats().exhausted + b.st.bufs.stats().exhausted, 0u);
    EXPECT_EQ(a.st.out.segment_overflows() + b.st.out.segment_overflows(), 0u);
    EXPECT_EQ(t->ab().nic_drops() + t->ba().nic_drops(), 0u);
    EXPECT_EQ(t->ab().overflows() + t->ba().overflows(), 0u);
    EXPECT_EQ(t->ab().errors() + t->ba().errors(), 0u);

    // Bounded virtual time. The wire alone needs (MSS + 78) * 0.8 ns per segment at 10 Gbit/s
    // (about 56 ms for 64 MiB); allow for slow start and the window, not for any stall (a
    // 200 ms RTO or 40 ms delayed ACK would show).
    const double segs = static_cast<double>(o.total) / a.conn.snd_mss();
    const double wire_ns = segs * (a.conn.snd_mss() + Pipe::kOverhead) * 0.8;
    const double read_ns = p.read_gbps > 0 ? static_cast<double>(o.total) * 8 / p.read_gbps : 0;
    const double took_ns = static_cast<double>((o.data_done - o.start).as_nanos());
    const double stall_ns = p.stall_ms * 1e6;
    EXPECT_LT(took_ns, 1.25 * std::max(wire_ns, read_ns) + stall_ns + 5e6)
        << "wire alone: " << wire_ns / 1e6 << " ms, reader alone: " << read_ns / 1e6 << " ms";
    // The close: TIME-WAIT is 2 MSL and ends it; nothing else may take long.
    EXPECT_LT(o.end - o.data_done, Duration::seconds(61));
    EXPECT_GE(o.end - o.data_done, Duration::seconds(60));

    // No allocation per segment, nor anywhere from connect() to the end.
    EXPECT_GT(o.steady_segments, o.total / 8 / 1460);
    EXPECT_EQ(o.allocs_steady, 0u) << "over " << o.steady_segments << " segments";
    EXPECT_EQ(o.allocs_total, 0u);

    // Every buffer back: what the connections kept, what the wire carried, what the
    // applications took zero copy.
    EXPECT_EQ(a.st.heap.in_use(), 0u);
    EXPECT_EQ(b.st.heap.in_use(), 0u);
    EXPECT_EQ(a.st.bufs.nodes_in_use(), 0u);
    EXPECT_EQ(b.st.bufs.nodes_in_use(), 0u);

    const ConnSummary summary = a.conn.summary();
    std::printf("[ %s ] %zu MiB in %.2f ms virtual (wire alone %.2f ms, reader %.2f ms), %llu + %llu frames, "
                "max unread %zu, min SND.WND %u, window probes %llu, close %.1f s; %.*s\n",
                p.name, o.total >> 20, took_ns / 1e6, wire_ns / 1e6, read_ns / 1e6,
                static_cast<unsigned long long>(t->ab().frames()), static_cast<unsigned long long>(t->ba().frames()),
                o.max_readable, o.min_snd_wnd, static_cast<unsigned long long>(a.st.counters.window_probes),
                static_cast<double>((o.end - o.data_done).as_nanos()) / 1e9, static_cast<int>(summary.view().size()),
                summary.view().data());
}

INSTANTIATE_TEST_SUITE_P(Variants, Bulk,
                         ::testing::Values(BulkParams{"TsOnCopy", true, false, 256 * 1024},
                                           BulkParams{"TsOffCopy", false, false, 256 * 1024},
                                           BulkParams{"TsOnZeroCopy", true, true, 256 * 1024},
                                           BulkParams{"TsOffZeroCopy", false, true, 256 * 1024},
                                           BulkParams{"TsOnZeroCopy1MiB", true, true, 1024 * 1024},
                                           BulkParams{"TsOnCopySlowReader", true, false, 256 * 1024, 4},
                                           BulkParams{"TsOffZeroCopySlowReader", false, true, 256 * 1024, 4},
                                           BulkParams{"TsOnCopyStall", true, false, 256 * 1024, 0, 700, 65536},
                                           BulkParams{"TsOffZeroCopyStall", false, true, 256 * 1024, 0, 700},
                                           BulkParams{"TsOnCopySlowReaderStall", true, false, 128 * 1024, 3, 150},
                                           // A full 256 KiB buffer drained in 3000-byte reads in one
                                           // burst: window updates only when the window doubles, so the
                                           // outbox never overflows (it did with one update per read).
                                           BulkParams{"TsOnCopyStallSmallReads", true, false, 256 * 1024, 0, 700, 3000}),
                         [](const ::testing::TestParamInfo<BulkParams>& i) { return std::string(i.param.name); });

}  // namespace
