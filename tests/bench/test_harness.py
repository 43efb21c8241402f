"""bench/harness.py's arithmetic, without a link: the interleaved trial plan, ratios from
near-placement medians (all trials when a system has no near one), the better of Linux plain
and busy-poll, and the target lines (met, MISS with how far, n/a where a run was too small for
the bar). Run by meson (suite unit) with Debian's python3."""
import argparse
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import harness  # noqa: E402


def args(**kw):
    a = argparse.Namespace(build="build", trials=3, duration=3, warmup=1, workloads=list(harness.WORKLOADS),
                           systems=list(harness.SYSTEMS), hold=10000, hold_seconds=0, idle=100000,
                           client_cpu=0, server_cpu=1, busy_poll_us=50, near_ns=150, micro=False, out="/tmp")
    for k, v in kw.items():
        setattr(a, k, v)
    return a


class Bench(harness.Bench):
    """harness.Bench without its temporary directory."""

    def __init__(self, a):
        super().__init__(a)
        shutil.rmtree(self.tmp, ignore_errors=True)


def rec(workload, system, value, placement="near", trial=1, **extra):
    return {"trial": trial, "workload": workload, "system": system, "value": value,
            "placement": placement, **extra}


class TrialPlan(unittest.TestCase):
    def test_every_system_runs_each_trial_and_the_first_rotates(self):
        b = Bench(args(trials=3, workloads=["rr64_1conn"]))
        plan = b.trial_plan(["rr64_1conn"])
        systems = [s for s in harness.WORKLOADS["rr64_1conn"][1]]
        self.assertEqual(len(plan), 3 * len(systems))
        for t in (1, 2, 3):
            self.assertEqual(sorted(s for (tt, _, s) in plan if tt == t), sorted(systems))
        firsts = [next(s for (tt, _, s) in plan if tt == t) for t in (1, 2, 3)]
        self.assertEqual(len(set(firsts)), 3, "each trial starts with another system")

    def test_systems_left_out_are_not_planned(self):
        b = Bench(args(systems=["ustcp"]))
        plan = b.trial_plan(["rr64_1conn", "crr_64conc"])
        self.assertTrue(plan)
        self.assertEqual({s for (_, _, s) in plan}, {"ustcp"})


class Summarise(unittest.TestCase):
    def test_ratios_come_from_near_medians_and_the_better_linux(self):
        b = Bench(args(systems=["ustcp", "linux", "linux_busypoll", "raw"]))
        records = [
            rec("rr64_1conn", "ustcp", 300.0), rec("rr64_1conn", "ustcp", 280.0, trial=2),
            rec("rr64_1conn", "ustcp", 900.0, "far", trial=3),  # a far trial must not count
            rec("rr64_1conn", "linux", 10.0),
            rec("rr64_1conn", "linux_busypoll", 100.0),
            rec("rr64_1conn", "raw", 580.0),
        ]
        [o] = b.summarise(["rr64_1conn"], records)
        self.assertEqual(o["basis"], "near")
        self.assertEqual(o["ustcp"], 290.0)
        self.assertEqual(o["ustcp_far"], 900.0)
        self.assertAlmostEqual(o["ustcp_over_linux"], 2.9, msg="busy-poll is the better Linux")
        self.assertAlmostEqual(o["ustcp_over_raw"], 0.5)
        self.assertEqual(len(o["trials"]), 6)

    def test_all_trials_when_a_system_has_no_near_one(self):
        b = Bench(args(systems=["ustcp", "linux"]))
        records = [rec("crr_64conc", "ustcp", 200.0), rec("crr_64conc", "ustcp", 100.0, "far", trial=2),
                   rec("crr_64conc", "linux", 10.0, "far")]
        [o] = b.summarise(["crr_64conc"], records)
        self.assertEqual(o["basis"], "all")
        self.assertEqual(o["ustcp"], 150.0)
        self.assertAlmostEqual(o["ustcp_over_linux"], 15.0)
        self.assertIsNone(o["ustcp_over_raw"])

    def test_a_failed_measurement_is_left_out_not_counted_as_zero(self):
        b = Bench(args(systems=["ustcp", "linux"]))
        records = [rec("crr_64conc", "ustcp", None), rec("crr_64conc", "ustcp", 120.0, trial=2),
                   rec("crr_64conc", "linux", 10.0)]
        [o] = b.summarise(["crr_64conc"], records)
        self.assertEqual(o["ustcp"], 120.0)

    def test_idle_ratio_and_hold_fields(self):
        b = Bench(args(systems=["ustcp"], idle=1_000_000, hold=4_000_000))
        records = [rec("crr_1m_idle", "ustcp", 240.0, crr_none=300.0),
                   rec("hold_conns", "ustcp", 4_000_000, bytes_per_conn=905.0, flow_table_bytes_per_conn=84.0)]
        idle, hold = b.summarise(["crr_1m_idle", "hold_conns"], records)
        self.assertAlmostEqual(idle["idle_over_none"], 0.8)
        self.assertEqual(idle["idle_conns"], 1_000_000)
        self.assertEqual(hold["bytes_per_conn"], 905.0)
        self.assertEqual(hold["hold_target"], 4_000_000)


