// The payload buffer units of lib/tcp, tested on their own: BufferStore and HeapBuffers
// (buffer.hpp), RecvQueue (recv_queue.hpp) and SendQueue (send_queue.hpp).
//
// Every payload byte is a known function of its sequence number (pat()), so a byte found
// anywhere in a queue can be checked against where the queue claims it lies: a trim that
// moves the span by one byte too many or too few shows up as a wrong byte. RecvQueue is
// checked against a model (a bitmap of the bytes received so far): after every insert the
// in-order and out-of-order queues must hold exactly the bytes the model says, with the
// invariants of recv_queue.hpp, and after the store's collect() every node and every heap
// block not held must be back.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ustcp/tcp/buffer.hpp"
#include "ustcp/tcp/recv_queue.hpp"
#include "ustcp/tcp/send_queue.hpp"

using ustcp::SeqNum;
using namespace ustcp::tcp;

namespace {

/// The payload byte at sequence number (or stream offset) `s`. A hash, so that neighbouring
/// bytes differ and a span that is off by any small amount reads wrong bytes.
std::uint8_t pat(std::uint32_t s) {
    s ^= s >> 15;
    s *= 0x2C1B3C6Du;
    s ^= s >> 12;
    s *= 0x297A2D39u;
    s ^= s >> 15;
    return static_cast<std::uint8_t>(s);
}

/// A heap pool and a store over it. The pool is declared first: the store's destructor
/// collects, which frees into the pool.
struct Env {
    HeapBuffers heap;
    BufferStore store;

    Env(std::size_t blocks, std::uint32_t block_size, std::size_t nodes)
        : heap(blocks, block_size), store(heap.ops(), nodes) {}

    /// A node holding pat() of [seq, seq + len) in a heap block of its own.
    BufNode* seg(SeqNum seq, std::uint32_t len) {
        MutBuf m = heap.alloc(len);
        if (m.handle == nullptr || m.cap < len) throw std::runtime_error("test heap pool too small");
        for (std::uint32_t i = 0; i < len; ++i) m.data[i] = pat(seq.value() + i);
        BufNode* n = store.take(BufRef{m.handle, m.data, len});
        if (n == nullptr) throw std::runtime_error("test node slab too small");
        n->seq = seq;
        return n;
    }
};

/// What the receive side should hold: `have[i]` says byte origin + i arrived (in order or
/// not); [read_off, nxt) is readable, and every byte before nxt has arrived.
struct Model {
    SeqNum origin;
    std::vector<bool> have;
    std::uint32_t nxt;
    std::uint32_t read_off;

    Model(SeqNum o, std::uint32_t size, std::uint32_t start)
        : origin(o), have(size, false), nxt(start), read_off(start) {
        std::fill(have.begin(), have.begin() + start, true);
    }
    [[nodiscard]] SeqNum at(std::uint32_t rel) const { return origin + rel; }
    [[nodiscard]] SeqNum rcv_nxt() const { return origin + nxt; }

