// Executes a packetdrill script (script.hpp) against lib/tcp on a virtual clock,
// deterministically: the Host (host.hpp) plays the operating system, the runner
// plays packetdrill -- it injects the script's inbound packets, makes its system
// calls, and checks every packet our TCP sends against the script's `>` lines.
//
//   RunOptions opts;                       // --lenient=..., --verbose, --local_ip=... overrides
//   Verdict v = run_script_text(text, opts);
//   switch (v.outcome) { case Outcome::Pass: ...; case Outcome::Fail: v.line, v.message ... }
//
// packetdrill semantics applied (see script.hpp for the language):
//  * Events run in script order at their times. Relative times count from the
//    moment the previous event finished (from the previous event's script time
//    between two inbound packets); tolerance is max(--tolerance_usecs,
//    --tolerance_percent of the gap since the previous event), 4000 us and 12.5 %.
//  * Between events the clock jumps from deadline to deadline (Connection::on_deadline)
//    and every segment we send is stamped with the time it left. ACKs a burst left
//    pending (Context::defer_acks) go out when the clock moves on or the script looks
//    at the wire, so data written at the same instant carries them.
//  * `>` lines match the next segment we sent: flags, sequence number (relative to
//    our ISN), ack (absolute, the peer's numbers), payload length and time always;
//    window and options exactly unless lenient. `<...>` skips the options; no `win`
//    skips the window. A missing segment, or one left over when the script ends, fails.
//  * `<` lines: the peer's sequence numbers as written, acks and SACK blocks
//    relative to our ISN, and a TS ecr that equals the TS val the script wrote on
//    one of our packets is replaced by the TS val we actually sent there.
//  * The peer's port: a new ephemeral port (from 32768) for each connection the
//    peer opens to a listener; ours: the bound port, else 8080 (--bind_port);
//    connect(..., ...) goes to the remote address and port 8080 (--connect_port).
//  * A blocking call (`+0...0.5 accept(...)`) runs while later events proceed and
//    must return at its end time; a call without `...` that blocks lets only
//    timers run until it returns. Results (`= N`, `= -1 ERRNO (text)`, `...`) are
//    compared exactly; fds start at 3.
//  * `sysctl` commands set tcp::Config for connections created afterwards; other
//    commands and options the runner does not understand are noted, not failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "script.hpp"

namespace ustcp::packetdrill {

struct RunOptions {
    bool lenient_window = false;   ///< --lenient=win: outbound windows are not compared
    bool lenient_options = false;  ///< --lenient=options: option kinds and protocol facts only
    bool lenient_sockopt = false;  ///< --lenient=sockopt: unknown socket options accepted, values not compared
    bool verbose = false;          ///< notes and a trace of the run in Verdict::notes
    /// `--name=value` settings from the command line; they override the script's own.
    std::vector<ScriptOption> overrides;
};

enum class Outcome : std::uint8_t { Pass, Fail, Skip };

struct Verdict {
    Outcome outcome = Outcome::Pass;
    int line = 0;    ///< Fail: the line of the event that failed (0: none in particular)
    int column = 0;  ///< Fail on a parse error: its column
    /// Fail: "expected <packet or result> got <what happened>" (parse errors: "expected ...").
    /// Skip: why the script cannot run here.
    std::string message;
    /// Options and commands that were ignored; with RunOptions::verbose, a trace of the run.
    std::vector<std::string> notes;
};

/// Parses `text` and runs it. A parse error is a Fail with line and column.
/// The reason in a script's "// ustcp-skip: REASON" line, if it has one: behaviour ustcp
/// does not have yet. run_script_text() reports such a script as Skip after parsing it.
std::optional<std::string> skip_marker(std::string_view text);
Verdict run_script_text(std::string_view text, const RunOptions& opts);

/// Runs a parsed script.
Verdict run_script(const Script& script, const RunOptions& opts);

/// Whether `--name[=value]` on the command line is acceptable: nullopt if so,
/// otherwise why not (an unknown name, or a value the runner cannot use).
std::optional<std::string> check_cli_option(const ScriptOption& opt);

}  // namespace ustcp::packetdrill
