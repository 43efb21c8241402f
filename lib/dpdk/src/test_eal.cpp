#include "ustcp/dpdk/test_eal.hpp"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace ustcp::dpdk {

namespace {
int g_result = 0;
bool g_huge = false;
std::once_flag g_once;

int do_init(const char* program, unsigned mem_mb) noexcept {
    const char* env = std::getenv("USTCP_EAL_HUGEPAGES");
    g_huge = env != nullptr && std::strcmp(env, "1") == 0;
    std::vector<std::string> args = {
        program,
        "--no-pci",
        "--no-telemetry",
        "--log-level=error",
        "-l",
        "0",
        "--file-prefix=" + std::string(program) + "-" + std::to_string(::getpid()),
    };
    if (g_huge) {
        args.emplace_back("--in-memory");
    } else {
        args.emplace_back("--no-huge");
        args.emplace_back("-m");
        args.emplace_back(std::to_string(mem_mb));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    cpu_set_t before;
    const bool have_mask = pthread_getaffinity_np(pthread_self(), sizeof before, &before) == 0;
    const int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    if (have_mask) (void)pthread_setaffinity_np(pthread_self(), sizeof before, &before);
    if (rc < 0) {
        std::fprintf(stderr, "init_test_eal: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -rte_errno;
    }
    return 0;
}
}  // namespace

int init_test_eal(const char* program, unsigned mem_mb) noexcept {
    std::call_once(g_once, [&] { g_result = do_init(program, mem_mb); });
    return g_result;
}

bool test_eal_uses_hugepages() noexcept { return g_huge; }

}  // namespace ustcp::dpdk