    /// What RecvQueue::insert must report for the segment [s, s + len) (len > 0).
    RecvQueue::Insert insert(std::uint32_t s, std::uint32_t len) {
        RecvQueue::Insert r;
        const std::uint32_t end = s + len;
        const bool in_order = s <= nxt && end > nxt;
        std::uint32_t fresh = 0;
        for (std::uint32_t i = s; i < end; ++i) {
            if (!have[i]) ++fresh;
            have[i] = true;
        }
        const std::uint32_t before = nxt;
        while (nxt < have.size() && have[nxt]) ++nxt;
        r.advanced = nxt - before;
        r.out_of_order = s > before;
        r.filled_hole = in_order && nxt > end;  // the in-order run reaches past the new segment
        r.duplicate = fresh == 0;
        return r;
    }
};

/// Checks `q` against `m` (contents, invariants, counters), then collects and checks that
/// the store holds exactly the queued nodes and the pool exactly their blocks plus
/// `handed_out` blocks the test owns. Empty when all is well, else the first problem.
std::string check(const RecvQueue& q, const Model& m, Env& env, std::size_t handed_out = 0) {
    std::ostringstream err;
    auto rel = [&](SeqNum s) { return static_cast<std::int64_t>(s - m.origin); };
    auto content = [&](const BufNode* n) {
        for (std::uint32_t i = 0; i < n->len; ++i) {
            if (n->data[i] != pat(n->seq.value() + i)) return false;
        }
        return true;
    };
    std::size_t nodes = 0;

    // In-order: contiguous from the first unread byte, ending at RCV.NXT.
    std::int64_t expect = m.read_off;
    std::uint64_t sum = 0;
    for (const BufNode* n = q.head(); n != nullptr; n = n->next) {
        ++nodes;
        if (n->len == 0) return "empty in-order node";
        if (rel(n->seq) != expect) {
            err << "in-order node at +" << rel(n->seq) << ", expected +" << expect;
            return err.str();
        }
        if (!content(n)) return "in-order node holds the wrong bytes";
        expect += n->len;
        sum += n->len;
    }
    if (expect != m.nxt) {
        err << "in-order queue ends at +" << expect << ", RCV.NXT is +" << m.nxt;
        return err.str();
    }
    if (sum != q.readable() || q.readable() != m.nxt - m.read_off) {
        err << "readable() " << q.readable() << ", queue sum " << sum << ", model " << m.nxt - m.read_off;
        return err.str();
    }

    // Out-of-order: sorted, non-overlapping, non-empty, all beyond RCV.NXT, holding the union.
    std::vector<bool> covered(m.have.size(), false);
    std::int64_t min_start = static_cast<std::int64_t>(m.nxt) + 1;
    sum = 0;
    for (const BufNode* n = q.ooo_head(); n != nullptr; n = n->next) {
        ++nodes;
        if (n->len == 0) return "empty out-of-order node";
        const std::int64_t r = rel(n->seq);
        if (r < min_start) {
            err << "out-of-order node at +" << r << " overlaps, is unsorted or not beyond RCV.NXT (limit +"
                << min_start << ")";
            return err.str();
        }
        if (r + n->len > static_cast<std::int64_t>(m.have.size())) return "out-of-order node beyond the model";
        if (!content(n)) return "out-of-order node holds the wrong bytes";
        for (std::uint32_t i = 0; i < n->len; ++i) covered[static_cast<std::size_t>(r) + i] = true;
        min_start = r + n->len;
        sum += n->len;
    }
    for (std::size_t i = 0; i < covered.size(); ++i) {
        const bool want = i >= m.nxt && m.have[i];
        if (covered[i] != want) {
            err << "byte +" << i << (want ? " missing from" : " wrongly in") << " the out-of-order queue";
            return err.str();
        }
    }
    if (sum != q.ooo_bytes()) return "ooo_bytes() differs from the queue";
    if (q.has_ooo() != (q.ooo_head() != nullptr)) return "has_ooo() wrong";
    if (q.held() != q.readable() + q.ooo_bytes()) return "held() wrong";

    env.store.collect();
    if (env.store.nodes_in_use() != nodes) {
        err << "store has " << env.store.nodes_in_use() << " nodes in use, queues hold " << nodes;
        return err.str();
    }
    if (env.heap.in_use() != nodes + handed_out) {
        err << "pool has " << env.heap.in_use() << " blocks in use, expected " << nodes + handed_out;
        return err.str();
    }
    return {};
}

/// Inserts [s, s + len) (offsets from m.origin) into `q`, compares the result with the
/// model's and checks the queue. Empty when all is well.
std::string insert_checked(RecvQueue& q, Model& m, Env& env, SeqNum& rcv_nxt, std::uint32_t s, std::uint32_t len) {
    BufNode* n = env.seg(m.at(s), len);
    const RecvQueue::Insert want = m.insert(s, len);
    const RecvQueue::Insert got = q.insert(env.store, n, rcv_nxt);
    rcv_nxt += got.advanced;
    std::ostringstream err;
    if (got.advanced != want.advanced || got.out_of_order != want.out_of_order ||
        got.filled_hole != want.filled_hole || got.duplicate != want.duplicate) {
        err << "insert [+" << s << ", +" << s + len << "): got advanced=" << got.advanced
            << " ooo=" << got.out_of_order << " hole=" << got.filled_hole << " dup=" << got.duplicate
            << ", want advanced=" << want.advanced << " ooo=" << want.out_of_order << " hole=" << want.filled_hole
            << " dup=" << want.duplicate;
        return err.str();
    }
    if (rcv_nxt != m.rcv_nxt()) return "RCV.NXT differs from the model";
    std::string e = check(q, m, env);
    if (!e.empty()) err << "after insert [+" << s << ", +" << s + len << "): " << e;
    return err.str();
}

/// Reads everything readable in chunks of `chunk` bytes, checking each byte against pat().
std::string read_all(RecvQueue& q, Model& m, Env& env, std::size_t chunk) {
    std::vector<std::uint8_t> buf(chunk);
    while (q.readable() > 0) {
        const std::uint32_t before = q.readable();
        const std::size_t got = q.read(env.store, buf);
        if (got != std::min<std::size_t>(chunk, before)) return "read() returned a short count";
        for (std::size_t i = 0; i < got; ++i) {
            if (buf[i] != pat(m.at(m.read_off).value() + static_cast<std::uint32_t>(i))) return "read() wrong byte";
        }
        m.read_off += static_cast<std::uint32_t>(got);
        if (q.readable() != before - got) return "readable() did not drop by the bytes read";
    }
    return check(q, m, env);
}

// ---------------------------------------------------------------------------
// RecvQueue: reassembly
// ---------------------------------------------------------------------------

// Five segments of distinct lengths covering [RCV.NXT, RCV.NXT + 27), inserted in each of
// the 120 orders, at a plain base and at one where the range crosses 2^32. Proves: every
// order reassembles the exact bytes; `advanced` adds up to the total; `out_of_order` is
// set exactly when the segment starts beyond RCV.NXT and `filled_hole` exactly when an
// in-order segment pulled the following, already queued segment; nothing is left in the
// out-of-order queue; every node and heap block comes back after read + collect().
TEST(RecvQueueReassembly, EveryPermutationOfFiveSegments) {
    const std::array<std::uint32_t, 5> lens = {3, 11, 1, 7, 5};
    std::array<std::uint32_t, 5> starts{};
    std::uint32_t total = 0;
    for (std::size_t i = 0; i < lens.size(); ++i) {
        starts[i] = total;
        total += lens[i];
    }
    for (const std::uint32_t base : {1000u, 0xFFFFFFF0u}) {
        std::array<std::size_t, 5> order = {0, 1, 2, 3, 4};
        int perms = 0;
        do {
            ++perms;
            SCOPED_TRACE(::testing::Message() << "base " << base << " order " << order[0] << order[1] << order[2]
                                              << order[3] << order[4]);
            Env env(8, 32, 8);
            RecvQueue q;
            Model m(SeqNum(base), total, 0);
            SeqNum rcv_nxt(base);
            std::array<bool, 5> inserted{};
            std::uint32_t advanced = 0;
            for (const std::size_t i : order) {
                const SeqNum seq = SeqNum(base) + starts[i];
                const bool in_order = seq == rcv_nxt;
                const bool next_queued = i + 1 < lens.size() && inserted[i + 1];
                BufNode* n = env.seg(seq, lens[i]);
                (void)m.insert(starts[i], lens[i]);
                const RecvQueue::Insert r = q.insert(env.store, n, rcv_nxt);
                inserted[i] = true;
                EXPECT_EQ(r.out_of_order, !in_order);
                EXPECT_EQ(r.filled_hole, in_order && next_queued);
                EXPECT_FALSE(r.duplicate);
                if (in_order) {
                    EXPECT_GE(r.advanced, lens[i]);
                } else {
                    EXPECT_EQ(r.advanced, 0u);
                }
                advanced += r.advanced;
                rcv_nxt += r.advanced;
                ASSERT_EQ(check(q, m, env), "");
            }
            EXPECT_EQ(advanced, total);
            EXPECT_EQ(rcv_nxt, SeqNum(base) + total);
            EXPECT_EQ(q.readable(), total);
            EXPECT_EQ(q.ooo_bytes(), 0u);
            EXPECT_FALSE(q.has_ooo());

            // Read it out in chunks of 1..8 bytes (varying per order), byte for byte.
            std::vector<std::uint8_t> out;
            std::vector<std::uint8_t> chunk(1 + static_cast<std::size_t>(perms % 8));
            while (q.readable() > 0) {
                const std::size_t got = q.read(env.store, chunk);
                ASSERT_GT(got, 0u);
                out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
            }
            ASSERT_EQ(out.size(), total);
            for (std::uint32_t k = 0; k < total; ++k) ASSERT_EQ(out[k], pat(base + k)) << "byte " << k;
            EXPECT_EQ(q.head(), nullptr);
            env.store.collect();
            EXPECT_EQ(env.heap.in_use(), 0u);
            EXPECT_EQ(env.store.nodes_in_use(), 0u);
        } while (std::next_permutation(order.begin(), order.end()));
        EXPECT_EQ(perms, 120);
    }
}

// ---------------------------------------------------------------------------
// RecvQueue: overlaps
// ---------------------------------------------------------------------------

// Runs one overlap case: `held` segments inserted first (in the given order), then the
// segment [s, s + len), then a segment beyond everything (found through the tail
// shortcut, so a stale tail pointer shows), then an in-order segment that covers the
// whole range and pulls everything in. Offsets are relative to `origin`; RCV.NXT starts
// at +8. Each step is checked against the model.
std::string overlap_case(SeqNum origin, const std::vector<std::array<std::uint32_t, 2>>& held, std::uint32_t s,
                         std::uint32_t len) {
    constexpr std::uint32_t kSize = 128;
    Env env(16, 128, 16);
    RecvQueue q;
    Model m(origin, kSize, 8);
    SeqNum rcv_nxt = m.rcv_nxt();
    for (const auto& h : held) {
        std::string e = insert_checked(q, m, env, rcv_nxt, h[0], h[1] - h[0]);
        if (!e.empty()) return "held: " + e;
    }
    std::string e = insert_checked(q, m, env, rcv_nxt, s, len);
    if (!e.empty()) return "new: " + e;
    e = insert_checked(q, m, env, rcv_nxt, 112, 6);
    if (!e.empty()) return "trailing: " + e;
    e = insert_checked(q, m, env, rcv_nxt, m.nxt, 120 - m.nxt);
    if (!e.empty()) return "filler: " + e;
    if (q.readable() != 120 - 8 || q.has_ooo()) return "not everything became readable";
    return read_all(q, m, env, 13);
}

// A held out-of-order segment [+18, +28) (RCV.NXT = +8) and a new segment at every start
// from 5 bytes before RCV.NXT to beyond the held one, with every length 1..30: fully before,
// touching either edge, overlapping the front edge, inside, equal, covering both sides,
// overlapping the back edge, after. Proves the queue holds exactly the union with the right
// bytes, reports duplicates (nothing new) and releases them and every covered node.
TEST(RecvQueueOverlap, OneHeldSegmentEveryOffset) {
    for (const std::uint32_t base : {1000u, 0xFFFFFFE0u}) {
        for (std::uint32_t s = 3; s <= 40; ++s) {
            for (std::uint32_t len = 1; len <= 30; ++len) {
                ASSERT_EQ(overlap_case(SeqNum(base), {{18, 28}}, s, len), "")
                    << "base " << base << " s +" << s << " len " << len;
            }
        }
    }
}

// Two held segments [+18, +28) and [+38, +48) with a gap between, inserted in both orders
// (the second order makes the insert walk instead of using the tail), and a new segment
// at every start and length across both: it may land in the gap, fill it exactly, cover
// one or both held segments, or bridge them while overlapping both.
TEST(RecvQueueOverlap, TwoHeldSegmentsWithGapEveryOffset) {
    const std::vector<std::vector<std::array<std::uint32_t, 2>>> helds = {{{18, 28}, {38, 48}},
                                                                           {{38, 48}, {18, 28}}};
    for (const std::uint32_t base : {1000u, 0xFFFFFFE0u}) {
        for (const auto& held : helds) {
            for (std::uint32_t s = 3; s <= 58; ++s) {
                for (std::uint32_t len = 1; len <= 50; ++len) {
                    ASSERT_EQ(overlap_case(SeqNum(base), held, s, len), "")
                        << "base " << base << " first held +" << held[0][0] << " s +" << s << " len " << len;
                }
            }
        }
    }
}

// Held segments that touch each other (no gap), two and three of them, inserted in every
// order, and a new segment at every start and length across them. A new segment whose
// bytes are all held, but by several adjacent nodes together, is a duplicate.
TEST(RecvQueueOverlap, AdjacentHeldSegmentsEveryOffset) {
    using Held = std::vector<std::array<std::uint32_t, 2>>;
    const std::vector<Held> helds = {{{18, 28}, {28, 38}},
                                     {{28, 38}, {18, 28}},
                                     {{18, 24}, {24, 30}, {30, 38}},
                                     {{30, 38}, {18, 24}, {24, 30}},
                                     {{24, 30}, {30, 38}, {18, 24}}};
    for (const std::uint32_t base : {1000u, 0xFFFFFFE0u}) {
        for (std::size_t h = 0; h < helds.size(); ++h) {
            for (std::uint32_t s = 3; s <= 45; ++s) {
                for (std::uint32_t len = 1; len <= 45; ++len) {
                    ASSERT_EQ(overlap_case(SeqNum(base), helds[h], s, len), "")
                        << "base " << base << " held set " << h << " s +" << s << " len " << len;
                }
            }
        }
    }
}

// The duplicate flag and release, spelled out for the cases the model checks in bulk: a
// segment equal to, inside, or ending exactly at the edges of held data is a duplicate and
// its node and block come back at collect(); one byte more is not.
TEST(RecvQueueOverlap, DuplicatesReportedAndReleased) {
    Env env(16, 64, 16);
    RecvQueue q;
    const SeqNum nxt(5000);
    const auto ins = [&](std::uint32_t off, std::uint32_t len) {
        return q.insert(env.store, env.seg(nxt + off, len), nxt);
    };
    EXPECT_FALSE(ins(10, 10).duplicate);   // [10, 20)
    EXPECT_FALSE(ins(20, 5).duplicate);    // [20, 25), adjacent
    env.store.collect();
    ASSERT_EQ(env.store.nodes_in_use(), 2u);

    EXPECT_TRUE(ins(10, 10).duplicate);    // equal
    EXPECT_TRUE(ins(12, 3).duplicate);     // inside
    EXPECT_TRUE(ins(15, 10).duplicate);    // across the boundary of two adjacent held nodes
    EXPECT_TRUE(ins(24, 1).duplicate);     // last byte
    EXPECT_EQ(q.ooo_bytes(), 15u);
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 2u);
    EXPECT_EQ(env.heap.in_use(), 2u);
    EXPECT_EQ(env.store.stats().released, 4u);

