// lib/base Histogram: bucket layout, percentiles against the exact sorted samples (the
// nearest-rank definition) within kRelativeError, merge, and the edges of the value range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "ustcp/base/histogram.hpp"

namespace {

using ustcp::Histogram;

// The nearest-rank percentile of sorted samples.
std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double p) {
    if (p <= 0) return sorted.front();
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

void expect_close(std::uint64_t got, std::uint64_t want, double p) {
    const double err = want == 0 ? static_cast<double>(got)
                                 : std::fabs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
    EXPECT_LE(err, Histogram::kRelativeError) << "p" << p << ": got " << got << ", exact " << want;
}

constexpr double kPercentiles[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

TEST(Histogram, BucketsTileTheRangeWithBoundedWidth) {
    EXPECT_EQ(Histogram::bucket_of(0), 0u);
    EXPECT_EQ(Histogram::bucket_of(127), 127u);
    EXPECT_EQ(Histogram::bucket_of(128), 128u);
    EXPECT_EQ(Histogram::bucket_of(255), 255u);
    EXPECT_EQ(Histogram::bucket_of(256), 256u);
    EXPECT_EQ(Histogram::bucket_of(257), 256u);  // width 2 from 256 on
    EXPECT_EQ(Histogram::bucket_of(std::numeric_limits<std::uint64_t>::max()), Histogram::kBuckets - 1);
    EXPECT_EQ(Histogram::bucket_high(Histogram::kBuckets - 1), std::numeric_limits<std::uint64_t>::max());
    // Consecutive buckets meet without gaps; each is at most 1/128 of its low end wide.
    for (std::size_t b = 1; b < Histogram::kBuckets; ++b) {
        ASSERT_EQ(Histogram::bucket_low(b), Histogram::bucket_high(b - 1) + 1) << b;
        const std::uint64_t lo = Histogram::bucket_low(b), hi = Histogram::bucket_high(b);
        ASSERT_EQ(Histogram::bucket_of(lo), b);
        ASSERT_EQ(Histogram::bucket_of(hi), b);
        if (lo >= Histogram::kSubCount) {
            ASSERT_LE(static_cast<double>(hi - lo + 1), static_cast<double>(lo) / 128.0) << b;
        }
    }
}

TEST(Histogram, PercentilesWithinTheErrorBoundOfExactSamples) {
    std::mt19937_64 rng(42);
    // Three shapes: uniform over a wide range, log-normal latencies, and a bimodal mix.
    std::lognormal_distribution<double> lognormal(9.0, 1.5);
    std::uniform_int_distribution<std::uint64_t> uniform(0, 10'000'000);
    for (int shape = 0; shape < 3; ++shape) {
        auto h = std::make_unique<Histogram>();
        std::vector<std::uint64_t> v;
        for (int i = 0; i < 200'000; ++i) {
            std::uint64_t x = 0;
            if (shape == 0) x = uniform(rng);
            if (shape == 1) x = static_cast<std::uint64_t>(lognormal(rng));
            if (shape == 2) x = (rng() % 10 == 0) ? 5'000'000 + rng() % 1000 : 800 + rng() % 400;
            v.push_back(x);
            h->record(x);
        }
        std::sort(v.begin(), v.end());
        ASSERT_EQ(h->count(), v.size());
        EXPECT_EQ(h->min(), v.front());
        EXPECT_EQ(h->max(), v.back());
        for (double p : kPercentiles) expect_close(h->percentile(p), exact(v, p), p);
        double sum = 0;
        for (auto x : v) sum += static_cast<double>(x);
        EXPECT_NEAR(h->mean(), sum / static_cast<double>(v.size()), 1e-6 * h->mean());
    }
}

TEST(Histogram, SmallValuesAreExact) {
    auto h = std::make_unique<Histogram>();
    for (std::uint64_t x = 0; x < 100; ++x) h->record(x);
    EXPECT_EQ(h->percentile(50), 49u);
    EXPECT_EQ(h->percentile(99), 98u);
    EXPECT_EQ(h->percentile(100), 99u);
    EXPECT_EQ(h->percentile(0), 0u);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
    std::mt19937_64 rng(7);
    auto a = std::make_unique<Histogram>();
    auto b = std::make_unique<Histogram>();
    auto all = std::make_unique<Histogram>();
    std::vector<std::uint64_t> v;
    for (int i = 0; i < 50'000; ++i) {
        const std::uint64_t x = rng() % 1'000'000;
        (i % 3 == 0 ? *a : *b).record(x);
        all->record(x);
        v.push_back(x);
    }
    a->merge(*b);
    std::sort(v.begin(), v.end());
    EXPECT_EQ(a->count(), all->count());
    EXPECT_EQ(a->min(), all->min());
    EXPECT_EQ(a->max(), all->max());
    for (double p : kPercentiles) {
        EXPECT_EQ(a->percentile(p), all->percentile(p)) << p;
        expect_close(a->percentile(p), exact(v, p), p);
    }
    // Merging an empty one changes nothing; merging into an empty one copies.
    auto empty = std::make_unique<Histogram>();
    a->merge(*empty);
    EXPECT_EQ(a->count(), all->count());
    empty->merge(*all);
    EXPECT_EQ(empty->min(), all->min());
    EXPECT_EQ(empty->percentile(99.9), all->percentile(99.9));
}

TEST(Histogram, EdgeValuesAndEmpty) {
    auto h = std::make_unique<Histogram>();
    EXPECT_EQ(h->count(), 0u);
    EXPECT_EQ(h->percentile(50), 0u);
    EXPECT_EQ(h->max(), 0u);
    EXPECT_EQ(h->mean(), 0.0);
    const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    h->record(top);
    EXPECT_EQ(h->percentile(50), top);  // clamped to the exact max
    h->record(0);
    EXPECT_EQ(h->min(), 0u);
    EXPECT_EQ(h->percentile(50), 0u);
    EXPECT_EQ(h->percentile(100), top);
    h->record_n(1000, 0);  // nothing
    EXPECT_EQ(h->count(), 2u);
    h->record_n(1000, 8);
    EXPECT_EQ(h->count(), 10u);
    expect_close(h->percentile(50), 1000, 50);
    // Out-of-range percentiles are clamped.
    EXPECT_EQ(h->percentile(-5), 0u);
    EXPECT_EQ(h->percentile(250), top);
    h->reset();
    EXPECT_EQ(h->count(), 0u);
    EXPECT_EQ(h->percentile(99), 0u);
    // A single sample is every percentile.
    h->record(123456789);
    for (double p : kPercentiles) EXPECT_EQ(h->percentile(p), 123456789u) << p;
}

}  // namespace
