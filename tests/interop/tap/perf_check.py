#!/usr/bin/python3
"""perf_check.py FILE KEY [KEY=VALUE...]: checks ustcp-perf's --json FILE (schema: docs/bench.md).

Every documented field is present, errors is 0, KEY is > 0, the intervals are there, and for
rr/crr every exchange has a latency sample. KEY=VALUE pairs must match exactly (integers).
Prints one line of the totals; exits 1 with the reason otherwise."""
import json
import sys


def main():
    path, key = sys.argv[1], sys.argv[2]
    d = json.load(open(path))
    for k in ("mode", "backend", "connect", "conns", "duration_s", "warmup_s", "measured_s", "req_size",
              "resp_size", "depth", "direction", "requests", "requests_per_s", "connects", "connects_per_s",
              "bytes_sent", "bytes_received", "gbit_per_s", "errors", "http_2xx", "http_non_2xx",
              "established_max", "latency_ns", "intervals"):
        assert k in d, "missing " + k
    for k in ("count", "min", "mean", "p50", "p90", "p99", "p99_9", "max"):
        assert k in d["latency_ns"], "missing latency_ns." + k
    assert d["errors"] == 0, "errors %d" % d["errors"]
    assert d[key] > 0, "%s is %r" % (key, d[key])
    assert len(d["intervals"]) >= 1, "no intervals"
    for iv in d["intervals"]:
        for k in ("end_s", "requests", "connects", "bytes_sent", "bytes_received", "errors", "established",
                  "p50_ns", "p99_ns"):
            assert k in iv, "interval without " + k
    if d["mode"] in ("rr", "crr", "http"):
        lat = d["latency_ns"]
        assert lat["count"] == d["requests"], "latency samples %d, requests %d" % (lat["count"], d["requests"])
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], lat
    for kv in sys.argv[3:]:
        k, v = kv.split("=")
        assert d[k] == int(v), "%s is %r, expected %s" % (k, d[k], v)
    print("  %s %s: requests %d, connects %d, bytes %d/%d, %.3f Gbit/s, p99 %d ns, established %d" % (
        d["backend"], d["mode"], d["requests"], d["connects"], d["bytes_sent"], d["bytes_received"],
        d["gbit_per_s"], d["latency_ns"]["p99"], d["established_max"]))


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError, ValueError) as e:
        print("perf_check: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
