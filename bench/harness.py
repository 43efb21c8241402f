#!/usr/bin/env python3
"""ustcp beside Linux and the raw link, side by side in one run (bench/run.sh runs this).

Each workload runs on up to four systems, the two sides of each pinned to their own CPU
(client --client-cpu, server --server-cpu):
  ustcp           ustcp-server (1 lcore) and ustcp-perf (1 lcore) over net_memif;
  linux           the same workload code on kernel sockets (ustcp-perf --backend linux, its
                  --serve twin; nginx + wrk for HTTP) over a veth pair between two network
                  namespaces (MTU 1500);
  linux_busypoll  the same with busy-polling sockets (SO_BUSY_POLL), the fair comparison for a
                  busy-polling stack on a VM whose idle vCPUs halt;
  raw             ustcp-raw-link: no stack, the same memif link (ping-pong round trips, one-way
                  1514-byte frames).
Trials interleave the systems (the order rotates each trial) and each measurement is framed by
two core-to-core probe readings (ustcp-c2c-probe). A measurement whose probes both read below
--near-ns is "near"; ratios come from the medians of near measurements when every system has
one, else from all of them (the summary says which). Results: bench/results/<date>.json (one
object per workload), <date>.md (the table for the README), <date>.png (gnuplot).

Needs root (namespaces, hugepages) and a build with the benchmarks (meson compile -C build).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The veth pair for the Linux runs.
LINUX_SERVER_IP = "198.18.4.1"
LINUX_CLIENT_IP = "198.18.4.2"
# The memif link for the ustcp runs (config/memif.toml's addresses).
USTCP_SERVER_IP = "198.18.2.1"
USTCP_CLIENT_IP = "198.18.2.2"
PERF_PORT = 5000
HTTP_PATH = "/bytes/64"

# name: (unit, what a bigger value means, per-system availability)
WORKLOADS = {
    "bulk_1conn": ("Gbit/s", ["ustcp", "linux", "linux_busypoll", "raw"]),
    "rr64_1conn": ("req/s", ["ustcp", "linux", "linux_busypoll", "raw"]),
    "rr64_64conn": ("req/s", ["ustcp", "linux", "linux_busypoll"]),
    "crr_64conc": ("conn/s", ["ustcp", "linux", "linux_busypoll"]),
    "http_keepalive": ("req/s", ["ustcp", "linux"]),
    "http_close": ("req/s", ["ustcp", "linux"]),
    "hold_conns": ("conns", ["ustcp"]),
    "crr_1m_idle": ("conn/s", ["ustcp"]),
}
SYSTEMS = ["ustcp", "linux", "linux_busypoll", "raw"]

# The bar, as (workload, field, op, value, text).
TARGETS = [
    ("rr64_1conn", "ustcp_over_linux", 10.0, "RR 64 B, 1 conn: >= 10x Linux busy-poll"),
    ("rr64_1conn", "ustcp_over_raw", 0.5, "RR 64 B, 1 conn: >= 50% of raw ping-pong"),
    ("rr64_64conn", "ustcp_over_linux", 20.0, "RR 64 B, 64 conns: >= 20x Linux"),
    ("crr_64conc", "ustcp_over_linux", 20.0, "CRR: >= 20x Linux"),
    ("bulk_1conn", "ustcp_over_linux", 2.0, "Bulk 1 conn: >= 2x Linux over veth"),
    ("bulk_1conn", "ustcp_over_raw", 0.4, "Bulk 1 conn: >= 40% of the raw 1514-byte frame rate"),
    ("crr_1m_idle", "idle_over_none", 0.8, "CRR at the idle connections: >= 80% of CRR at none"),
]
HOLD_TARGET = 4_000_000  # the hold: established connections on one server lcore
IDLE_TARGET = 1_000_000  # the crr_1m_idle: CRR beside a million idle connections

# Ephemeral ports per local address (the engine's 32768..60999) and the client's secondary
# addresses for holds beyond one address's ports: 198.18.2.10 and up, inside memif's /24.
PORTS_PER_ADDR = 28232
EXTRA_FIRST = (198, 18, 2, 10)
EXTRA_MAX = 245


def pool_for(conns):
    """tcp.max_connections for `conns` held at once: a 1/32 margin (TIME-WAIT recycling keeps
    1/64 of the pool free) and room for the handshakes in flight; 4 M stays under 4 Mi, so the
    flow table is 2^23 slots, not 2^24."""
    return conns + conns // 32 + 2048


def flow_table_bytes(pool):
    """The engine's flow table for a pool: 32-byte slots, a power of two >= 2 * pool, and a
    16-byte reclaim entry per pool slot (lib/engine flow_table.hpp); zeroed at start."""
    slots = 16
    while slots < 2 * pool:
        slots *= 2
    return slots * 32 + pool * 16


def log(msg):
    print(msg, flush=True)


class Failure(Exception):
    pass


def run(cmd, timeout, **kw):
    """Runs cmd to completion; returns (rc, stdout+stderr)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, text=True, **kw)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out


