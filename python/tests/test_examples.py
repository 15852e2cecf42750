"""The bundled examples, run for real: the iris experiment with Debian's
python3-sklearn, and the standard-library example under git runs exec."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from test_gitruns import RepoTest, binary, python_with  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class TestExamples(RepoTest):
    def test_iris(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"),
                   PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        out = subprocess.check_output([python_with("sklearn"), os.path.join(ROOT, "examples", "iris", "train.py")],
                                      env=env, universal_newlines=True)
        self.assertIn("accuracy:", out)
        runs = json.loads(self.git_runs("ls", "--json", "--where", "params.n_estimators = 100"))
        self.assertEqual(len(runs), 1)
        run = runs[0]
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["experiment"], "iris")
        self.assertEqual(run["params"]["max_depth"], 3)
        self.assertGreaterEqual(run["metrics"]["accuracy"]["last"], 0.9)

    def test_iris_under_exec(self):
        # The script both logs accuracy and prints "accuracy: 1.0000":
        # the run keeps what it logged, once, not the printed copy too.
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"),
                   PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        subprocess.check_output([binary(), "exec", "--", python_with("sklearn"),
                                 os.path.join(ROOT, "examples", "iris", "train.py")],
                                env=env, universal_newlines=True)
        runs = json.loads(self.git_runs("ls", "--json"))
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["metrics"]["accuracy"]["count"], 1)
        self.assertEqual(runs[0]["params"]["n_estimators"], 100)

    def test_linear_under_exec(self):
        env = dict(os.environ, PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        subprocess.check_output([binary(), "exec", "--", sys.executable,
                                 os.path.join(ROOT, "examples", "linear", "train.py"), "--lr", "0.2"],
                                env=env, universal_newlines=True)
        run = json.loads(self.git_runs("show", "--json", "@"))
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["params"]["lr"], 0.2)
        self.assertEqual(run["params"]["epochs"], 40)
        self.assertEqual(run["metrics"]["loss"]["count"], 40)
        self.assertLess(run["metrics"]["loss"]["last"], 0.05)


if __name__ == "__main__":
    unittest.main()