    const RecvQueue::Insert r = ins(24, 2);  // one new byte at 25
    EXPECT_FALSE(r.duplicate);
    EXPECT_TRUE(r.out_of_order);
    EXPECT_EQ(q.ooo_bytes(), 16u);
    q.clear(env.store);
    env.store.collect();
    EXPECT_EQ(env.heap.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// RecvQueue: old data and the 2^32 wrap
// ---------------------------------------------------------------------------

// RCV.NXT starts at 0xFFFFFF00. Segments wholly before RCV.NXT (including one ending exactly
// at it and one before data already read) are duplicates and released; one partly before
// is trimmed to RCV.NXT (its first byte checked); out-of-order data held across the wrap is
// joined by in-order data that crosses the wrap and overlaps it.
TEST(RecvQueueOld, TrimsOldDataAcrossTheWrap) {
    Env env(32, 512, 32);
    RecvQueue q;
    Model m(SeqNum(0xFFFFFF00u - 0x100u), 0x400, 0x100);  // offset +0x100 is 0xFFFFFF00, +0x200 is 0
    SeqNum rcv_nxt = m.rcv_nxt();
    ASSERT_EQ(rcv_nxt.value(), 0xFFFFFF00u);

    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x100, 0x80), "");  // in order
    EXPECT_EQ(rcv_nxt.value(), 0xFFFFFF80u);

    // Wholly old: inside, ending exactly at RCV.NXT, one byte long, starting before the
    // first byte ever held.
    for (const auto& [s, len] : std::vector<std::array<std::uint32_t, 2>>{{0x110, 0x20}, {0x140, 0x40},
                                                                          {0x17F, 1}, {0xF0, 0x90}}) {
        SCOPED_TRACE(::testing::Message() << "old [+" << s << ", +" << s + len << ")");
        BufNode* n = env.seg(m.at(s), len);
        const RecvQueue::Insert r = q.insert(env.store, n, rcv_nxt);
        EXPECT_TRUE(r.duplicate);
        EXPECT_FALSE(r.out_of_order);
        EXPECT_EQ(r.advanced, 0u);
        ASSERT_EQ(check(q, m, env), "");  // released: only the in-order node is left
    }

