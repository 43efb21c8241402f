// What ustcp-perf prints: one line per interval, merged over every worker's IntervalLog, a
// summary, and the JSON file (schema in docs/bench.md).
//
//   Reporter rep(options, logs);            // logs: one IntervalLog per worker
//   while (running) if (auto line = rep.next_line()) puts(line->c_str());   // any thread, one
//   rep.finish();                           // after the workers: the totals
//   std::string json = rep.json(...);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workload.hpp"

namespace ustcp::perf {

/// What the report names (the run's settings as given).
struct ReportInfo {
    Mode mode = Mode::Rr;
    std::string backend = "ustcp";
    std::string connect;              ///< "A.B.C.D:PORT"
    std::uint32_t conns = 1;
    Workload w;
    RunSpec spec;
};

/// "812ns", "1.1us", "2.35ms", "1.20s".
[[nodiscard]] std::string format_ns(std::uint64_t ns);

class Reporter {
public:
    Reporter(ReportInfo info, std::vector<const IntervalLog*> logs);
    /// The next interval's line, once every worker has published it.
    std::optional<std::string> next_line();
    /// Every interval that any worker published, merged (call after the workers stopped).
    void finish();
    [[nodiscard]] const Totals& totals() const noexcept { return totals_; }
    /// The summary lines (after finish()).
    [[nodiscard]] std::string summary() const;
    /// The JSON document (after finish()); `extra` is added verbatim as further members
    /// ("\"key\": value, ..." or empty).
    [[nodiscard]] std::string json(const std::string& extra = {}) const;

    /// One interval's line from its merged values (also used by the tests).
    [[nodiscard]] static std::string line(Mode m, const Interval& iv);
    /// iperf 2's "[  1] 0.0000-1.0000 sec  12.50 MBytes  104.86 Mbits/sec" (with the byte count).
    [[nodiscard]] static std::string iperf_line(double from, double to, std::uint64_t bytes);

private:
    void merge_into(std::size_t i, Interval& out) const;
    ReportInfo info_;
    std::vector<const IntervalLog*> logs_;
    std::size_t printed_ = 0;
    std::unique_ptr<Interval> tmp_ = std::make_unique<Interval>();
    Totals totals_;
    std::vector<Interval*> merged_;  // owned by merged_store_
    std::vector<std::unique_ptr<Interval>> merged_store_;
};

}  // namespace ustcp::perf
