"""Tests of the system metrics the SDK samples for standalone runs, against
the git-runs binary and real processes; a stand-in for nvidia-smi, first on
PATH, prints readings as its -lms loop does."""

import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest

from test_gitruns import RepoTest, binary, PKG  # noqa: F401 (PKG puts gitruns on sys.path)

import gitruns  # noqa: E402
from gitruns import _run, _system  # noqa: E402

FAKE_SMI = """#!/bin/sh
case "$*" in
*-lms*) echo "$$ $*" >> "%(log)s" ;;
*) echo "NVIDIA H100 80GB HBM3, 81559, 550.54.15"; exit 0 ;;
esac
while :; do
	echo "0, 42, 2048, 95.50, 60"
	echo "1, [N/A], 10, [Not Supported], 33"
	sleep 0.05
done
"""

# A process to sample: once a line comes on its standard input it touches
# 64 MiB, burns 0.4 s of CPU, says how much CPU it used in all, and waits
# for its input to close.
BURNER = """
import resource, sys
sys.stdin.readline()
mem = bytearray(64 << 20)
for i in range(0, len(mem), 4096):
    mem[i] = 1
def used():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
x = 0
while used() < 0.4:
    for i in range(10000):
        x ^= i
print("cpu %.3f" % used(), flush=True)
sys.stdin.read()
"""


def wait_for(what, cond, timeout=60):
    """Waits until cond() holds, as long as it takes up to timeout."""
    deadline = time.time() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError("no %s in %ds" % (what, timeout))
        time.sleep(0.02)


