"""Nested runs (a sweep under git runs exec, start_run(nested=True)) and
logging into runs by run_id=, ended ones included, against the real
git-runs binary."""

import json
import os
import subprocess
import sys
import unittest

from test_gitruns import RepoTest, binary

import gitruns  # noqa: E402 (test_gitruns put the package on the path)


class TestNested(RepoTest):
    def git(self, *args):
        return subprocess.check_output(["git"] + list(args), universal_newlines=True).strip()

    def exec_script(self, body, *extra):
        p = self.script(body)
        return subprocess.check_output([binary(), "exec"] + list(extra) + ["--", sys.executable, p],
                                       universal_newlines=True)

    def by_id(self):
        return {r["id"]: r for r in self.ls()}

    def test_sweep_under_exec(self):
        # The first start_run attaches to exec's run; each later one is a
        # child of it, with its own params, metrics and status.
        out = self.exec_script("""
            import os
            for lr in [0.1, 0.01, 0.001]:
                with gitruns.start_run(params={"lr": lr}) as r:
                    for i in range(4):
                        gitruns.log_metric("loss", lr * (4 - i))
                    print(r.id, r.parent_id, os.environ["GITRUNS_RUN"])
        """, "--name", "sweep")
        lines = [l.split() for l in out.splitlines()]
        self.assertEqual(len(lines), 3)
        exec_id = lines[0][2]
        self.assertEqual(lines[0][:2], [exec_id, "None"])
        runs = self.by_id()
        self.assertEqual(len(runs), 3)
        parent = runs[exec_id]
        self.assertEqual(parent["name"], "sweep")
        self.assertEqual(parent["params"]["lr"], 0.1)
        self.assertNotIn("mlflow.parentRunId", parent["tags"])
        for (cid, pid, _), lr in zip(lines[1:], [0.01, 0.001]):
            self.assertEqual(pid, exec_id)
            c = runs[cid]
            self.assertEqual(c["status"], "finished")
            self.assertEqual(c["tags"]["mlflow.parentRunId"], exec_id)
            self.assertEqual(c["params"], {"lr": lr})
            self.assertEqual(c["metrics"]["loss"]["count"], 4)
            self.assertAlmostEqual(c["metrics"]["loss"]["last"], lr)
            self.assertEqual(c["source"], parent["source"])
            self.assertEqual(c["experiment"], parent["experiment"])
            # The same code in git: the child's parents are the parent's.
            self.assertEqual(self.git("rev-parse", "refs/runs/%s^@" % cid),
                             self.git("rev-parse", "refs/runs/%s^@" % exec_id))
        show = json.loads(self.git_runs("show", "--json", exec_id))
        self.assertEqual(sorted(show["children"]), sorted(l[0] for l in lines[1:]))
        # ids begin with their start time: a prefix past it is unique
        kids = gitruns.search_runs(where="parent = '%s'" % exec_id[:14])
        self.assertEqual(sorted(k["id"] for k in kids), sorted(l[0] for l in lines[1:]))

    def test_nested_trials_under_exec(self):
        # An outer with block is exec's run; nested=True trials are its
        # children, and exec's run keeps only what the outer block logged.
        out = self.exec_script("""
            with gitruns.start_run(params={"grid": "lr"}) as sweep:
                best = None
                for lr in [0.5, 0.25]:
                    with gitruns.start_run(nested=True, params={"lr": lr}) as t:
                        assert gitruns.active_run() is t
                        gitruns.log_metric("acc", 1 - lr)
                    assert gitruns.active_run() is sweep
                    best = max(best or 0, 1 - lr)
                gitruns.log_metric("best_acc", best)
                try:
                    gitruns.start_run()
                except gitruns.GitRunsError as e:
                    print("refused:", e)
            print(sweep.id)
        """)
        self.assertIn("refused: run %s is already active" % out.split()[-1], out)
        sweep_id = out.split()[-1]
        runs = self.by_id()
        self.assertEqual(len(runs), 3)
        self.assertEqual(runs[sweep_id]["params"], {"grid": "lr"})
        self.assertEqual(runs[sweep_id]["metrics"]["best_acc"]["last"], 0.75)
        kids = [r for r in runs.values() if r["id"] != sweep_id]
        self.assertEqual(sorted(k["params"]["lr"] for k in kids), [0.25, 0.5])
        for k in kids:
            self.assertEqual(k["tags"]["mlflow.parentRunId"], sweep_id)
            self.assertEqual(k["status"], "finished")

    def test_standalone_nested_and_end(self):
        with gitruns.start_run(name="outer") as outer:
            with gitruns.start_run(nested=True, name="inner") as inner:
                self.assertEqual(inner.parent_id, outer.id)
                gitruns.log_metric("x", 1)
            self.assertIs(gitruns.active_run(), outer)
            left = gitruns.start_run(nested=True, name="left-open")
        # Ending the outer run ended the one still nested in it.
        self.assertIsNone(gitruns.active_run())
        runs = {r["name"]: r for r in self.ls()}
        self.assertEqual(runs["inner"]["tags"]["mlflow.parentRunId"], outer.id)
        self.assertEqual(runs["left-open"]["tags"]["mlflow.parentRunId"], outer.id)
        self.assertEqual(runs["left-open"]["status"], "finished")
        self.assertEqual(runs["outer"]["status"], "finished")
        self.assertNotIn("mlflow.parentRunId", runs["outer"]["tags"])
        self.assertTrue(left._ended)

    def test_parent_run_id(self):
        parent = self.git_runs("start", "--name", "p").strip()
        with gitruns.start_run(parent_run_id=parent[:8]) as c:
            pass
        self.assertEqual(self.show(c.id)["tags"]["mlflow.parentRunId"], parent)
        with self.assertRaises(gitruns.GitRunsError):
            gitruns.start_run(parent_run_id="zzzzzzzz")
        self.assertEqual(len(self.ls()), 2)
        self.git_runs("end", "--run", parent)


