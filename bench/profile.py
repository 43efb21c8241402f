#!/usr/bin/python3
"""bench/profile.py: callgrind instruction counts of the ustcp side of issue 7's workloads.

For each workload and side, ustcp-server (--app perf) and ustcp-perf run as in bench/run.sh
(config/memif.toml, one lcore each, joined by net_memif), with one of the two under
`valgrind --tool=callgrind` and the other native. Callgrind collects only inside
engine::Engine::poll (--toggle-collect): rx_burst, the stack, the application callbacks,
timers, tx_burst; not the EAL's start, the launcher's loop or the stats thread. Collection
is zeroed once the client has printed its first measured interval and dumped a few
intervals later, so the window holds load only; the units in it (requests, connections,
bytes) are the client's interval lines between the two (their rates are per second and the
interval is one second). The summary of each dump (callgrind_summary.py) goes to
OUT/<workload>-<side>.md, and all of them to OUT/summary.md.

Run as root (memif's socket, hugepages are not needed: --no-huge --in-memory on both sides).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = {
    # name: (ustcp-perf args, unit, how the unit is read from an interval line)
    "rr64_1conn": (["--mode", "rr", "--req-size", "64", "--resp-size", "64", "--conns", "1"], "transaction", "count"),
    "rr64_64conn": (["--mode", "rr", "--req-size", "64", "--resp-size", "64", "--conns", "64"], "transaction", "count"),
    "crr_64conc": (["--mode", "crr", "--req-size", "64", "--resp-size", "64", "--conns", "64"], "connection", "count"),
    "bulk_1conn": (["--mode", "bulk", "--direction", "send", "--conns", "1"], "segment", "bytes"),
}
SERVER_IP, CLIENT_IP = "198.18.2.1", "198.18.2.2"
MEM = os.environ.get("USTCP_PROFILE_MEM", "--no-huge -m 512")
MSS = 1448  # MTU 1500 less IPv4, TCP and the timestamp option: bulk's bytes per full segment
INTERVAL = re.compile(r"^\[\s*(\d+)\.0s\]\s+([0-9.]+)\s+\S+(?:\s+\((\d+) bytes\))?")


def eal(prefix, cpu):
    return ["-l", str(cpu), "--no-pci", f"--file-prefix={prefix}"] + MEM.split() + [
            "--no-telemetry"] + os.environ.get("USTCP_PROFILE_LOG", "--log-level=error").split()


def wait_for(pred, timeout, what, proc=None, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.005)
    tail = open(log).read()[-3000:] if log and os.path.exists(log) else ""
    sys.exit(f"profile: {what} did not happen\n{tail}")


def intervals(log):
    out = {}
    for line in open(log, errors="replace"):
        m = INTERVAL.match(line)
        if m:
            out[int(m.group(1))] = (float(m.group(2)), int(m.group(3)) if m.group(3) else 0)
    return out


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def profile_one(a, name, side, tmp):
    args, unit, kind = WORKLOADS[name]
    sock = os.path.join(tmp, f"{name}-{side}.sock")
    out_cg = os.path.join(tmp, f"callgrind.{name}-{side}")
    vg = ["valgrind", "--tool=callgrind", "--fair-sched=yes", "--collect-atstart=no", "--toggle-collect=ustcp::engine::Engine::poll(*)",
          f"--callgrind-out-file={out_cg}.%p"]
    srv_log, cli_log = os.path.join(tmp, f"{name}-{side}.server.log"), os.path.join(tmp, f"{name}-{side}.client.log")
    server = [os.path.join(a.build, "apps/ustcp-server/ustcp-server")] + eal(f"uprof-s-{os.getpid()}", a.server_cpu) + [
        "--", "--config", os.path.join(ROOT, "config/memif.toml"),
        "--port.vdev", f"net_memif0,role=server,id=0,socket={sock},mac=02:00:00:00:02:01",
        "--lcores", str(a.server_cpu), "--app", "perf", "--listen", "5000"]
    window = a.window
    client = [os.path.join(a.build, "apps/ustcp-perf/ustcp-perf")] + eal(f"uprof-c-{os.getpid()}", a.client_cpu) + [
        "--", "--config", os.path.join(ROOT, "config/memif.toml"),
        "--port.vdev", f"net_memif0,role=client,id=0,socket={sock},mac=02:00:00:00:02:02",
        "--ip", f"{CLIENT_IP}/24", "--lcores", str(a.client_cpu), "--connect", f"{SERVER_IP}:5000",
        "--timeout", "60", "--warmup", "1", "--duration", str(window + 4)] + args
    if side == "server":
        server = vg + server
    else:
        client = vg + client
    go = os.path.join(tmp, f"{name}-{side}.go")
    client += ["--wait-for", go]
    sp = subprocess.Popen(server, stdout=open(srv_log, "w"), stderr=subprocess.STDOUT)
    cp = None
    control = lambda what: subprocess.run(["callgrind_control", what, str(vg_pid)], check=True,
                                          stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: "SIGUSR1 prints stats" in open(srv_log).read(), 120, "ustcp-server start", sp, srv_log)
        cp = subprocess.Popen(client, stdout=open(cli_log, "w"), stderr=subprocess.STDOUT)
        vg_pid = sp.pid if side == "server" else cp.pid
        wait_for(lambda: "worker 0" in open(cli_log).read(), 120, "ustcp-perf start", cp, cli_log)
        # Dump 1: both up, no traffic (the client waits for `go`): the cost of an empty poll.
        time.sleep(1)
        control("--zero")
        time.sleep(a.idle)
        control("--dump")
        open(go, "w").close()
        # Dump 2: zeroed once the first measured interval is printed, `window` intervals later.
        wait_for(lambda: 1 in intervals(cli_log), 180, "the client's first interval", cp, cli_log)
        control("--zero")
        first = max(intervals(cli_log))
        wait_for(lambda: first + window in intervals(cli_log), 60 + 2 * window, f"interval {first + window}", cp, cli_log)
        control("--dump")
        iv = intervals(cli_log)
        got = [iv[i] for i in range(first + 1, first + window + 1)]
        units = sum(r for r, _ in got) if kind == "count" else sum(b for _, b in got) / MSS
        cp.wait(120)
    finally:
        if cp is not None:
            stop(cp)
        stop(sp)
    prefix = os.path.basename(out_cg) + "."
    dumps = sorted(f for f in os.listdir(tmp) if f.startswith(prefix) and f.endswith((".1", ".2")))
    if len(dumps) != 2:
        sys.exit(f"profile: expected two callgrind dumps for {name} {side}, found {dumps}")
    idle_cg = os.path.join(a.out, f"callgrind.out.{name}-{side}.idle")
    shutil.copyfile(os.path.join(tmp, dumps[0]), idle_cg)
    cg = os.path.join(tmp, dumps[1])
    keep = os.path.join(a.out, f"callgrind.out.{name}-{side}")
    shutil.copyfile(cg, keep)
    label = f"{name}, {side} under callgrind ({int(units):,} {unit}s in {window} intervals of the client)"
    res = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench/callgrind_summary.py"), keep,
                          "--per-count", str(max(1, int(units))), "--unit", unit, "--top", str(a.top), "--label", label, "--idle", idle_cg],
                         check=True, capture_output=True, text=True)
    md = os.path.join(a.out, f"{name}-{side}.md")
    with open(md, "w") as f:
        f.write(res.stdout)
    return res.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--sides", default="server,client", help="server, client or both (comma-separated)")
    p.add_argument("--window", type=int, default=3, help="measured intervals (seconds of the client) per profile")
    p.add_argument("--idle", type=float, default=2, help="seconds of the empty-poll profile")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results/profile"))
    p.add_argument("--keep", action="store_true", help="keep the logs and raw dumps (their folder is printed)")
    p.add_argument("--client-cpu", type=int, default=0)
    p.add_argument("--server-cpu", type=int, default=1)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    text = []
    tmp = tempfile.mkdtemp(prefix="ustcp-profile-")
    try:
        for name in a.workloads.split(","):
            if name not in WORKLOADS:
                p.error(f"--workloads: unknown {name!r}; accepted: {', '.join(WORKLOADS)}")
            for side in a.sides.split(","):
                if side not in ("server", "client"):
                    p.error(f"--sides: unknown {side!r}")
                print(f"profile: {name} {side} ...", flush=True)
                text.append(profile_one(a, name, side, tmp))
    finally:
        if a.keep:
            print(f"profile: logs and dumps kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