def stop(proc, timeout=15):
    """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_for(pred, timeout, what, proc=None, logfile=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            tail = open(logfile).read()[-2000:] if logfile else ""
            raise Failure(f"{what}: the process exited ({proc.returncode})\n{tail}")
        time.sleep(0.05)
    raise Failure(f"{what}: not within {timeout} s")


def read_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Bench:
    def __init__(self, a):
        self.a = a
        b = os.path.join(ROOT, a.build) if not os.path.isabs(a.build) else a.build
        self.server = os.path.join(b, "apps/ustcp-server/ustcp-server")
        self.perf = os.path.join(b, "apps/ustcp-perf/ustcp-perf")
        self.raw = os.path.join(b, "bench/raw/ustcp-raw-link")
        self.probe = os.path.join(b, "bench/raw/ustcp-c2c-probe")
        self.tmp = tempfile.mkdtemp(prefix="ustcp-bench-")
        self.tag = f"ub{os.getpid()}"
        self.ns_s, self.ns_c = f"{self.tag}s", f"{self.tag}c"
        self.count = 0
        self.nginx = None

    # ---------------------------------------------------------------- setup
    def check(self):
        need = [self.probe]
        need += [self.raw] if "raw" in self.a.systems else []
        need += [self.server] if "ustcp" in self.a.systems else []
        need += [self.perf] if set(self.a.systems) - {"raw"} else []
        missing = [p for p in need if not os.access(p, os.X_OK)]
        if missing:
            raise Failure("not built: " + ", ".join(missing) + f" (meson compile -C {self.a.build})")
        if os.geteuid() != 0:
            raise Failure("needs root (network namespaces, hugepages)")
        hp = "/sys/kernel/mm/hugepages/hugepages-2048kB"
        free = int(open(f"{hp}/free_hugepages").read())
        if free < 512:
            nr = int(open(f"{hp}/nr_hugepages").read())
            with open(f"{hp}/nr_hugepages", "w") as f:
                f.write(str(nr + 512 - free))
        if not any(l.split()[2] == "hugetlbfs" for l in open("/proc/mounts")):
            os.makedirs("/dev/hugepages", exist_ok=True)
            subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"], check=True)
        if int(open(f"{hp}/free_hugepages").read()) < 256:
            raise Failure("fewer than 256 free 2 MB hugepages: memif needs them")

    def make_veth(self):
        sh = lambda *c: subprocess.run(list(c), check=True)
        sh("ip", "netns", "add", self.ns_s)
        sh("ip", "netns", "add", self.ns_c)
        sh("ip", "link", "add", f"{self.tag}a", "type", "veth", "peer", "name", f"{self.tag}b")
        sh("ip", "link", "set", f"{self.tag}a", "netns", self.ns_s)
        sh("ip", "link", "set", f"{self.tag}b", "netns", self.ns_c)
        for ns, dev, ip in ((self.ns_s, f"{self.tag}a", LINUX_SERVER_IP), (self.ns_c, f"{self.tag}b", LINUX_CLIENT_IP)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up")
            # Enough 4-tuples and fast reuse for CRR at tens of thousands of connections/s.
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535",
               "net.ipv4.tcp_tw_reuse=1")

    def cleanup(self):
        if self.nginx is not None:
            stop(self.nginx)
        for ns in (self.ns_s, self.ns_c):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        for d in ("/var/run/dpdk",):
            for e in os.listdir(d) if os.path.isdir(d) else []:
                if e.startswith(self.tag):
                    shutil.rmtree(os.path.join(d, e), ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---------------------------------------------------------------- probes
    def c2c(self):
        rc, out = run([self.probe, "--cpus", f"{self.a.client_cpu},{self.a.server_cpu}", "--json"], 30)
        if rc != 0:
            raise Failure(f"ustcp-c2c-probe: {out.strip()}")
        return json.loads(out)["c2c_ns"]

    # ---------------------------------------------------------------- DPDK sides
    def eal(self, cpu, role):
        self.count += 1
        return ["-l", str(cpu), "--no-pci", f"--file-prefix={self.tag}{role}{self.count}", "-m", "256",
                "--huge-unlink", "--log-level=error", "--no-telemetry"]

    def sock(self):
        return os.path.join(self.tmp, f"memif{self.count}.sock")

    def ustcp_server(self, app, extra=()):
        """Starts ustcp-server on the memif server end; returns (proc, log path, socket)."""
        sock = self.sock()
        logf = os.path.join(self.tmp, f"server{self.count}.log")
        cmd = [self.server] + self.eal(self.a.server_cpu, "s") + [
            "--", "--config", os.path.join(ROOT, "config/memif.toml"),
            "--port.vdev", f"net_memif0,role=server,id=0,socket={sock},mac=02:00:00:00:02:01", "--lcores", str(self.a.server_cpu),
            "--app", app] + list(extra)
        proc = subprocess.Popen(cmd, stdout=open(logf, "w"), stderr=subprocess.STDOUT)
        wait_for(lambda: "SIGUSR1 prints stats" in open(logf).read(), 20, "ustcp-server start", proc, logf)
        return proc, logf, sock

    @staticmethod
    def client_addrs(conns):
        """(extra client args, addresses) so that `conns` connections find enough 4-tuples to one
        server port: the client's own address up to one address's ephemeral ports, beyond that
        secondary addresses (port.extra_ips) and --src-range over them."""
        if conns <= PORTS_PER_ADDR - 1000:
            return []
        n = min(EXTRA_MAX, -(-conns // (PORTS_PER_ADDR - 1000)))
        a, b, c, d = EXTRA_FIRST
        rng = f"{a}.{b}.{c}.{d}-{a}.{b}.{c}.{d + n - 1}"
        return ["--port.extra_ips", rng, "--src-range", rng]

    def ustcp_perf(self, sock, args, timeout, sample=None):
        """Runs ustcp-perf on the memif client end; `sample`, when given, is called every 0.5 s
        while it runs (the hold's memory readings)."""
        out_json = os.path.join(self.tmp, f"perf{self.count}.json")
        cmd = [self.perf] + self.eal(self.a.client_cpu, "c") + [
            "--", "--config", os.path.join(ROOT, "config/memif.toml"),
            "--port.vdev", f"net_memif0,role=client,id=0,socket={sock},mac=02:00:00:00:02:02",
            "--ip", f"{USTCP_CLIENT_IP}/24", "--lcores", str(self.a.client_cpu), "--json", out_json] + args
        if sample is None:
            rc, out = run(cmd, timeout)
        else:
            logf = os.path.join(self.tmp, f"perf{self.count}.log")
            with open(logf, "w") as lf:
                p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
                deadline = time.monotonic() + timeout
                while p.poll() is None and time.monotonic() < deadline:
                    sample()
                    time.sleep(0.5)
                if p.poll() is None:
                    p.kill()
                rc = p.wait()
            out = open(logf).read()
        if rc != 0 or not os.path.exists(out_json):
            raise Failure(f"ustcp-perf {' '.join(args)}: exit {rc}\n{out[-3000:]}")
        return json.load(open(out_json))

    # ---------------------------------------------------------------- Linux sides
    def in_ns(self, ns, cpu):
        return ["ip", "netns", "exec", ns, "taskset", "-c", str(cpu)]

    def linux_server(self, busy):
        logf = os.path.join(self.tmp, f"lserver{self.count}.log")
        cmd = self.in_ns(self.ns_s, self.a.server_cpu) + [self.perf, "--backend", "linux", "--serve", str(PERF_PORT)]
        if busy:
            cmd += ["--busy-poll", str(self.a.busy_poll_us)]
        proc = subprocess.Popen(cmd, stdout=open(logf, "w"), stderr=subprocess.STDOUT)
        listening = lambda: f":{PERF_PORT} " in run(["ip", "netns", "exec", self.ns_s, "ss", "-Hltn"], 5)[1]
        wait_for(listening, 10, "ustcp-perf --serve", proc, logf)
        return proc

    def linux_perf(self, args, busy, timeout):
        self.count += 1
        out_json = os.path.join(self.tmp, f"lperf{self.count}.json")
        cmd = self.in_ns(self.ns_c, self.a.client_cpu) + [self.perf, "--backend", "linux", "--json", out_json] + args
        if busy:
            cmd += ["--busy-poll", str(self.a.busy_poll_us)]
        rc, out = run(cmd, timeout)
        if rc != 0 or not os.path.exists(out_json):
            raise Failure(f"ustcp-perf --backend linux {' '.join(args)}: exit {rc}\n{out[-3000:]}")
        return json.load(open(out_json))

    def start_nginx(self):
        if shutil.which("nginx") is None:
            return False
        root = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(root, "bytes"), exist_ok=True)
        # The same body as ustcp's GET /bytes/64.
        with open(os.path.join(root, "bytes", "64"), "wb") as f:
            f.write(b"x" * 64)
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
worker_cpu_affinity {1 << self.a.server_cpu:b};
daemon off;
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/nginx.err warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  default_type application/octet-stream;
  server {{ listen {LINUX_SERVER_IP}:80 reuseport; root {root}; }}
}}
""")
        self.nginx = subprocess.Popen(["ip", "netns", "exec", self.ns_s, "nginx", "-c", conf],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        listening = lambda: ":80 " in run(["ip", "netns", "exec", self.ns_s, "ss", "-Hltn"], 5)[1]
        wait_for(listening, 10, "nginx start", self.nginx)
        return True

    def wrk(self, close, timeout):
        cmd = self.in_ns(self.ns_c, self.a.client_cpu) + [
            "wrk", "-t1", "-c64", f"-d{self.a.duration}s", f"http://{LINUX_SERVER_IP}{HTTP_PATH}"]
        if close:
            cmd[-1:-1] = ["-H", "Connection: close"]
        rc, out = run(cmd, timeout)
        m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        if rc != 0 or m is None:
            raise Failure(f"wrk: exit {rc}\n{out[-2000:]}")
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return {"rate": float(m.group(1)), "non2xx": int(bad.group(1)) if bad else 0,
                "errors": sum(int(x) for x in errs.groups()) if errs else 0}

    # ---------------------------------------------------------------- raw
    def raw_pair(self, passive, active, size):
        sock = self.sock()
        pjson = os.path.join(self.tmp, f"rawp{self.count}.json")
        ajson = os.path.join(self.tmp, f"rawa{self.count}.json")
        vdev = lambda role: f"--vdev=net_memif0,role={role},id=0,socket={sock}"
        plog = os.path.join(self.tmp, f"rawp{self.count}.log")
        p = subprocess.Popen([self.raw] + self.eal(self.a.server_cpu, "rs") + [vdev("server"), "--", "--role", passive,
                             "--json", pjson], stdout=open(plog, "w"), stderr=subprocess.STDOUT)
        wait_for(lambda: "ready" in open(plog).read(), 20, "ustcp-raw-link start", p, plog)
        rc, out = run([self.raw] + self.eal(self.a.client_cpu, "ra") + [vdev("client"), "--", "--role", active,
                      "--size", str(size), "--duration", str(self.a.duration), "--warmup", str(self.a.warmup),
                      "--json", ajson], self.a.duration + self.a.warmup + 60)
        # The active side closed its port: the passive one sees the link go down and exits.
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            stop(p)
        if rc != 0:
            raise Failure(f"ustcp-raw-link --role {active}: exit {rc}\n{out[-2000:]}")
        return json.load(open(ajson)), (json.load(open(pjson)) if os.path.exists(pjson) else None)

    # ---------------------------------------------------------------- one measurement
    def perf_args(self, workload):
        d = ["--duration", str(self.a.duration), "--warmup", str(self.a.warmup)]
        if workload == "bulk_1conn":
            return ["--mode", "bulk", "--direction", "send", "--conns", "1"] + d
        if workload == "rr64_1conn":
            return ["--mode", "rr", "--req-size", "64", "--resp-size", "64", "--conns", "1"] + d
        if workload == "rr64_64conn":
            return ["--mode", "rr", "--req-size", "64", "--resp-size", "64", "--conns", "64"] + d
        if workload == "crr_64conc":
            return ["--mode", "crr", "--req-size", "64", "--resp-size", "64", "--conns", "64"] + d
        if workload == "http_keepalive":
            return ["--mode", "http", "--conns", "64", "--http-path", HTTP_PATH] + d
        if workload == "http_close":
            return ["--mode", "http", "--http-close", "--conns", "64", "--http-path", HTTP_PATH] + d
        if workload == "hold_conns":
            n = self.a.hold
            secs = self.hold_seconds()
            return (["--mode", "hold", "--conns", str(n), "--duration", str(secs), "--warmup", "0",
                     "--tcp.max_connections", str(pool_for(n))] + self.client_addrs(n))
        if workload == "crr_1m_idle":
            n = self.a.idle
            return (["--mode", "crr", "--req-size", "64", "--resp-size", "64", "--conns", "64",
                     "--tcp.max_connections", str(pool_for(n + 64))] + d + self.client_addrs(n + 64))
        raise ValueError(workload)

    def hold_seconds(self):
        """The hold's run: --hold-seconds, else long enough to open every connection at a
        conservative 20000 a second, and at least --duration."""
        if self.a.hold_seconds:
            return self.a.hold_seconds
        return max(self.a.duration, -(-self.a.hold // 20000) + 2)

    def measure(self, workload, system):
        """One measurement: {"value", optional "p50_us".. , "errors"}."""
        timeout = self.a.duration + self.a.warmup + 120
        args = self.perf_args(workload)
        if system == "raw":
            if workload == "rr64_1conn":
                a, _ = self.raw_pair("reflect", "pingpong", 64)
                return {"value": a["rate"], **{k: a[k] for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")}}
            # bulk: the sink's 1514-byte frame rate, as payload Gbit/s at ustcp's MSS (1460):
            # ustcp over raw is then the share of the raw frame rate that ustcp's segments reach.
            _, sink = self.raw_pair("rx", "tx", 1514)
            if sink is None:
                raise Failure("ustcp-raw-link --role rx wrote no report")
            return {"value": sink["rate"] * 1460 * 8 / 1e9, "frames_per_s": sink["rate"]}
        if system == "ustcp":
            if workload == "crr_1m_idle":
                return self.crr_idle(args, timeout)
            app = "http" if workload.startswith("http") else "perf"
            extra = ["--listen", "80"] if app == "http" else ["--listen", str(PERF_PORT)]
            if workload == "hold_conns":
                extra += ["--tcp.max_connections", str(pool_for(self.a.hold))]
                timeout = self.hold_seconds() + 300
            srv, logf, sock = self.ustcp_server(app, extra)
            port = 80 if app == "http" else PERF_PORT
            rss = lambda: read_kib(srv.pid, "VmRSS") + read_kib(srv.pid, "HugetlbPages")
            rss0 = rss()
            peak = [rss0]
            sample = (lambda: peak.append(max(peak[-1], rss()))) if workload == "hold_conns" else None
            try:
                res = self.ustcp_perf(sock, ["--connect", f"{USTCP_SERVER_IP}:{port}"] + args, timeout, sample)
                peak.append(max(peak[-1], rss()))
            finally:
                rc = stop(srv, 300 if workload == "hold_conns" else 60)
            if rc != 0:
                raise Failure(f"ustcp-server exited {rc}\n{open(logf).read()[-2000:]}")
            m = self.perf_metrics(workload, res)
            if workload == "hold_conns" and m["value"]:
                # The server's resident memory while the connections were held, less what it had
                # at start (mempools, the zeroed flow table): what the connections added.
                m["bytes_per_conn"] = (peak[-1] - rss0) * 1024 / m["value"]
                m["flow_table_bytes_per_conn"] = flow_table_bytes(pool_for(self.a.hold)) / m["value"]
                m["rss_start_kib"], m["rss_peak_kib"] = rss0, peak[-1]
            return m
        busy = system == "linux_busypoll"
        if workload.startswith("http"):
            if self.nginx is None and not self.start_nginx():
                raise Failure("nginx is not installed (scripts/setup.sh installs nginx-light)")
            r = self.wrk(workload == "http_close", timeout)
            return {"value": r["rate"], "errors": r["errors"] + r["non2xx"]}
        srv = self.linux_server(busy)
        try:
            res = self.linux_perf(["--connect", f"{LINUX_SERVER_IP}:{PERF_PORT}"] + args, busy, timeout)
        finally:
            stop(srv)
        return self.perf_metrics(workload, res)

    def crr_idle(self, args, timeout):
        """CRR beside idle connections: two servers with the same pool (so the same flow-table
        size), the first measured with no idle connections, the second after the client opened
        --idle connections on it that stay open while the CRR runs. Returns the second's rate,
        the first's as crr_none and their ratio."""
        pool = pool_for(self.a.idle + 64)
        rates = {}
        for idle in (0, self.a.idle):
            srv, logf, sock = self.ustcp_server("perf", ["--listen", str(PERF_PORT), "--tcp.max_connections", str(pool)])
            extra = ["--idle", str(idle)] if idle else []
            try:
                res = self.ustcp_perf(sock, ["--connect", f"{USTCP_SERVER_IP}:{PERF_PORT}"] + args + extra,
                                      timeout + (-(-idle // 20000)) + 120)
            finally:
                rc = stop(srv, 120)
            if rc != 0:
                raise Failure(f"ustcp-server exited {rc}\n{open(logf).read()[-2000:]}")
            rates[idle] = self.perf_metrics("crr_64conc", res)
        m = rates[self.a.idle]
        m["idle_conns"] = self.a.idle
        m["crr_none"] = rates[0]["value"]
        m["idle_over_none"] = m["value"] / m["crr_none"] if m["crr_none"] else None
        return m

    @staticmethod
    def perf_metrics(workload, res):
        """The figure of merit from ustcp-perf's --json (docs/bench.md has its schema)."""
        if workload == "bulk_1conn":
            v = res["gbit_per_s"]
        elif workload == "hold_conns":
            v = res["established_max"]
        elif workload == "crr_64conc":
            v = res["connects_per_s"]
        else:
            v = res["requests_per_s"]
        m = {"value": v, "errors": res.get("errors", 0) + res.get("http_non_2xx", 0)}
        lat = res.get("latency_ns") or {}
        if lat.get("count"):
            for k_in, k_out in (("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99_9", "p999_us"),
                                ("max", "max_us")):
                m[k_out] = lat[k_in] / 1000.0
        return m

    # ---------------------------------------------------------------- micro
    MICRO = (  # (name in the results, Google Benchmark name, target in ns)
        ("micro_segment_rx_ns", "BM_SegmentRxInOrder/ts:1/copy_read:0", 100.0),
        ("micro_flow_lookup_1m_ns", "BM_FlowLookupHit<OursTable>/1000000", 50.0),
    )

    def micro(self):
        """The two micro-benchmark targets, medians of 5 repetitions (bench/micro)."""
        exe = os.path.join(os.path.dirname(self.raw), "..", "micro", "ustcp-bench-micro")
        names = "|".join(re.escape(g) + "$" for _, g, _ in self.MICRO)
        rc, out = run([exe, f"--benchmark_filter={names}", "--benchmark_repetitions=5",
                       "--benchmark_report_aggregates_only=true", "--benchmark_format=json"], 600,
                      env={**os.environ, "USTCP_EAL_HUGEPAGES": "0"})
        if rc != 0:
            raise Failure(f"ustcp-bench-micro: exit {rc}\n{out[-2000:]}")
        found = {b["run_name"]: b["cpu_time"] for b in json.loads(out[out.index("{"):])["benchmarks"]
                 if b.get("aggregate_name") == "median" and b["time_unit"] == "ns"}
        return [{"workload": n, "unit": "ns", "ustcp": found.get(g), "target_ns": t, "linux": None,
                 "linux_busypoll": None, "raw": None, "ustcp_over_linux": None, "ustcp_over_raw": None,
                 "basis": "median of 5"} for n, g, t in self.MICRO]

    # ---------------------------------------------------------------- the run
    def trial_plan(self, workloads):
        plan = []
        for t in range(self.a.trials):
            for w in workloads:
                systems = [s for s in WORKLOADS[w][1] if s in self.a.systems]
                k = t % len(systems) if systems else 0
                for s in systems[k:] + systems[:k]:
                    plan.append((t + 1, w, s))
        return plan

    def go(self):
        self.check()
        self.make_veth()
        workloads = [w for w in WORKLOADS if w in self.a.workloads]
        records = []
        plan = self.trial_plan(workloads)
        log(f"bench: {len(plan)} measurements ({self.a.trials} trials x {len(workloads)} workloads), "
            f"{self.a.warmup}+{self.a.duration} s each; client CPU {self.a.client_cpu}, server CPU {self.a.server_cpu}")
        for i, (t, w, s) in enumerate(plan, 1):
            before = self.c2c()
            try:
                m = self.measure(w, s)
                err = None
            except Failure as e:
                m, err = {"value": None}, str(e)
            after = self.c2c()
            near = max(before, after) < self.a.near_ns
            rec = {"trial": t, "workload": w, "system": s, "c2c_before_ns": before, "c2c_after_ns": after,
                   "placement": "near" if near else "far", **m}
            if err:
                rec["error"] = err.splitlines()[0]
                log(f"  [{i}/{len(plan)}] {w:15} {s:15} FAILED: {err}")
            else:
                lat = f" p50 {m['p50_us']:.2f}us p99 {m['p99_us']:.2f}us" if "p50_us" in m else ""
                log(f"  [{i}/{len(plan)}] {w:15} {s:15} {m['value']:14.2f} {WORKLOADS[w][0]:7}{lat}  "
                    f"c2c {before:.0f}/{after:.0f} ns ({rec['placement']})")
            records.append(rec)
        results = self.summarise(workloads, records)
        if self.a.micro:
            log("bench: micro-benchmarks (bench/micro)")
            results += self.micro()
        return results

    def summarise(self, workloads, records):
        out = []
        for w in workloads:
            unit, systems = WORKLOADS[w]
            rows = [r for r in records if r["workload"] == w and r["value"] is not None]
            have_near = all(any(r["system"] == s and r["placement"] == "near" for r in rows)
                            for s in systems if s in self.a.systems)
            basis = "near" if have_near else "all"
            obj = {"workload": w, "unit": unit, "basis": basis}
            lat = {}
            for s in SYSTEMS:
                pick = [r for r in rows if r["system"] == s and (basis == "all" or r["placement"] == "near")]
                far = [r["value"] for r in rows if r["system"] == s and r["placement"] == "far"]
                obj[s] = statistics.median(r["value"] for r in pick) if pick else None
                obj[f"{s}_far"] = statistics.median(far) if far else None
                if pick and "p50_us" in pick[0]:
                    lat[s] = {k: statistics.median(r[k] for r in pick if k in r)
                              for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us") if k in pick[0]}
            best_linux = max((v for v in (obj["linux"], obj["linux_busypoll"]) if v), default=None)
            obj["ustcp_over_linux"] = obj["ustcp"] / best_linux if obj["ustcp"] and best_linux else None
            obj["ustcp_over_raw"] = obj["ustcp"] / obj["raw"] if obj["ustcp"] and obj["raw"] else None
            if lat:
                obj["latency"] = lat
            if w == "hold_conns":
                per = [r["bytes_per_conn"] for r in rows if "bytes_per_conn" in r]
                obj["bytes_per_conn"] = statistics.median(per) if per else None
                ft = [r["flow_table_bytes_per_conn"] for r in rows if "flow_table_bytes_per_conn" in r]
                obj["flow_table_bytes_per_conn"] = statistics.median(ft) if ft else None
                obj["hold_target"] = self.a.hold
            if w == "crr_1m_idle":
                none = [r["crr_none"] for r in rows if r.get("crr_none")]
                obj["crr_none"] = statistics.median(none) if none else None
                obj["idle_conns"] = self.a.idle
                obj["idle_over_none"] = obj["ustcp"] / obj["crr_none"] if obj["ustcp"] and obj["crr_none"] else None
            obj["trials"] = [r for r in records if r["workload"] == w]
            out.append(obj)
        return out


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table(results):
    lines = ["| workload | unit | ustcp | Linux | Linux busy-poll | raw | ustcp/Linux | ustcp/raw | basis |",
             "|---|---|---|---|---|---|---|---|---|"]
    for o in results:
        lines.append(f"| {o['workload']} | {o['unit']} | {fmt(o['ustcp'])} | {fmt(o['linux'])} | "
                     f"{fmt(o['linux_busypoll'])} | {fmt(o['raw'])} | {fmt(o['ustcp_over_linux'], 2)} | "
                     f"{fmt(o['ustcp_over_raw'], 2)} | {o['basis']} |")
        for s, l in (o.get("latency") or {}).items():
            lines.append(f"|   latency {s} | µs | p50 {fmt(l.get('p50_us'), 2)} | p90 {fmt(l.get('p90_us'), 2)} | "
                         f"p99 {fmt(l.get('p99_us'), 2)} | p99.9 {fmt(l.get('p999_us'), 2)} | | | |")
        if o.get("bytes_per_conn") is not None:
            lines.append(f"|   server memory per held connection | bytes | {fmt(o['bytes_per_conn'], 0)} | | | | | | |")
        if o.get("flow_table_bytes_per_conn") is not None:
            lines.append(f"|   + flow table, zeroed at start | bytes | {fmt(o['flow_table_bytes_per_conn'], 0)} | | | | | | |")
        if o.get("crr_none") is not None:
            lines.append(f"|   CRR with no idle connections | conn/s | {fmt(o['crr_none'])} | | | | | | |")
            lines.append(f"|   CRR at {o['idle_conns']:,} idle / at none | ratio | {fmt(o['idle_over_none'], 2)} | | | | | | |")
    return "\n".join(lines)


def targets(results):
    by = {o["workload"]: o for o in results}
    lines = []
    for o in results:
        if "target_ns" in o:
            v, bar = o["ustcp"], o["target_ns"]
            text = f"{o['workload']} < {bar:.0f} ns"
            if v is None:
                lines.append(f"  n/a   {text} (not measured)")
            elif v < bar:
                lines.append(f"  met   {text}: {v:.1f} ns")
            else:
                lines.append(f"  MISS  {text}: {v:.1f} ns, {100 * (v / bar - 1):.0f}% over")
    rr = by.get("rr64_1conn", {}).get("latency") or {}
    if "ustcp" in rr and "raw" in rr and rr["raw"].get("p99_us"):
        v = rr["ustcp"]["p99_us"] / rr["raw"]["p99_us"]
        text = "RR 64 B, 1 conn: p99 <= 3x raw p99"
        lines.append(f"  met   {text}: {v:.2f}" if v <= 3 else f"  MISS  {text}: {v:.2f}, {100 * (v / 3 - 1):.0f}% over")
    hold = by.get("hold_conns")
    if hold is not None:
        v, want = hold.get("ustcp"), HOLD_TARGET
        text = f"hold: {want:,} established on one server lcore"
        if v is None:
            lines.append(f"  n/a   {text} (not measured)")
        elif hold.get("hold_target", 0) < want:
            lines.append(f"  n/a   {text} (this run held --hold {hold.get('hold_target'):,}: {v:,.0f} established)")
        else:
            lines.append(f"  met   {text}: {v:,.0f}" if v >= want else f"  MISS  {text}: {v:,.0f}")
        b = hold.get("bytes_per_conn")
        text = "hold: server memory per idle connection (RSS delta / connections) <= 1 KiB"
        if b is None:
            lines.append(f"  n/a   {text} (not measured)")
        elif hold.get("hold_target", 0) < want:
            # The server's fixed costs (pools, rings, the stats page) spread over a small hold
            # read as bytes per connection: the bar is for the scale run.
            lines.append(f"  n/a   {text} ({b:.0f} B over {v:,.0f}; the bar applies at --hold {want:,})")
        else:
            lines.append(f"  met   {text}: {b:.0f} B" if b <= 1024 else f"  MISS  {text}: {b:.0f} B")
    for w, field, bar, text in TARGETS:
        v = by.get(w, {}).get(field)
        if v is None:
            lines.append(f"  n/a   {text} (not measured)")
        elif w == "crr_1m_idle" and by[w].get("idle_conns", 0) < IDLE_TARGET:
            lines.append(f"  n/a   {text} ({v:.2f} at {by[w]['idle_conns']:,} idle; the bar applies at --idle {IDLE_TARGET:,})")
        elif v >= bar:
            lines.append(f"  met   {text}: {v:.2f}")
        else:
            lines.append(f"  MISS  {text}: {v:.2f}, {100 * (1 - v / bar):.0f}% short")
    return "\n".join(lines)


def plot(results, png):
    """Two panels: RR 64 B 1-connection latency percentiles per system (log scale), and
    ustcp's throughput ratios per workload. Panels or series without data are left out."""
    if shutil.which("gnuplot") is None:
        return False
    d = os.path.dirname(png)
    rr = next((o for o in results if o["workload"] == "rr64_1conn" and o.get("latency")), None)
    lat_systems = [s for s in SYSTEMS if rr and s in rr["latency"]]
    ratios = [o for o in results if o["ustcp_over_linux"] or o["ustcp_over_raw"]]
    if not lat_systems and not ratios:
        return False
    panels = []
    files = []
    if lat_systems:
        lat_dat = os.path.join(d, ".lat.dat")
        files.append(lat_dat)
        with open(lat_dat, "w") as f:
            f.write("pct " + " ".join(lat_systems) + "\n")
            for k, label in (("p50_us", "p50"), ("p90_us", "p90"), ("p99_us", "p99"), ("p999_us", "p99.9")):
                vals = [rr["latency"][s].get(k) for s in lat_systems]
                f.write(label + " " + " ".join("NaN" if v is None else str(v) for v in vals) + "\n")
        series = ", ".join(f"'{lat_dat}' using {i + 2}{':xtic(1)' if i == 0 else ''} title columnheader"
                           for i in range(len(lat_systems)))
        panels.append("set title 'RR 64 B, 1 connection: round-trip latency'\n"
                      "set ylabel 'microseconds (log)'\nset logscale y\nset yrange [0.1:*]\n"
                      f"plot {series}\nunset logscale y\nset autoscale y\n")
    if ratios:
        thr_dat = os.path.join(d, ".thr.dat")
        files.append(thr_dat)
        with open(thr_dat, "w") as f:
            f.write("workload ustcp/Linux ustcp/raw\n")
            for o in ratios:
                f.write(f"{o['workload']} {o['ustcp_over_linux'] or 'NaN'} {o['ustcp_over_raw'] or 'NaN'}\n")
        panels.append("set title 'ustcp as a multiple of Linux (best of plain, busy-poll) and of raw memif'\n"
                      "set ylabel 'ratio'\nset xtics rotate by -30\n"
                      f"plot '{thr_dat}' using 2:xtic(1) title columnheader, '' using 3 title columnheader\n")
    script = (f"set terminal pngcairo size {600 * len(panels)},500 font ',10'\nset output '{png}'\n"
              f"set multiplot layout 1,{len(panels)}\nset termoption noenhanced\nset style data histograms\n"
              "set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
              "set key top left\nset grid ytics\n" + "".join(panels) + "unset multiplot\n")
    rc = subprocess.run(["gnuplot"], input=script, text=True).returncode
    for p in files:
        os.unlink(p)
    return rc == 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build", help="the meson build dir (default: build)")
    p.add_argument("--trials", type=int, default=3, help="interleaved trials per workload and system (default 3)")
    p.add_argument("--duration", type=int, default=3, help="measured seconds per run (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured seconds before (default 1)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of: " + ", ".join(WORKLOADS))
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of: " + ", ".join(SYSTEMS))
    p.add_argument("--hold", type=int, default=10000,
                   help="connections for hold_conns (default 10000; the issue's scale target is --hold 4000000)")
    p.add_argument("--hold-seconds", type=int, default=0,
                   help="hold_conns' run (default: long enough to open --hold at 20000/s, at least --duration)")
    p.add_argument("--idle", type=int, default=100000,
                   help="idle connections for crr_1m_idle (default 100000; the issue's target is --idle 1000000)")
    p.add_argument("--client-cpu", type=int, default=0)
    p.add_argument("--server-cpu", type=int, default=1)
    p.add_argument("--busy-poll-us", type=int, default=50, help="SO_BUSY_POLL for linux_busypoll (default 50)")
    p.add_argument("--near-ns", type=float, default=150, help="c2c reading below which a placement is near (150)")
    p.add_argument("--no-micro", dest="micro", action="store_false", help="skip the bench/micro targets")
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results"), help="results dir (default bench/results)")
    a = p.parse_args()
    a.workloads = a.workloads.split(",")
    a.systems = a.systems.split(",")
    for w in a.workloads:
        if w not in WORKLOADS:
            p.error(f"--workloads: unknown {w!r}; accepted: {', '.join(WORKLOADS)}")
    for s in a.systems:
        if s not in SYSTEMS:
            p.error(f"--systems: unknown {s!r}; accepted: {', '.join(SYSTEMS)}")
    if a.trials < 1 or a.duration <= 0 or a.warmup < 0:
        p.error("--trials >= 1, --duration > 0 and --warmup >= 0")
    if not 1 <= a.hold <= 16_000_000 or not 1 <= a.idle <= 16_000_000 or a.hold_seconds < 0:
        p.error("--hold and --idle 1..16000000, --hold-seconds >= 0")

    b = Bench(a)
    try:
        results = b.go()
    except Failure as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    finally:
        b.cleanup()
    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    base = os.path.join(a.out, stamp)
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1)
    t = table(results)
    with open(base + ".md", "w") as f:
        f.write(f"bench/run.sh {' '.join(sys.argv[1:])} ({stamp}, {os.cpu_count()} CPUs)\n\n{t}\n")
    print("\n" + t + "\n\ntargets:\n" + targets(results))
    made = plot(results, base + ".png")
    print(f"\nwrote {base}.json, {base}.md" + (f", {base}.png" if made else " (no PNG: gnuplot missing or nothing to plot)"))
    failed = sum(1 for o in results for r in o.get("trials", []) if r["value"] is None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