class TestRunID(RepoTest):
    def finished(self):
        with gitruns.start_run(name="trained", params={"lr": 0.1}) as r:
            gitruns.log_metric("loss", 0.5)
        return r.id

    def head(self, rid):
        return subprocess.check_output(["git", "rev-parse", "refs/runs/" + rid], universal_newlines=True).strip()

    def test_evaluation_after_training(self):
        rid = self.finished()
        ended = self.head(rid)
        gitruns.log_metric("test/acc", 0.8, run_id=rid)
        gitruns.log_metric("test/acc", 0.9, run_id=rid[:10])
        gitruns.log_metrics({"test/f1": 0.7, "test/p": 0.6}, step=5, timestamp=1700000000000, run_id="trained")
        gitruns.set_tag("stage", "evaluated", run_id=rid)
        report = os.path.join(self.dir, "report.txt")
        with open(report, "w") as f:
            f.write("fine\n")
        gitruns.log_artifact(report, artifact_path="eval", run_id=rid)
        gitruns.log_text("notes", "eval/notes.txt", run_id=rid)
        gitruns.log_param("lr", 0.1, run_id=rid)  # the same value: nothing to do
        self.assertIsNone(gitruns.active_run())
        run = self.show(rid)
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["params"], {"lr": 0.1})
        h = run["history"]
        self.assertEqual([(p["step"], p["value"]) for p in h["test/acc"]], [(0, 0.8), (1, 0.9)])
        self.assertEqual(h["test/f1"], [{"step": 5, "timestamp": 1700000000000, "value": 0.7}])
        self.assertEqual(run["metrics"]["test/acc"]["last"], 0.9)
        self.assertEqual(run["metrics"]["loss"]["count"], 1)
        self.assertEqual(run["tags"]["stage"], "evaluated")
        self.assertEqual(sorted(a["path"] for a in run["artifacts"]), ["eval/notes.txt", "eval/report.txt"])
        # The run as it ended is the first of the commits added on top of it.
        chain = subprocess.check_output(["git", "rev-list", "--first-parent", "refs/runs/" + rid],
                                        universal_newlines=True).split()
        self.assertNotIn(ended, chain)  # first parents are the code
        parents = subprocess.check_output(["git", "rev-list", "--parents", "-n", "1", "refs/runs/" + rid],
                                          universal_newlines=True).split()
        self.assertEqual(len(parents), 3)  # itself, the code commit, the commit before
        earlier = parents[2]
        for _ in range(10):
            if earlier == ended:
                break
            earlier = subprocess.check_output(["git", "rev-parse", earlier + "^2"], universal_newlines=True).strip()
        self.assertEqual(earlier, ended)
        subprocess.check_call(["git", "fsck", "--full", "--strict", "--no-progress"])

    def test_params_stay_write_once(self):
        rid = self.finished()
        before = self.head(rid)
        with self.assertRaises(gitruns.GitRunsError) as cm:
            gitruns.log_param("lr", 0.2, run_id=rid)
        self.assertIn("params are write-once", str(cm.exception))
        with self.assertRaises(gitruns.GitRunsError) as cm:
            gitruns.log_params({"new": 1}, run_id=rid)
        self.assertIn("cannot be added after the end", str(cm.exception))
        with self.assertRaises(gitruns.GitRunsError):
            gitruns.log_metric("x", 1, run_id="no-such-run")
        with self.assertRaises(ValueError):
            gitruns.log_metric("bad\tkey", 1, run_id=rid)
        self.assertEqual(self.head(rid), before)

    def test_run_id_of_a_live_run(self):
        other = self.git_runs("start", "--name", "elsewhere").strip()
        with gitruns.start_run(name="mine") as mine:
            gitruns.log_metric("loss", 1.0)
            gitruns.log_metric("seen", 2.0, run_id=other)
            gitruns.log_metric("loss", 0.5, run_id=mine.id)  # the active run itself
        self.git_runs("end", "--run", other)
        self.assertEqual(self.show(other)["metrics"]["seen"]["last"], 2.0)
        self.assertEqual(self.show(mine.id)["metrics"]["loss"]["count"], 2)


if __name__ == "__main__":
    unittest.main()