    // Partly old: [0xFFFFFF70, 0xFFFFFFB0) with RCV.NXT 0xFFFFFF80: 0x30 new bytes.
    {
        BufNode* n = env.seg(m.at(0x170), 0x40);
        const RecvQueue::Insert want = m.insert(0x170, 0x40);
        const RecvQueue::Insert r = q.insert(env.store, n, rcv_nxt);
        EXPECT_EQ(r.advanced, 0x30u);
        EXPECT_EQ(want.advanced, 0x30u);
        EXPECT_FALSE(r.out_of_order);
        EXPECT_FALSE(r.duplicate);
        EXPECT_EQ(n->seq.value(), 0xFFFFFF80u);  // trimmed in place to RCV.NXT
        EXPECT_EQ(n->len, 0x30u);
        EXPECT_EQ(n->data[0], pat(0xFFFFFF80u));
        rcv_nxt += r.advanced;
        ASSERT_EQ(check(q, m, env), "");
    }

    // Out of order across the wrap: [0x10, 0x50) and [0x60, 0x70), then in-order
    // [0xFFFFFFB0, 0x20) crossing 0 and overlapping the first held one.
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x210, 0x40), "");
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x260, 0x10), "");
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x1FF, 0x2), "");  // out of order, straddling 0
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x1B0, 0x70), "");  // fills, pulls [0x10, 0x50)
    EXPECT_EQ(rcv_nxt.value(), 0x50u);
    EXPECT_EQ(q.ooo_bytes(), 0x10u);

    // Read part of it, then old data before the read point, and partly old data crossing the wrap.
    ASSERT_EQ(read_all(q, m, env, 0x61), "");
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x150, 0x40), "");   // read long ago
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x1F0, 0x68), "");   // [0xFFFFFFF0, 0x58): 8 new bytes
    EXPECT_EQ(rcv_nxt.value(), 0x58u);
    ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, 0x1F0, 0x100), "");  // covers the held [0x60, 0x70)
    EXPECT_EQ(rcv_nxt.value(), 0xF0u);
    EXPECT_FALSE(q.has_ooo());
    ASSERT_EQ(read_all(q, m, env, 0x1000), "");
    EXPECT_EQ(env.heap.in_use(), 0u);
}

// Seeded random segments (some old, some overlapping, some far ahead) and random reads,
// at random bases including ones just below 2^32, checked against the model after every
// step. The same seed gives the same run.
TEST(RecvQueueReassembly, RandomSegmentsAgainstModel) {
    std::mt19937 rng(20240611);
    for (int round = 0; round < 40; ++round) {
        const std::uint32_t base = round % 2 == 0 ? 0xFFFFFFFFu - static_cast<std::uint32_t>(rng() % 700)
                                                  : static_cast<std::uint32_t>(rng());
        SCOPED_TRACE(::testing::Message() << "round " << round << " base " << base);
        constexpr std::uint32_t kSize = 1200;
        Env env(4096, 64, 4096);
        RecvQueue q;
        Model m(SeqNum(base), kSize, 30);
        SeqNum rcv_nxt = m.rcv_nxt();
        while (m.nxt + 260 < kSize) {
            if (rng() % 5 == 0) {
                std::vector<std::uint8_t> out(rng() % 60);
                const std::uint32_t before = q.readable();
                const std::size_t got = q.read(env.store, out);
                ASSERT_EQ(got, std::min<std::size_t>(out.size(), before));
                for (std::size_t i = 0; i < got; ++i) {
                    ASSERT_EQ(out[i], pat(m.at(m.read_off).value() + static_cast<std::uint32_t>(i)));
                }
                m.read_off += static_cast<std::uint32_t>(got);
                ASSERT_EQ(check(q, m, env), "");
                continue;
            }
            const std::uint32_t s = m.nxt - 30 + static_cast<std::uint32_t>(rng() % 250);
            const std::uint32_t len = 1 + static_cast<std::uint32_t>(rng() % 40);
            ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, s, len), "");
        }
        if (round % 3 == 0) {
            q.clear(env.store);
            env.store.collect();
            EXPECT_EQ(env.heap.in_use(), 0u);
        } else {
            while (m.nxt < kSize) {  // fill every hole, in pieces that fit a block
                ASSERT_EQ(insert_checked(q, m, env, rcv_nxt, m.nxt, std::min(40u, kSize - m.nxt)), "");
            }
            ASSERT_EQ(read_all(q, m, env, 97), "");
            EXPECT_EQ(env.heap.in_use(), 0u);
        }
    }
}

// ---------------------------------------------------------------------------
// RecvQueue: read, peek, take, clear
// ---------------------------------------------------------------------------

/// Builds an in-order queue of nodes with the given lengths from `nxt`.
SeqNum fill_in_order(RecvQueue& q, Env& env, SeqNum nxt, const std::vector<std::uint32_t>& lens) {
    for (const std::uint32_t len : lens) {
        const RecvQueue::Insert r = q.insert(env.store, env.seg(nxt, len), nxt);
        EXPECT_EQ(r.advanced, len);
        nxt += r.advanced;
    }
    return nxt;
}

// peek() at every skip with every output size returns min(size, readable - skip) bytes of
// the right data across node boundaries and consumes nothing.
TEST(RecvQueueRead, PeekEverySkipAndSize) {
    Env env(8, 32, 8);
    RecvQueue q;
    const SeqNum start(0xFFFFFFF8u);  // crosses the wrap too
    fill_in_order(q, env, start, {5, 1, 9, 4});
    constexpr std::uint32_t kTotal = 19;
    ASSERT_EQ(q.readable(), kTotal);
    for (std::uint32_t skip = 0; skip <= kTotal + 2; ++skip) {
        for (std::size_t size = 0; size <= kTotal + 2; ++size) {
            std::vector<std::uint8_t> out(size, 0xEE);
            const std::size_t got = q.peek(skip, out);
            const std::size_t want = skip >= kTotal ? 0 : std::min<std::size_t>(size, kTotal - skip);
            ASSERT_EQ(got, want) << "skip " << skip << " size " << size;
            for (std::size_t i = 0; i < got; ++i) {
                ASSERT_EQ(out[i], pat(start.value() + skip + static_cast<std::uint32_t>(i)))
                    << "skip " << skip << " size " << size << " i " << i;
            }
            for (std::size_t i = got; i < size; ++i) ASSERT_EQ(out[i], 0xEE);  // nothing written past the count
        }
    }
    EXPECT_EQ(q.readable(), kTotal);
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 4u);
}

