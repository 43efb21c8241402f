// The packetdrill script parser: text in, Script (script.hpp) or the first error out.
// Parsing only; nothing is executed and no file is read.
//
//   auto script = ustcp::packetdrill::parse_script(text);
//   if (!script) {
//       std::fprintf(stderr, "%s:%s\n", path, script.error().to_string().c_str());  // foo.pkt:3:12: expected ...
//       return 1;
//   }
//
// The accepted language is packetdrill's (gtests/net/packetdrill/parser.y and
// lexer.l) for TCP scripts: options, init/cleanup commands, packet events (TCP,
// UDP, ICMP), system calls, shell commands and code snippets. Not accepted, each
// with an error at its first token: encapsulation prefixes (ipv4/ipv6/gre/mpls
// headers), AccECN ACE digits in flags and AccECN/MPTCP options, fuzzing blocks,
// sequence-number shorthands outside `start:end(len)`, DSCP/class in IP info,
// and the `--define` symbol substitution.
#pragma once

#include <string>
#include <string_view>

#include "script.hpp"
#include "ustcp/base/result.hpp"

namespace ustcp::packetdrill {

/// Where and why a script failed to parse. Syntax errors read "expected <what>";
/// checks that packetdrill makes while parsing (sequence end = start + length,
/// `*` and ranges only on outbound packets, a window on inbound packets, option
/// list padding) are phrased the same way.
struct ParseError {
    Location loc;
    std::string message;

    /// "line:column: message"
    [[nodiscard]] std::string to_string() const;
};

/// Parses a whole script. Stops at the first error. Errors: ParseError (never
/// throws except std::bad_alloc).
[[nodiscard]] Result<Script, ParseError> parse_script(std::string_view text);

}  // namespace ustcp::packetdrill
