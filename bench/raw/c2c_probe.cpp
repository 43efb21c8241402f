// ustcp-c2c-probe [--cpus A,B] [--rounds N] [--json]
//
// How far apart two CPUs are right now: two threads, pinned to CPUs A and B (default 0 and 1),
// pass one cache line back and forth N times (default 200000) and the probe prints the
// one-way handoff time, the round trip over two. On this project's 2-vCPU VM the reading sits
// near 55-70 ns or near 330 ns as the host moves the vCPUs between a near and a far placement;
// bench/run.sh runs the probe before and after every trial and labels the trial with it.
//
// Output: `c2c_ns 63.4` (or `{"c2c_ns": 63.4}` with --json); the median of 5 batches, so one
// preemption does not skew it. Exit 1 when a CPU cannot be pinned, 2 on bad arguments.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct alignas(64) Line {
    std::atomic<std::uint64_t> v{0};
};

bool pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

/// One batch: `rounds` round trips of the line between the two threads; ns per one-way hop.
double batch(int cpu_a, int cpu_b, std::uint64_t rounds, bool& ok) {
    Line line;
    std::atomic<bool> pinned{true};
    std::thread peer([&] {
        if (!pin(cpu_b)) pinned.store(false);
        // Odd values are the peer's turn: it answers each with the next even one.
        for (std::uint64_t want = 1; want < 2 * rounds; want += 2) {
            while (line.v.load(std::memory_order_acquire) != want) {
                if (!pinned.load(std::memory_order_relaxed)) return;
            }
            line.v.store(want + 1, std::memory_order_release);
        }
    });
    if (!pin(cpu_a)) pinned.store(false);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t next = 1; next < 2 * rounds && pinned.load(std::memory_order_relaxed); next += 2) {
        line.v.store(next, std::memory_order_release);
        while (line.v.load(std::memory_order_acquire) != next + 1) {
            if (!pinned.load(std::memory_order_relaxed)) break;
        }
    }
    const auto t1 = std::chrono::steady_clock::now();
    peer.join();
    ok = ok && pinned.load();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(2 * rounds);
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "ustcp-c2c-probe: %s\nusage: ustcp-c2c-probe [--cpus A,B] [--rounds 1000..100000000] [--json]\n",
                 why);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    int cpu_a = 0, cpu_b = 1;
    std::uint64_t rounds = 200000;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--json") {
            json = true;
        } else if (a == "--cpus" && i + 1 < argc) {
            if (std::sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2 || cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b)
                usage("--cpus: want two different CPU numbers, A,B");
        } else if (a == "--rounds" && i + 1 < argc) {
            char* end = nullptr;
            rounds = std::strtoull(argv[++i], &end, 10);
            if (*end != '\0' || rounds < 1000 || rounds > 100000000) usage("--rounds: want 1000..100000000");
        } else {
            usage("unknown argument");
        }
    }
    bool ok = true;
    std::vector<double> ns;
    for (int b = 0; b < 5 && ok; ++b) ns.push_back(batch(cpu_a, cpu_b, rounds / 5, ok));
    if (!ok) {
        std::fprintf(stderr, "ustcp-c2c-probe: cannot pin to CPUs %d and %d: %s\n", cpu_a, cpu_b, std::strerror(errno));
        return 1;
    }
    std::sort(ns.begin(), ns.end());
    if (json) std::printf("{\"c2c_ns\": %.1f}\n", ns[2]);
    else std::printf("c2c_ns %.1f\n", ns[2]);
    return 0;
}
