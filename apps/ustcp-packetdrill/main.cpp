// ustcp-packetdrill [--lenient=win,options,sockopt] [--verbose] [--OPTION=VALUE ...] SCRIPT...
//
// Runs packetdrill scripts against lib/tcp on a virtual clock (runner.hpp) and
// prints, per script, `PASS path`, `SKIP path: reason` or
// `FAIL path:LINE: expected ... got ...`, then `N passed, N failed, N skipped`.
// Exit status: 0 when nothing failed, 1 when a script failed, 2 when it could not
// run at all (bad usage, unreadable script); --exit-skip=N sets the status for a run
// in which every script was skipped (a "// ustcp-skip: REASON" line, IPv6, ...). Other `--name=value` options are
// packetdrill's (--local_ip, --remote_ip, --tolerance_usecs, --mtu, ...) and
// override the scripts' own option lines.
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runner.hpp"

namespace pd = ustcp::packetdrill;

namespace {

constexpr const char* kUsage =
    "usage: ustcp-packetdrill [--lenient=win,options,sockopt] [--verbose] [--OPTION=VALUE ...] SCRIPT...\n"
    "  --lenient=win       do not compare the window of our packets\n"
    "  --lenient=options   compare option kinds, SACK blocks and TS ecr only\n"
    "  --lenient=sockopt   accept unknown socket options; do not compare getsockopt values\n"
    "  --verbose, -v       print ignored options and commands, and a trace of each run\n"
    "  --exit-skip=N       exit with N when every script was skipped (meson: 77)\n"
    "  --local_ip=A --remote_ip=A --tolerance_usecs=N --tolerance_percent=P --mtu=N\n"
    "  --bind_port=N --connect_port=N --ip_version=V --tcp_ts_ecr_scaled\n"
    "exit status: 0 all passed or skipped, 1 a script failed, 2 could not run\n";

int usage_error(const std::string& why) {
    std::fprintf(stderr, "ustcp-packetdrill: %s\n%s", why.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    pd::RunOptions opts;
    std::vector<std::string> paths;
    int exit_skip = 0;  // exit status when every script was skipped
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "-v" || a == "--verbose") {
            opts.verbose = true;
            continue;
        }
        if (a.starts_with("--exit-skip=")) {
            // For test drivers: meson reads 77 as "skipped".
            const std::string v = a.substr(12);
            char* end = nullptr;
            const long n = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n < 0 || n > 255) return usage_error("--exit-skip needs 0..255, got " + v);
            exit_skip = static_cast<int>(n);
            continue;
        }
        if (a.starts_with("--")) {
            pd::ScriptOption o;
            const auto eq = a.find('=');
            o.name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            if (eq != std::string::npos) o.value = a.substr(eq + 1);
            if (auto err = pd::check_cli_option(o)) return usage_error(*err);
            if (o.name == "lenient") {
                // check_cli_option validated the list.
                const std::string v = o.value.value_or("");
                opts.lenient_window = opts.lenient_window || v.find("win") != std::string::npos;
                opts.lenient_options = opts.lenient_options || v.find("options") != std::string::npos;
                opts.lenient_sockopt = opts.lenient_sockopt || v.find("sockopt") != std::string::npos;
                continue;
            }
            opts.overrides.push_back(o);
            continue;
        }
        if (a.starts_with("-") && a != "-") return usage_error("unknown option " + a);
        paths.push_back(a);
    }
    if (paths.empty()) return usage_error("no script given");

    // Read every script first: an unreadable one means the run cannot happen as asked.
    std::vector<std::string> texts;
    for (const std::string& p : paths) {
        std::ifstream in(p, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "ustcp-packetdrill: cannot read %s: %s\n", p.c_str(), std::strerror(errno));
            return 2;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        texts.push_back(ss.str());
    }

    int passed = 0;
    int failed = 0;
    int skipped = 0;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const pd::Verdict v = pd::run_script_text(texts[i], opts);
        if (opts.verbose) {
            for (const std::string& n : v.notes) std::printf("  %s: %s\n", paths[i].c_str(), n.c_str());
        }
        switch (v.outcome) {
            case pd::Outcome::Pass:
                ++passed;
                std::printf("PASS %s\n", paths[i].c_str());
                break;
            case pd::Outcome::Skip:
                ++skipped;
                std::printf("SKIP %s: %s\n", paths[i].c_str(), v.message.c_str());
                break;
            case pd::Outcome::Fail:
                ++failed;
                if (v.column > 0) {
                    std::printf("FAIL %s:%d:%d: %s\n", paths[i].c_str(), v.line, v.column, v.message.c_str());
                } else {
                    std::printf("FAIL %s:%d: %s\n", paths[i].c_str(), v.line, v.message.c_str());
                }
                break;
        }
    }
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed > 0) return 1;
    return passed == 0 && skipped > 0 ? exit_skip : 0;
}