// read() in every chunk size: partial reads trim the head node in place, a node read to
// its end goes back at collect() (and not before), and peek() after a partial read starts
// at the first unread byte. An empty output or an empty queue reads nothing.
TEST(RecvQueueRead, PartialReadsAcrossNodes) {
    const std::vector<std::uint32_t> lens = {5, 1, 9, 4};
    for (std::size_t chunk = 1; chunk <= 20; ++chunk) {
        SCOPED_TRACE(::testing::Message() << "chunk " << chunk);
        Env env(8, 32, 8);
        RecvQueue q;
        const SeqNum start(777);
        fill_in_order(q, env, start, lens);
        std::vector<std::uint8_t> none;
        EXPECT_EQ(q.read(env.store, none), 0u);
        std::uint32_t off = 0;
        std::size_t prev_live = lens.size();
        std::vector<std::uint8_t> out(chunk);
        while (off < 19) {
            const std::size_t got = q.read(env.store, out);
            ASSERT_EQ(got, std::min<std::size_t>(chunk, 19 - off));
            for (std::size_t i = 0; i < got; ++i) {
                ASSERT_EQ(out[i], pat(start.value() + off + static_cast<std::uint32_t>(i)));
            }
            off += static_cast<std::uint32_t>(got);
            EXPECT_EQ(q.readable(), 19 - off);
            // Nodes that end after `off` are still queued; the rest were released.
            std::size_t live = 0;
            std::uint32_t end = 0;
            for (const std::uint32_t len : lens) {
                end += len;
                if (end > off) ++live;
            }
            EXPECT_EQ(env.store.nodes_in_use(), prev_live);  // released nodes wait for collect()
            env.store.collect();
            EXPECT_EQ(env.store.nodes_in_use(), live);
            EXPECT_EQ(env.heap.in_use(), live);
            prev_live = live;
            if (q.head() != nullptr) {
                EXPECT_EQ(q.head()->seq, start + off);
                std::uint8_t b = 0;
                ASSERT_EQ(q.peek(0, {&b, 1}), 1u);
                EXPECT_EQ(b, pat(start.value() + off));
            }
        }
        EXPECT_EQ(q.head(), nullptr);
        EXPECT_EQ(q.read(env.store, out), 0u);
        // The queue is usable after being drained: the tail was reset.
        fill_in_order(q, env, start + 19, {3});
        EXPECT_EQ(q.readable(), 3u);
        ASSERT_EQ(q.read(env.store, out), std::min<std::size_t>(chunk, 3));
        EXPECT_EQ(out[0], pat(start.value() + 19));
    }
}

// Released nodes keep their buffers until collect(): reading a node to its end does not
// free its block at once (an outgoing segment may still borrow it), collect() does.
TEST(RecvQueueRead, ReleaseIsDeferredToCollect) {
    Env env(4, 32, 4);
    RecvQueue q;
    fill_in_order(q, env, SeqNum(1), {6, 6});
    std::vector<std::uint8_t> out(12);
    ASSERT_EQ(q.read(env.store, out), 12u);
    EXPECT_EQ(env.store.nodes_in_use(), 2u);
    EXPECT_EQ(env.heap.in_use(), 2u);
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 0u);
    EXPECT_EQ(env.heap.in_use(), 0u);
}

// take() hands whole in-order buffers over (the first one trimmed by an earlier partial
// read), at most out.size() of them; collect() does not free the handles handed over, the
// test frees them itself, and only then is the pool whole again. Out-of-order data stays.
TEST(RecvQueueRead, TakeIsZeroCopyAndHandsOwnershipOver) {
    Env env(8, 32, 8);
    RecvQueue q;
    const SeqNum start(0xFFFFFFFEu);
    const SeqNum nxt = fill_in_order(q, env, start, {5, 7, 3});
    (void)q.insert(env.store, env.seg(nxt + 4, 2), nxt);  // out of order, untouched by take()

    std::array<std::uint8_t, 2> two{};
    ASSERT_EQ(q.read(env.store, two), 2u);  // head now starts 2 bytes in
    std::array<BufRef, 2> refs{};
    ASSERT_EQ(q.take(env.store, refs), 2u);
    EXPECT_EQ(refs[0].len, 3u);
    EXPECT_EQ(refs[1].len, 7u);
    for (std::uint32_t i = 0; i < refs[0].len; ++i) EXPECT_EQ(refs[0].data[i], pat(start.value() + 2 + i));
    for (std::uint32_t i = 0; i < refs[1].len; ++i) EXPECT_EQ(refs[1].data[i], pat(start.value() + 5 + i));
    EXPECT_NE(refs[0].handle, nullptr);
    EXPECT_NE(refs[0].handle, refs[1].handle);
    EXPECT_EQ(q.readable(), 3u);

    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 2u);  // the last in-order node and the out-of-order one
    EXPECT_EQ(env.heap.in_use(), 4u);         // ...plus the two handed over, not freed by collect()

    std::array<BufRef, 4> rest{};
    ASSERT_EQ(q.take(env.store, rest), 1u);  // only one in-order buffer left
    EXPECT_EQ(rest[0].len, 3u);
    EXPECT_EQ(rest[0].data[0], pat(start.value() + 12));
    EXPECT_EQ(q.readable(), 0u);
    EXPECT_EQ(q.head(), nullptr);
    EXPECT_EQ(q.take(env.store, rest), 0u);
    EXPECT_EQ(q.ooo_bytes(), 2u);
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 1u);
    EXPECT_EQ(env.heap.in_use(), 4u);

    env.heap.free(refs[0].handle);
    env.heap.free(refs[1].handle);
    env.heap.free(rest[0].handle);
    EXPECT_EQ(env.heap.in_use(), 1u);

    // The queue still works after take() emptied its in-order part: fill the hole.
    const RecvQueue::Insert r = q.insert(env.store, env.seg(nxt, 4), nxt);
    EXPECT_EQ(r.advanced, 6u);
    EXPECT_TRUE(r.filled_hole);
    std::array<std::uint8_t, 6> six{};
    ASSERT_EQ(q.read(env.store, six), 6u);
    for (std::uint32_t i = 0; i < 6; ++i) EXPECT_EQ(six[i], pat(nxt.value() + i));
    env.store.collect();
    EXPECT_EQ(env.heap.in_use(), 0u);
    EXPECT_EQ(env.store.nodes_in_use(), 0u);
}

// clear() drops in-order and out-of-order data alike, every node and buffer comes back,
// and the queue is usable afterwards.
TEST(RecvQueueRead, ClearReleasesEverything) {
    Env env(8, 32, 8);
    RecvQueue q;
    const SeqNum nxt = fill_in_order(q, env, SeqNum(100), {4, 4});
    (void)q.insert(env.store, env.seg(nxt + 2, 3), nxt);
    (void)q.insert(env.store, env.seg(nxt + 9, 3), nxt);
    ASSERT_EQ(q.held(), 14u);
    q.clear(env.store);
    EXPECT_EQ(q.readable(), 0u);
    EXPECT_EQ(q.ooo_bytes(), 0u);
    EXPECT_EQ(q.head(), nullptr);
    EXPECT_EQ(q.ooo_head(), nullptr);
    EXPECT_FALSE(q.has_ooo());
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 0u);
    EXPECT_EQ(env.heap.in_use(), 0u);

    // Reused: out of order first (tail pointer must have been reset), then the hole.
    EXPECT_TRUE(q.insert(env.store, env.seg(nxt + 5, 2), nxt).out_of_order);
    EXPECT_TRUE(q.insert(env.store, env.seg(nxt + 7, 2), nxt).out_of_order);
    const RecvQueue::Insert r = q.insert(env.store, env.seg(nxt, 5), nxt);
    EXPECT_EQ(r.advanced, 9u);
    std::array<std::uint8_t, 9> out{};
    ASSERT_EQ(q.read(env.store, out), 9u);
    for (std::uint32_t i = 0; i < 9; ++i) EXPECT_EQ(out[i], pat(nxt.value() + i));
}

// ---------------------------------------------------------------------------
// SendQueue
// ---------------------------------------------------------------------------

/// A send-queue node holding pat() of stream bytes [off, off + len).
BufNode* send_node(Env& env, std::uint32_t off, std::uint32_t len) {
    return env.seg(SeqNum(off), len);  // SendQueue::append overwrites seq
}