class Targets(unittest.TestCase):
    def lines(self, results):
        return harness.targets(results).splitlines()

    def line(self, results, text):
        hits = [l for l in self.lines(results) if text in l]
        self.assertEqual(len(hits), 1, f"one line with {text!r} in {self.lines(results)}")
        return hits[0]

    def test_a_miss_says_how_far_short(self):
        r = [{"workload": "crr_64conc", "ustcp_over_linux": 9.0}]
        l = self.line(r, "CRR: >= 20x Linux")
        self.assertTrue(l.strip().startswith("MISS"), l)
        self.assertIn("55% short", l)
        r = [{"workload": "crr_64conc", "ustcp_over_linux": 21.0}]
        self.assertTrue(self.line(r, "CRR: >= 20x Linux").strip().startswith("met"))

    def test_unmeasured_targets_are_na(self):
        l = self.line([], "Bulk 1 conn: >= 2x Linux")
        self.assertTrue(l.strip().startswith("n/a"), l)

    def test_micro_bars_are_upper_bounds(self):
        r = [{"workload": "micro_flow_lookup_1m_ns", "ustcp": 53.7, "target_ns": 50.0}]
        l = self.line(r, "micro_flow_lookup_1m_ns < 50 ns")
        self.assertTrue(l.strip().startswith("MISS") and "7% over" in l, l)
        r[0]["ustcp"] = 46.0
        self.assertTrue(self.line(r, "micro_flow_lookup_1m_ns").strip().startswith("met"))

    def test_small_holds_and_idle_runs_do_not_judge_the_scale_bars(self):
        small = [{"workload": "hold_conns", "ustcp": 9748, "hold_target": 10000, "bytes_per_conn": 1375.0},
                 {"workload": "crr_1m_idle", "idle_conns": 100000, "idle_over_none": 0.82}]
        mem = self.line(small, "memory per idle connection")
        self.assertTrue(mem.strip().startswith("n/a") and "1375 B" in mem, mem)
        idle = self.line(small, "CRR at the idle connections")
        self.assertTrue(idle.strip().startswith("n/a") and "100,000 idle" in idle, idle)
        big = [{"workload": "hold_conns", "ustcp": 4_000_000, "hold_target": 4_000_000, "bytes_per_conn": 1100.0},
               {"workload": "crr_1m_idle", "idle_conns": 1_000_000, "idle_over_none": 0.7}]
        self.assertTrue(self.line(big, "memory per idle connection").strip().startswith("MISS"))
        self.assertTrue(self.line(big, "4,000,000 established").strip().startswith("met"))
        self.assertTrue(self.line(big, "CRR at the idle connections").strip().startswith("MISS"))


class Table(unittest.TestCase):
    def test_rows_show_values_ratios_and_dashes(self):
        r = [{"workload": "rr64_64conn", "unit": "req/s", "basis": "near", "ustcp": 1_038_000.0, "linux": 155_380.0,
              "linux_busypoll": None, "raw": None, "ustcp_over_linux": 6.68, "ustcp_over_raw": None}]
        t = harness.table(r)
        row = next(l for l in t.splitlines() if l.startswith("| rr64_64conn"))
        self.assertIn("1,038,000", row)
        self.assertIn("155,380", row)
        self.assertIn("6.68", row)
        self.assertIn("–", row)


if __name__ == "__main__":
    unittest.main()