class Points(object):
    """What a Sampler logs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.all = []

    def log(self, key, value, step, ms):
        with self.lock:
            self.all.append((key, value, step, ms))

    def of(self, key):
        with self.lock:
            return [p for p in self.all if p[0] == key]


class TestSampler(unittest.TestCase):
    def test_process_tree(self):
        """The CPU the samples add up to is what the process used, and its
        memory shows; once it has ended, samples are of the machine alone."""
        p = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, universal_newlines=True)
        pts = Points()
        s = _system.Sampler(pts.log, time.time(), interval=0.1, pid=p.pid, smi="/nonexistent")
        try:
            p.stdin.write("go\n")
            p.stdin.flush()
            line = p.stdout.readline()
            self.assertTrue(line.startswith("cpu "), line)
            used = float(line.split()[1])
            n = len(pts.of("system/cpu_percent"))
            wait_for("two samples after the burn", lambda: len(pts.of("system/cpu_percent")) >= n + 2)
            cpu = pts.of("system/cpu_percent")
            total, last = 0.0, cpu[0][3] - 100
            for _, v, _, ms in cpu:
                total += v / 100 * (ms - last) / 1000
                last = ms
            self.assertLess(abs(total - used), 0.25 * used + 0.05, "samples %.3fs, process %.3fs" % (total, used))
            self.assertGreaterEqual(max(v for _, v, _, _ in pts.of("system/rss_mb")), 64)
            p.stdin.close()
            p.wait()
            with pts.lock:
                ended = len(pts.all)
            wait_for("two samples after the end",
                     lambda: len([x for x in pts.all[ended:] if x[0] == "system/mem_used_percent"]) >= 2)
            with pts.lock:
                after = [x[0] for x in pts.all[ended:]]
            self.assertNotIn("system/cpu_percent", after)
            self.assertNotIn("system/rss_mb", after)
        finally:
            s.stop()
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        for key, _, step, ms in pts.all:
            # whole seconds since the start (the time is cut to milliseconds)
            since = ms / 1000 - s._start
            self.assertTrue(-0.001 < since - step < 1.001, (key, step, since))

    def test_parse_gpu_line(self):
        self.assertEqual(_system.parse_gpu_line("3, 87, 30512, 250.31, 71\n", 5.0), [
            ("system/gpu3/util_percent", 87.0, 5.0), ("system/gpu3/mem_used_mb", 30512.0, 5.0),
            ("system/gpu3/power_w", 250.31, 5.0), ("system/gpu3/temp_c", 71.0, 5.0)])
        self.assertEqual(_system.parse_gpu_line("0, [N/A], 1, [Not Supported], 2", 1.0), [
            ("system/gpu0/mem_used_mb", 1.0, 1.0), ("system/gpu0/temp_c", 2.0, 1.0)])
        for bad in ["NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
                    "0, 87, 30512, 250.31", "0, 87, lots, 250.31, 71", "-1, 1, 2, 3, 4", ""]:
            self.assertEqual(_system.parse_gpu_line(bad, 1.0), [], bad)

    def test_bad_interval(self):
        before = _run._system_interval
        for bad in (0, -1, 0.05, float("nan")):
            with self.assertRaises(ValueError):
                gitruns.set_system_metrics_sampling_interval(bad)
        for bad in ("soon", True, [1]):
            with self.assertRaises(TypeError):
                gitruns.set_system_metrics_sampling_interval(bad)
        self.assertEqual(_run._system_interval, before)


class TestStandaloneRuns(RepoTest):
    def setUp(self):
        super().setUp()
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        self.smi_log = os.path.join(self.dir, "smi.log")
        smi = os.path.join(bindir, "nvidia-smi")
        with open(smi, "w") as f:
            f.write(FAKE_SMI % {"log": self.smi_log})
        os.chmod(smi, 0o755)
        self.old_path = os.environ["PATH"]
        os.environ["PATH"] = bindir + os.pathsep + self.old_path
        gitruns.set_system_metrics_sampling_interval(0.1)

    def tearDown(self):
        super().tearDown()
        os.environ["PATH"] = self.old_path
        gitruns.set_system_metrics_sampling_interval(None)
        gitruns.enable_system_metrics_logging()

    def smi_starts(self):
        if not os.path.exists(self.smi_log):
            return []
        with open(self.smi_log) as f:
            return [line.split(" ", 1) for line in f.read().splitlines()]

    def history(self, rid):
        return self.show(rid).get("history", {})

    def test_sampled_until_end(self):
        """A standalone run samples its process and the GPUs, through one
        nvidia-smi, until end_run, which leaves no thread or process behind."""
        r = gitruns.start_run(name="sampled")
        gitruns.log_metric("loss", 0.5)
        wait_for("samples of the process and the GPUs", lambda: (
            len(self.history(r.id).get("system/cpu_percent", [])) >= 2 and
            len(self.history(r.id).get("system/gpu1/temp_c", [])) >= 2))
        self.assertEqual(len(self.smi_starts()), 1)
        self.assertIn("gitruns-system", [t.name for t in threading.enumerate()])
        gitruns.end_run()

        names = [t.name for t in threading.enumerate()]
        self.assertNotIn("gitruns-system", names)
        self.assertNotIn("gitruns-gpu", names)
        starts = self.smi_starts()
        self.assertEqual(len(starts), 1, starts)
        pid, args = starts[0]
        self.assertEqual(args, "--query-gpu=index,utilization.gpu,memory.used,power.draw,temperature.gpu "
                               "--format=csv,noheader,nounits -lms 100")
        self.assertNotEqual(subprocess.call(["ps", "-p", pid], stdout=subprocess.DEVNULL), 0,
                            "nvidia-smi still runs after end_run")

        run = self.show(r.id)
        m = run["metrics"]
        for k in ("system/cpu_percent", "system/rss_mb", "system/mem_used_percent", "system/mem_used_mb",
                  "system/net_recv_mb", "system/net_sent_mb"):
            self.assertIn(k, m)
        self.assertEqual(m["system/gpu0/util_percent"]["last"], 42)
        self.assertEqual(m["system/gpu0/power_w"]["last"], 95.5)
        self.assertEqual(m["system/gpu1/mem_used_mb"]["last"], 10)
        self.assertNotIn("system/gpu1/util_percent", m)
        self.assertEqual(m["loss"]["last"], 0.5)
        self.assertEqual(run["history"]["system/mem_used_percent"][0]["step"], 0)
        self.assertGreater(m["system/rss_mb"]["max"], 1)

    def test_short_run(self):
        """A run ended at once still has the machine at its start and end, and
        the GPUs' first reading."""
        with gitruns.start_run(name="short") as r:
            pass
        m = self.show(r.id)["metrics"]
        self.assertEqual(m["system/mem_used_percent"]["count"], 2)
        self.assertEqual(m["system/gpu0/util_percent"]["count"], 1)

    def test_not_sampled(self):
        """log_system_metrics=False, disable_system_metrics_logging, and a run
        nested in another sample nothing, and start no nvidia-smi."""
        with gitruns.start_run(name="off", log_system_metrics=False) as r:
            gitruns.log_metric("loss", 1)
        gitruns.disable_system_metrics_logging()
        with gitruns.start_run(name="disabled") as d:
            gitruns.log_metric("loss", 1)
        gitruns.enable_system_metrics_logging()
        self.assertEqual(self.smi_starts(), [])
        with gitruns.start_run(name="outer") as outer:
            with gitruns.start_run(name="inner", nested=True) as inner:
                gitruns.log_metric("loss", 1)
        for rid in (r.id, d.id, inner.id):
            self.assertEqual([k for k in self.show(rid)["metrics"] if k.startswith("system/")], [], rid)
        self.assertIn("system/mem_used_percent", self.show(outer.id)["metrics"])
        self.assertEqual(len(self.smi_starts()), 1)

    def test_under_exec(self):
        """Under git runs exec the SDK does not sample: exec does, once."""
        p = self.script("""
            import threading
            with gitruns.start_run():
                gitruns.log_metric("loss", 0.25)
                assert "gitruns-system" not in [t.name for t in threading.enumerate()]
            print("sdk-ok")
        """)
        for flags, sampled in ((["--no-system-metrics"], False), (["--system-interval", "100ms"], True)):
            out = subprocess.check_output([binary(), "exec", "--name", "x%s" % sampled] + flags +
                                          ["--", sys.executable, p], universal_newlines=True)
            self.assertIn("sdk-ok", out)
            m = self.show("x%s" % sampled)["metrics"]
            self.assertEqual(m["loss"]["last"], 0.25)
            self.assertEqual("system/mem_used_percent" in m, sampled, flags)
        # exec's run sampled the GPUs once; the SDK started no nvidia-smi
        self.assertEqual(len(self.smi_starts()), 1)


if __name__ == "__main__":
    unittest.main()