/// The bytes for_each_piece gathers from `pos`, and how many pieces it used.
std::vector<std::uint8_t> gather(SendQueue::Pos pos, std::uint32_t len, std::size_t* pieces = nullptr) {
    std::vector<std::uint8_t> out;
    std::size_t k = 0;
    for_each_piece(pos, len, [&](const std::uint8_t* p, std::uint32_t n) {
        EXPECT_GT(n, 0u);
        out.insert(out.end(), p, p + n);
        ++k;
    });
    if (pieces != nullptr) *pieces = k;
    return out;
}

/// Stream offsets [b, b + n) of pat().
std::vector<std::uint8_t> expected(std::uint32_t b, std::uint32_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::uint32_t i = 0; i < n; ++i) v[i] = pat(b + i);
    return v;
}

/// Checks locate() for every byte in ascending, descending and strided order, and
/// for_each_piece() for every (offset, length) pair, given that the queue holds stream
/// bytes [una, una + size()) split as `ends` (the stream offset where each node ends).
void check_send_queue(SendQueue& q, std::uint32_t una, const std::vector<std::uint32_t>& ends) {
    const std::uint32_t size = q.size();
    auto node_index = [&](std::uint32_t k) {  // which node holds byte una + k
        std::size_t i = 0;
        while (static_cast<std::int32_t>(ends[i] - (una + k)) <= 0) ++i;
        return i;
    };
    std::vector<const BufNode*> by_index;
    for (const BufNode* n = q.head(); n != nullptr; n = n->next) by_index.push_back(n);
    ASSERT_EQ(by_index.size(), q.nodes());
    const std::size_t first = ends.size() - by_index.size();  // nodes of `ends` already acknowledged

    auto check_at = [&](std::uint32_t k) {
        const SendQueue::Pos p = q.locate(k);
        ASSERT_NE(p.node, nullptr);
        ASSERT_LT(p.off, p.node->len) << "k " << k;
        ASSERT_EQ(p.node, by_index[node_index(k) - first]) << "k " << k;
        ASSERT_EQ(p.node->data[p.off], pat(una + k)) << "k " << k;
    };
    for (std::uint32_t k = 0; k < size; ++k) check_at(k);
    for (std::uint32_t k = size; k-- > 0;) check_at(k);
    for (std::uint32_t i = 0; i < size; ++i) check_at(static_cast<std::uint32_t>((i * 37ull) % size));

    for (std::uint32_t off = 0; off < size; ++off) {
        const SendQueue::Pos p = q.locate(off);
        for (std::uint32_t len = 0; len <= size - off; ++len) {
            std::size_t pieces = 0;
            ASSERT_EQ(gather(p, len, &pieces), expected(una + off, len)) << "off " << off << " len " << len;
            const std::size_t spanned = len == 0 ? 0 : node_index(off + len - 1) - node_index(off) + 1;
            ASSERT_EQ(pieces, spanned) << "off " << off << " len " << len;
        }
        // Asking for more than is queued stops at the tail.
        ASSERT_EQ(gather(p, size - off + 100), expected(una + off, size - off));
    }
}

/// Appends nodes of varied sizes from stream offset `base`, checks every lookup, then
/// acknowledges in varied steps, checking after each step which nodes were released, that
/// lookups still work, and that a position found before the ACK still reads its bytes
/// until collect().
void exercise_send_queue(Env& env, SendQueue& q, std::uint32_t base) {
    const std::vector<std::uint32_t> lens = {7, 1, 13, 2, 30, 5, 64, 1, 9};
    std::vector<std::uint32_t> ends;
    std::uint32_t total = 0;
    for (const std::uint32_t len : lens) {
        q.append(send_node(env, base + total, len));
        total += len;
        ends.push_back(base + total);
    }
    ASSERT_EQ(q.size(), total);
    ASSERT_EQ(q.nodes(), lens.size());
    ASSERT_FALSE(q.empty());
    ASSERT_EQ(q.head()->seq, SeqNum(base));
    ASSERT_NO_FATAL_FAILURE(check_send_queue(q, base, ends));

    const std::array<std::uint32_t, 9> steps = {1, 5, 0, 9, 2, 13, 3, 30, 1};
    std::uint32_t acked = 0;
    for (std::size_t i = 0; acked < total; ++i) {
        const std::uint32_t step = std::min(steps[i % steps.size()], total - acked);
        SCOPED_TRACE(::testing::Message() << "acked " << acked << " + " << step);
        // A position and payload cut before the ACK...
        const std::uint32_t cut = std::min<std::uint32_t>(q.size(), 40);
        const SendQueue::Pos before = q.locate(0);
        q.acked(env.store, step);
        acked += step;
        // ...still read the same bytes: released nodes are untouched until collect().
        ASSERT_EQ(gather(before, cut), expected(base + acked - step, cut));

        std::size_t live = 0;
        for (const std::uint32_t e : ends) live += static_cast<std::int32_t>(e - (base + acked)) > 0 ? 1 : 0;
        EXPECT_EQ(q.size(), total - acked);
        EXPECT_EQ(q.empty(), acked == total);
        EXPECT_EQ(q.nodes(), live);
        env.store.collect();
        EXPECT_EQ(env.store.nodes_in_use(), live);
        EXPECT_EQ(env.heap.in_use(), live);
        ASSERT_NO_FATAL_FAILURE(check_send_queue(q, base + acked, ends));
    }
    EXPECT_EQ(q.head(), nullptr);
    EXPECT_EQ(q.nodes(), 0u);

    // Appending after the queue ran empty continues the running offsets.
    q.append(send_node(env, base + total, 10));
    q.append(send_node(env, base + total + 10, 3));
    EXPECT_EQ(q.head()->seq, SeqNum(base + total));
    ends.push_back(base + total + 10);
    ends.push_back(base + total + 13);
    ASSERT_NO_FATAL_FAILURE(check_send_queue(q, base + total, ends));
    q.clear(env.store);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.nodes(), 0u);
    EXPECT_EQ(q.head(), nullptr);
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 0u);
    EXPECT_EQ(env.heap.in_use(), 0u);
}

// Running offsets from 0: locate, for_each_piece and acked as described above.
TEST(SendQueueTest, LocateGatherAndAck) {
    Env env(16, 64, 16);
    SendQueue q;
    exercise_send_queue(env, q, 0);
}

// The queue's running offset wraps at 2^32: three large acknowledged buffers (lengths
// only, never read) bring it to 0xFFFFFFF0, and the real buffers then straddle the wrap.
TEST(SendQueueTest, RunningOffsetWraps) {
    Env env(16, 64, 16);
    SendQueue q;
    std::uint32_t off = 0;
    for (const std::uint32_t big : {0x70000000u, 0x70000000u, 0x1FFFFFF0u}) {
        MutBuf m = env.heap.alloc(1);
        BufNode* n = env.store.take(BufRef{m.handle, m.data, big});
        ASSERT_NE(n, nullptr);
        q.append(n);
        EXPECT_EQ(n->seq, SeqNum(off));
        EXPECT_EQ(q.locate(big - 1).off, big - 1);
        q.acked(env.store, big);
        off += big;
        EXPECT_TRUE(q.empty());
        env.store.collect();
    }
    ASSERT_EQ(off, 0xFFFFFFF0u);
    ASSERT_EQ(env.heap.in_use(), 0u);
    exercise_send_queue(env, q, off);
}

