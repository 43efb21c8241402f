#!/usr/bin/python3
"""bench/callgrind_summary.py FILE [--per NAME] [--per-count N] [--top K] [--label TEXT]

Summarises one callgrind output file (Ir only): the total, the calls of a function that
stands for one unit of work (--per: a substring of its name, e.g. 'PerfApp::on_accept'), or
an explicit unit count (--per-count), and the top functions by inclusive and by self cost,
each also divided by the units. Written for bench/profile.sh; reads the format documented
in valgrind's "Callgrind Format Specification" (name compression, calls= lines)."""
import argparse
import collections
import os
import re
import sys


def parse(path, lines_of=None):
    names = {"fn": {}, "cfn": {}, "fl": {}}
    self_cost = collections.Counter()
    incl_calls = collections.Counter()   # cost of calls from f to g (g != f), attributed to f
    calls_to = collections.Counter()     # how many times g was called
    total = 0
    fn = None
    pending_call = None  # (callee, count)
    line_no = 0
    by_line = collections.Counter()  # (file, line) -> self Ir of functions matching lines_of
    fl = ""
    files = {}
    positions = ["line"]
    events = ["Ir"]
    rx = re.compile(r"^\((\d+)\)(?: (.*))?$")
    objects = {}
    ob = ""

    def object_of(text):
        m = rx.match(text)
        if not m:
            return text
        if m.group(2) is not None:
            objects[m.group(1)] = m.group(2)
        return objects.get(m.group(1), "")

    def name_of(kind, text):
        m = rx.match(text)
        if not m:
            return text
        ident, nm = m.group(1), m.group(2)
        table = names["fn"]  # fn and cfn share one id space
        if nm is not None:
            table[ident] = nm
            return nm
        return table.get(ident, "(" + ident + ")")

    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                npos = len(positions)
                pos = parts[0]
                if pos.startswith("+"):
                    line_no += int(pos[1:])
                elif pos.startswith("-"):
                    line_no -= int(pos[1:])
                elif pos != "*":
                    line_no = int(pos)
                vals = parts[npos:npos + len(events)]
                ir = int(vals[0]) if vals else 0
                if pending_call is not None:
                    callee, count = pending_call
                    pending_call = None
                    if callee != fn:
                        incl_calls[fn] += ir
                    calls_to[callee] += count
                else:
                    self_cost[fn] += ir
                    total += ir
                    if lines_of and lines_of in fn:
                        by_line[(fl, line_no)] += ir
                continue
            if line.startswith(("fl=", "fi=", "fe=")):
                m = rx.match(line[3:])
                if m and m.group(2) is not None:
                    files[m.group(1)] = m.group(2)
                fl = files.get(m.group(1), "") if m else line[3:]
            elif line.startswith("ob="):
                ob = object_of(line[3:])
            elif line.startswith("cob="):
                object_of(line[4:])
            elif line.startswith("fn="):
                fn = name_of("fn", line[3:])
                if fn.startswith("0x") and ob:
                    OBJECT_OF[fn] = os.path.basename(ob)
            elif line.startswith("cfn="):
                cur_cfn = name_of("fn", line[4:])
            elif line.startswith("calls="):
                count = int(line[6:].split()[0])
                pending_call = (cur_cfn, count)
            elif line.startswith("positions:"):
                positions = line.split()[1:]
            elif line.startswith("events:"):
                events = line.split()[1:]
    incl = collections.Counter()
    for f_, v in self_cost.items():
        incl[f_] += v
    for f_, v in incl_calls.items():
        incl[f_] += v
    if lines_of:
        return total, self_cost, incl, calls_to, by_line
    return total, self_cost, incl, calls_to


OBJECT_OF = {}  # unnamed functions (addresses): the object they are in


def short(name, width=90):
    if name.startswith("0x") and name in OBJECT_OF:
        return f"{name} in {OBJECT_OF[name]}"
    # Drop the trailing argument list (balanced parentheses), keep lambdas' names.
    if name.endswith(" const"):
        name = name[:-6]
    if name.endswith(")"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i] + "()"
                break
    name = name.replace("ustcp::", "")
    return name if len(name) <= width else name[: width - 3] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--per", help="substring of the function whose calls count the units")
    ap.add_argument("--per-count", type=int, help="the units, counted elsewhere")
    ap.add_argument("--unit", default="unit")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--label", default="")
    ap.add_argument("--idle", help="a dump of the same program polling with no traffic: its cost per empty poll "
                    "(calls of --poll) is taken off each function, times the polls of FILE")
    ap.add_argument("--lines", help="also list the self Ir by source line of the functions matching this")
    ap.add_argument("--poll", default="ustcp::engine::Engine::poll(", help="the poll function (substring)")
    a = ap.parse_args()
    if a.lines:
        _, _, _, _, by_line = parse(a.file, a.lines)
        for (f_, ln), v in sorted(by_line.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"{v:>12,} {os.path.basename(f_)}:{ln}")
        return
    total, self_cost, incl, calls = parse(a.file)
    polls = max((k for n, k in calls.items() if a.poll in n), default=0)
    idle_note = None
    if a.idle:
        itotal, iself, iincl, icalls = parse(a.idle)
        ipolls = max((k for n, k in icalls.items() if a.poll in n), default=0)
        if ipolls == 0:
            sys.exit(f"callgrind_summary: {a.idle}: no calls of {a.poll!r}")
        scale = polls / ipolls
        per_poll = itotal / ipolls
        for n, v in iself.items():
            self_cost[n] -= v * scale
        for n, v in iincl.items():
            incl[n] -= v * scale
        idle_note = (f"- empty poll: {per_poll:,.0f} Ir ({ipolls:,} polls without traffic); the window had "
                     f"{polls:,} polls, and {polls * per_poll:,.0f} Ir of empty-poll cost is taken off "
                     f"(of {total:,})")
        total -= itotal * scale
    units = None
    if a.per_count:
        units = a.per_count
    elif a.per:
        hits = [(n, k) for n, k in calls.items() if a.per in n]
        if not hits:
            sys.exit(f"callgrind_summary: no function matching {a.per!r} was called")
        units = max(k for _, k in hits)
    print(f"### {a.label or a.file}")
    print()
    if idle_note:
        print(idle_note)
    total = int(total)
    if units:
        print(f"- Ir: {total:,}; {a.unit}s: {units:,}" + (f" (calls of `{a.per}`)" if a.per else "")
              + (f"; polls per {a.unit}: {polls / units:.2f}" if polls else ""))
        print(f"- **Ir per {a.unit}: {total / units:,.0f}**")
    else:
        print(f"- Ir: {total:,}")
    print()
    div = units or 1
    print(f"| inclusive Ir/{a.unit} | % | function |")
    print("|---:|---:|---|")
    poll_incl = max((v for n, v in incl.items() if a.poll in n), default=0)
    shown = [(n, v) for n, v in incl.most_common() if n and (a.poll in n or not poll_incl or v < poll_incl * 0.999)]
    for n, v in shown[: a.top]:
        print(f"| {v / div:,.0f} | {100.0 * v / total:.1f} | `{short(n)}` |")
    print()
    print(f"| self Ir/{a.unit} | % | calls/{a.unit} | function |")
    print("|---:|---:|---:|---|")
    for n, v in self_cost.most_common(a.top):
        print(f"| {v / div:,.0f} | {100.0 * v / total:.1f} | {calls.get(n, 0) / div:.2f} | `{short(n)}` |")
    print()
    print("(calls per unit count every call in the window, those of empty polls included)")
    print()


if __name__ == "__main__":
    main()
