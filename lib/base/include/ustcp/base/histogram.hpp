// Histogram: a log-linear histogram of non-negative 64-bit values (latencies in nanoseconds),
// in the manner of HdrHistogram: fixed memory, O(1) record, exact merge, percentiles with a
// bounded relative error.
//
//   Histogram h;                        // ~59 KiB, no allocation after construction
//   h.record(latency_ns);               // O(1): two shifts and an add
//   other.merge(h);                     // bucket by bucket, exact
//   std::uint64_t p99 = h.percentile(99.0);
//
// Layout: values below 2^kSubBits (128) have a bucket each (exact). Above, every power of two
// [2^e, 2^(e+1)) is cut into 2^kSubBits buckets of width 2^(e - kSubBits), so a bucket is at most
// 1/128 of its lower bound wide. percentile() answers the middle of the bucket that holds the
// sample of that rank (clamped to the exact min and max), so the answer is within 1/256 (0.4%)
// of the true sample: relative error <= kRelativeError. The whole uint64_t range is covered;
// nothing saturates.
//
// Ranks follow the nearest-rank definition: percentile(p) is the smallest recorded value v
// such that at least ceil(p / 100 * count) values are <= v (p = 0: the minimum; p = 100: the
// maximum). An empty histogram answers 0 everywhere.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ustcp {

class Histogram {
public:
    static constexpr unsigned kSubBits = 7;
    static constexpr std::size_t kSubCount = std::size_t{1} << kSubBits;
    /// Group 0 holds 0..kSubCount-1; group g >= 1 holds [2^(g + kSubBits - 1), 2^(g + kSubBits)).
    static constexpr std::size_t kGroups = 64 - kSubBits + 1;
    static constexpr std::size_t kBuckets = kGroups * kSubCount;
    /// What percentile() may be off by, relative to the true sample.
    static constexpr double kRelativeError = 1.0 / (2.0 * static_cast<double>(kSubCount));

    /// The bucket of `v`. O(1).
    [[nodiscard]] static constexpr std::size_t bucket_of(std::uint64_t v) noexcept {
        if (v < kSubCount) return static_cast<std::size_t>(v);
        const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));  // >= kSubBits
        const unsigned shift = e - kSubBits;
        const std::size_t group = shift + 1;
        const std::size_t sub = static_cast<std::size_t>(v >> shift) - kSubCount;  // 0..kSubCount-1
        return group * kSubCount + sub;
    }
    /// The smallest value of bucket `b`.
    [[nodiscard]] static constexpr std::uint64_t bucket_low(std::size_t b) noexcept {
        const std::size_t group = b / kSubCount;
        const std::uint64_t sub = b % kSubCount;
        if (group == 0) return sub;
        return (kSubCount + sub) << (group - 1);
    }
    /// The largest value of bucket `b`.
    [[nodiscard]] static constexpr std::uint64_t bucket_high(std::size_t b) noexcept {
        const std::size_t group = b / kSubCount;
        if (group == 0) return bucket_low(b);
        return bucket_low(b) + ((std::uint64_t{1} << (group - 1)) - 1);
    }

    void record(std::uint64_t v) noexcept { record_n(v, 1); }
    void record_n(std::uint64_t v, std::uint64_t n) noexcept {
        if (n == 0) return;
        counts_[bucket_of(v)] += n;
        if (count_ == 0 || v < min_) min_ = v;
        if (v > max_) max_ = v;
        count_ += n;
        sum_ += static_cast<double>(v) * static_cast<double>(n);
    }
    /// Adds every value of `o`.
    void merge(const Histogram& o) noexcept;
    void reset() noexcept;

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    [[nodiscard]] std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    [[nodiscard]] double mean() const noexcept { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }
    /// The value at percentile `p` (0..100; outside is clamped), see the header comment.
    [[nodiscard]] std::uint64_t percentile(double p) const noexcept;

private:
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = 0;
    std::uint64_t max_ = 0;
    double sum_ = 0.0;
};

}  // namespace ustcp
