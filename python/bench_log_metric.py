"""Benchmark of gitruns.log_metric and of a standalone run's start+end.

Run it with git-runs on PATH (or GITRUNS_BIN set). It works in a temporary
git repository, or in the current one with --here (which leaves runs there):

    python3 bench_log_metric.py [--here] [N]

It prints the amortized cost of one log_metric call over N calls (default
1,000,000) in a standalone run, checks through git-runs show --json that
every point reached the run, and times start_run + end_run.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gitruns  # noqa: E402

MLFLOW_US = "300-400"  # MLflow log_metric with its file store, measured per call


def in_repo():
    return subprocess.call(["git", "rev-parse", "--git-dir"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0


def main():
    args = sys.argv[1:]
    here = "--here" in args
    args = [a for a in args if a != "--here"]
    n = int(args[0]) if args else 1000000
    tmp = None
    if here and not in_repo():
        print("--here: not in a git repository")
        return 2
    if not here:
        tmp = tempfile.mkdtemp(prefix="gitruns-bench-")
        os.chdir(tmp)
        subprocess.check_call(["git", "init", "-q"])
        subprocess.check_call(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit",
                               "-q", "--allow-empty", "-m", "init"])
    try:
        # start + end of an empty standalone run
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            gitruns.start_run(name=None)
            gitruns.end_run()
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        print("start_run + end_run: median %.1f ms, best %.1f ms (target <= 50 ms)"
              % (times[len(times) // 2], times[0]))

        run = gitruns.start_run()
        log_metric = gitruns.log_metric
        keys = ("loss", "acc", "lr", "grad_norm")
        t0 = time.perf_counter()
        for i in range(n // len(keys)):
            log_metric("loss", 1.0 / (i + 1))
            log_metric("acc", i * 1e-6)
            log_metric("lr", 0.001)
            log_metric("grad_norm", 3.25)
        gitruns.flush()
        dt = time.perf_counter() - t0
        total = (n // len(keys)) * len(keys)
        gitruns.end_run()
        us = dt / total * 1e6
        print("log_metric: %d calls in %.2f s: %.2f us per call (MLflow file store: %s us per call, ~%dx)"
              % (total, dt, us, MLFLOW_US, int(350 / us)))

        t0 = time.perf_counter()
        rec = gitruns.get_run(run.id)
        got = sum(rec["metrics"][k]["count"] for k in keys)
        hist = sum(len(rec["history"][k]) for k in keys)
        print("check: %d points in metrics counts, %d in history (show --json took %.2f s)"
              % (got, hist, time.perf_counter() - t0))
        if got != total or hist != total:
            print("FAIL: expected %d points" % total)
            return 1
        print("OK: every point is in the run")
        return 0
    finally:
        if tmp:
            os.chdir("/")
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