// A position held across an ACK that releases the nodes under it: the cursor that locate()
// caches must not point into released nodes, and the nodes' `next` links survive release so
// a borrowed gather list can still be walked until collect().
TEST(SendQueueTest, PositionOutlivesAckUntilCollect) {
    Env env(8, 64, 8);
    SendQueue q;
    std::uint32_t total = 0;
    for (const std::uint32_t len : {10u, 10u, 10u, 10u}) {
        q.append(send_node(env, total, len));
        total += len;
    }
    const SendQueue::Pos late = q.locate(25);  // cursor now in the third node
    ASSERT_EQ(late.node->data[late.off], pat(25));
    const SendQueue::Pos early = q.locate(3);
    q.acked(env.store, 35);  // releases three nodes, cursor among them
    EXPECT_EQ(env.store.nodes_in_use(), 4u);  // not before collect()
    EXPECT_EQ(gather(early, 37), expected(3, 37));
    EXPECT_EQ(gather(late, 15), expected(25, 15));
    env.store.collect();
    EXPECT_EQ(env.store.nodes_in_use(), 1u);
    EXPECT_EQ(env.heap.in_use(), 1u);
    const SendQueue::Pos p = q.locate(0);
    EXPECT_EQ(p.node, q.head());
    EXPECT_EQ(p.off, 5u);
    EXPECT_EQ(gather(p, 5), expected(35, 5));
}

// fill_tail() copies small writes into the spare room of the tail node only: it stops at the
// room left, refuses a tail without room and an empty queue, leaves bytes already queued
// (and positions into them) alone, and keeps the running offsets right for later appends.
TEST(SendQueueTest, FillTailUsesOnlyTheTailsRoom) {
    Env env(8, 64, 8);
    SendQueue q;
    const std::array<std::uint8_t, 1> one = {0};
    EXPECT_EQ(q.fill_tail(one.data(), 1), 0u);  // nothing queued

    BufNode* own = send_node(env, 0, 10);  // a block of 64 lib/tcp copied 10 bytes into
    own->room = 54;
    q.append(own);
    const SendQueue::Pos early = q.locate(4);
    const std::vector<std::uint8_t> more = expected(10, 60);
    EXPECT_EQ(q.fill_tail(more.data(), 0), 0u);
    EXPECT_EQ(q.fill_tail(more.data(), 20), 20u);
    EXPECT_EQ(q.size(), 30u);
    EXPECT_EQ(q.fill_tail(more.data() + 20, 40), 34u);  // only the room left
    EXPECT_EQ(q.size(), 64u);
    EXPECT_EQ(own->room, 0u);
    EXPECT_EQ(q.fill_tail(more.data() + 54, 6), 0u);
    EXPECT_EQ(gather(early, 60), expected(4, 60));
    for (std::uint32_t k = 0; k < 64; ++k) ASSERT_EQ(q.locate(k).node->data[q.locate(k).off], pat(k)) << k;

    BufNode* user = send_node(env, 64, 5);  // a user's buffer: no room
    q.append(user);
    EXPECT_EQ(user->seq, SeqNum(64));
    EXPECT_EQ(q.fill_tail(more.data(), 6), 0u);
    EXPECT_EQ(q.size(), 69u);
    EXPECT_EQ(gather(q.locate(60), 9), expected(60, 9));

    q.acked(env.store, 69);
    EXPECT_EQ(q.fill_tail(more.data(), 6), 0u);  // the tail went with the ACK
    env.store.collect();
    EXPECT_EQ(env.heap.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// BufferStore and HeapBuffers
// ---------------------------------------------------------------------------

/// BufferOps over a HeapBuffers that records the size of every free_bulk batch.
struct CountingOps {
    HeapBuffers* heap;
    std::vector<std::uint32_t> batches;

    BufferOps ops() { return BufferOps{this, &alloc_thunk, &free_thunk}; }
    static MutBuf alloc_thunk(void* self, std::uint32_t want) noexcept {
        return static_cast<CountingOps*>(self)->heap->alloc(want);
    }
    static void free_thunk(void* self, void* const* h, std::uint32_t n) noexcept {
        auto* c = static_cast<CountingOps*>(self);
        c->batches.push_back(n);
        for (std::uint32_t i = 0; i < n; ++i) c->heap->free(h[i]);
    }
};

// take() on an empty slab returns nullptr and counts `exhausted`; a released node is not
// reusable before collect(), and is after. take() hands out nodes with clean links.
TEST(BufferStoreTest, ExhaustionIsCountedAndNotFatal) {
    HeapBuffers heap(8, 16);
    BufferStore store(heap.ops(), 3);
    EXPECT_EQ(store.nodes_total(), 3u);
    std::array<BufNode*, 3> n{};
    for (auto& p : n) {
        p = store.take(heap.copy(reinterpret_cast<const std::uint8_t*>("abcd"), 4));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->next, nullptr);
        EXPECT_EQ(p->len, 4u);
    }
    EXPECT_NE(n[0], n[1]);
    EXPECT_NE(n[1], n[2]);
    EXPECT_EQ(store.nodes_free(), 0u);
    EXPECT_EQ(store.nodes_in_use(), 3u);

    const BufRef extra = heap.copy(reinterpret_cast<const std::uint8_t*>("xy"), 2);
    EXPECT_EQ(store.take(extra), nullptr);
    EXPECT_EQ(store.stats().exhausted, 1u);
    EXPECT_EQ(store.stats().taken, 3u);

    store.release(n[1]);
    EXPECT_EQ(store.take(extra), nullptr);  // released but not collected: not free yet
    EXPECT_EQ(store.stats().exhausted, 2u);
    EXPECT_EQ(heap.in_use(), 4u);
    store.collect();
    EXPECT_EQ(heap.in_use(), 3u);
    EXPECT_EQ(store.nodes_free(), 1u);

    BufNode* again = store.take(extra);  // the caller still owned `extra` after the failures
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->handle, extra.handle);
    EXPECT_EQ(again->data, extra.data);
    EXPECT_EQ(again->len, 2u);
    EXPECT_EQ(again->next, nullptr);
    EXPECT_EQ(again->free_next, nullptr);
    store.release(n[0]);
    store.release(n[2]);
    store.release(again);
    store.collect();
    EXPECT_EQ(heap.in_use(), 0u);
    EXPECT_EQ(store.nodes_in_use(), 0u);
    EXPECT_EQ(store.stats().released, 4u);
}

// A store with no nodes at all refuses every take().
TEST(BufferStoreTest, EmptySlab) {
    HeapBuffers heap(1, 16);
    BufferStore store(heap.ops(), 0);
    EXPECT_EQ(store.take(BufRef{}), nullptr);
    EXPECT_EQ(store.stats().exhausted, 1u);
    store.collect();
}

