// Replaces every replaceable global allocation function with a counting one, for the
// tests and benchmarks that prove a path allocates nothing. Include it in exactly one
// .cpp of a binary (it defines the global operators). Counting is off until a test sets
// g_counting; g_allocs counts allocations made while it is on.
//
//   g_allocs = 0; g_counting = true;  run_the_path();  g_counting = false;
//   EXPECT_EQ(g_allocs.load(), 0u);
//
// USTCP_ALLOC_TRAP=1 traps at the first counted allocation, for a debugger's backtrace.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ustcp_counting_new {

inline std::atomic<bool> g_counting{false};
inline std::atomic<std::uint64_t> g_allocs{0};

inline void count_one() noexcept {
    if (!g_counting.load(std::memory_order_relaxed)) return;
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    static const bool trap = std::getenv("USTCP_ALLOC_TRAP") != nullptr;
    if (trap) __builtin_trap();
}

inline void* counted_alloc(std::size_t n) noexcept {
    count_one();
    return std::malloc(n == 0 ? 1 : n);
}

inline void* counted_aligned_alloc(std::size_t n, std::align_val_t al) noexcept {
    count_one();
    const auto a = static_cast<std::size_t>(al);
    void* p = nullptr;
    if (posix_memalign(&p, a < sizeof(void*) ? sizeof(void*) : a, n == 0 ? 1 : n) != 0) return nullptr;
    return p;
}

/// Out of line, so GCC's -Wmismatched-new-delete does not see free() on memory from an
/// (inlined) operator new: here both sides are malloc/free.
[[gnu::noinline]] inline void counted_free(void* p) noexcept { std::free(p); }

}  // namespace ustcp_counting_new

using ustcp_counting_new::g_allocs;
using ustcp_counting_new::g_counting;

void* operator new(std::size_t n) {
    if (void* p = ustcp_counting_new::counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (void* p = ustcp_counting_new::counted_alloc(n)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return ustcp_counting_new::counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return ustcp_counting_new::counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t al) {
    if (void* p = ustcp_counting_new::counted_aligned_alloc(n, al)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) {
    if (void* p = ustcp_counting_new::counted_aligned_alloc(n, al)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return ustcp_counting_new::counted_aligned_alloc(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return ustcp_counting_new::counted_aligned_alloc(n, al);
}
void operator delete(void* p) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { ustcp_counting_new::counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    ustcp_counting_new::counted_free(p);
}
