#include "ustcp/base/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ustcp {

void Histogram::merge(const Histogram& o) noexcept {
    if (o.count_ == 0) return;
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    if (count_ == 0 || o.min_ < min_) min_ = o.min_;
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
    sum_ += o.sum_;
}

void Histogram::reset() noexcept {
    counts_.fill(0);
    count_ = 0;
    min_ = 0;
    max_ = 0;
    sum_ = 0.0;
}

std::uint64_t Histogram::percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    if (!(p > 0.0)) return min_;  // also NaN
    if (p >= 100.0) return max_;
    // Nearest rank: the ceil(p/100 * n)-th smallest sample (1-based), at least the first.
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen < rank) continue;
        const std::uint64_t lo = bucket_low(b);
        const std::uint64_t mid = lo + (bucket_high(b) - lo) / 2;
        return std::clamp(mid, min_, max_);
    }
    return max_;
}

}  // namespace ustcp