// drop_handle() frees through the ops in batches: fewer than kFreeBatch wait for collect(),
// the kFreeBatch-th flushes at once, null handles are ignored, and no batch is larger
// than kFreeBatch.
TEST(BufferStoreTest, DropHandleBatches) {
    constexpr std::uint32_t kB = BufferStore::kFreeBatch;
    HeapBuffers heap(4 * kB, 8);
    CountingOps counting{&heap, {}};
    BufferStore store(counting.ops(), 4);
    std::vector<void*> handles;
    for (std::uint32_t i = 0; i < 3 * kB + 5; ++i) handles.push_back(heap.alloc(8).handle);
    ASSERT_EQ(heap.in_use(), 3 * kB + 5);

    for (std::uint32_t i = 0; i < 10; ++i) store.drop_handle(handles[i]);
    store.drop_handle(nullptr);
    EXPECT_EQ(heap.in_use(), 3 * kB + 5);  // waiting for the batch
    EXPECT_TRUE(counting.batches.empty());
    store.collect();
    EXPECT_EQ(heap.in_use(), 3 * kB + 5 - 10);
    ASSERT_EQ(counting.batches.size(), 1u);
    EXPECT_EQ(counting.batches[0], 10u);

    for (std::uint32_t i = 10; i < 10 + kB; ++i) store.drop_handle(handles[i]);  // exactly one batch
    EXPECT_EQ(heap.in_use(), 3 * kB + 5 - 10 - kB);  // flushed without collect()
    ASSERT_EQ(counting.batches.size(), 2u);
    EXPECT_EQ(counting.batches[1], kB);
    store.collect();  // nothing pending: no empty batch
    EXPECT_EQ(counting.batches.size(), 2u);

    for (std::uint32_t i = 10 + kB; i < handles.size(); ++i) store.drop_handle(handles[i]);
    const std::uint32_t rest = 3 * kB + 5 - 10 - kB;  // 2 * kB - 5: one full batch, kB - 5 pending
    EXPECT_EQ(heap.in_use(), rest - kB);
    store.collect();
    EXPECT_EQ(heap.in_use(), 0u);
    for (const std::uint32_t b : counting.batches) {
        EXPECT_GT(b, 0u);
        EXPECT_LE(b, kB);
    }
    EXPECT_EQ(std::accumulate(counting.batches.begin(), counting.batches.end(), 0u), 3 * kB + 5);
}

// Releasing several times kFreeBatch nodes (one by one and as a chain) frees every buffer
// exactly once at collect(), in batches no larger than kFreeBatch, and returns every node.
TEST(BufferStoreTest, ReleaseMoreThanOneBatch) {
    constexpr std::uint32_t kN = 3 * BufferStore::kFreeBatch + 7;
    HeapBuffers heap(2 * kN, 8);
    CountingOps counting{&heap, {}};
    BufferStore store(counting.ops(), 2 * kN);
    std::vector<BufNode*> nodes;
    for (std::uint32_t i = 0; i < 2 * kN; ++i) {
        MutBuf m = heap.alloc(8);
        BufNode* n = store.take(BufRef{m.handle, m.data, 8});
        ASSERT_NE(n, nullptr);
        nodes.push_back(n);
    }
    ASSERT_EQ(heap.in_use(), 2 * kN);
    for (std::uint32_t i = 0; i < kN; ++i) store.release(nodes[i]);
    // The rest as one chain linked through `next`.
    for (std::uint32_t i = kN; i + 1 < 2 * kN; ++i) nodes[i]->next = nodes[i + 1];
    store.release_chain(nodes[kN]);
    EXPECT_EQ(store.nodes_in_use(), 2 * kN);  // nothing returns before collect()
    EXPECT_EQ(heap.in_use(), 2 * kN);
    EXPECT_EQ(store.stats().released, 2 * kN);
    store.collect();
    EXPECT_EQ(store.nodes_in_use(), 0u);
    EXPECT_EQ(heap.in_use(), 0u);
    EXPECT_EQ(std::accumulate(counting.batches.begin(), counting.batches.end(), 0u), 2 * kN);
    for (const std::uint32_t b : counting.batches) EXPECT_LE(b, BufferStore::kFreeBatch);

    // Every node can be taken again.
    for (std::uint32_t i = 0; i < 2 * kN; ++i) ASSERT_NE(store.take(BufRef{}), nullptr);
    EXPECT_EQ(store.take(BufRef{}), nullptr);
}

// The destructor collects: released nodes' buffers go back to the pool.
TEST(BufferStoreTest, DestructorCollects) {
    HeapBuffers heap(4, 8);
    {
        BufferStore store(heap.ops(), 4);
        for (int i = 0; i < 3; ++i) {
            MutBuf m = heap.alloc(8);
            store.release(store.take(BufRef{m.handle, m.data, 8}));
        }
        store.drop_handle(heap.alloc(8).handle);
        EXPECT_EQ(heap.in_use(), 4u);
    }
    EXPECT_EQ(heap.in_use(), 0u);
}

// store.alloc() goes to the ops and counts failures: pool exhausted, or no alloc hook.
TEST(BufferStoreTest, AllocCountsFailures) {
    HeapBuffers heap(2, 16);
    BufferStore store(heap.ops(), 2);
    const MutBuf a = store.alloc(100);
    ASSERT_NE(a.handle, nullptr);
    EXPECT_GE(a.cap, 1u);
    EXPECT_LE(a.cap, heap.block_size());  // never more than a block
    const MutBuf b = store.alloc(5);  // `want` is a hint: at least 1 byte, at most a block
    ASSERT_NE(b.handle, nullptr);
    EXPECT_GE(b.cap, 1u);
    EXPECT_LE(b.cap, heap.block_size());
    EXPECT_EQ(store.alloc(5).handle, nullptr);
    EXPECT_EQ(store.stats().alloc_failed, 1u);
    store.drop_handle(a.handle);
    store.drop_handle(b.handle);
    store.collect();
    EXPECT_EQ(heap.in_use(), 0u);

    BufferStore bare(BufferOps{}, 1);
    EXPECT_EQ(bare.alloc(1).handle, nullptr);
    EXPECT_EQ(bare.stats().alloc_failed, 1u);
}

// HeapBuffers::copy copies at most a block, returns an empty ref when the pool is empty,
// and hands out distinct, non-overlapping blocks.
TEST(HeapBuffersTest, CopyAndExhaustion) {
    HeapBuffers heap(3, 8);
    EXPECT_EQ(heap.total(), 3u);
    EXPECT_EQ(heap.block_size(), 8u);
    const std::array<std::uint8_t, 12> src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const BufRef a = heap.copy(src.data(), 12);
    EXPECT_EQ(a.len, 8u);
    EXPECT_TRUE(std::equal(a.data, a.data + 8, src.begin()));
    const BufRef b = heap.copy(src.data() + 4, 3);
    EXPECT_EQ(b.len, 3u);
    EXPECT_EQ(b.data[0], 5);
    const BufRef c = heap.copy(src.data(), 0);
    EXPECT_NE(c.handle, nullptr);
    EXPECT_TRUE(c.empty());
    const BufRef d = heap.copy(src.data(), 1);
    EXPECT_EQ(d.handle, nullptr);
    EXPECT_EQ(heap.in_use(), 3u);
    const auto* pa = static_cast<const std::uint8_t*>(a.handle);
    const auto* pb = static_cast<const std::uint8_t*>(b.handle);
    EXPECT_GE(pa > pb ? pa - pb : pb - pa, 8);
    heap.free(a.handle);
    heap.free(b.handle);
    heap.free(c.handle);
    EXPECT_EQ(heap.in_use(), 0u);
}

}  // namespace
