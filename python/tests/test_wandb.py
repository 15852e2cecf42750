"""A W&B-style script run unchanged with ``import gitruns as wandb``, and
the run object's config, summary, steps and finish, checked through
git runs ls --json and show --json."""

import argparse
import os
import subprocess
import sys
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from test_gitruns import PKG, RepoTest, binary  # noqa: E402

import gitruns  # noqa: E402
import gitruns as wandb  # noqa: E402

SCRIPT = """
import random
import gitruns as wandb

run = wandb.init(project="cats-vs-dogs", name="baseline", config={"lr": 0.01, "epochs": 4,
                 "model": {"layers": 3, "act": "relu"}}, tags=["cnn", "small"], notes="first")
wandb.config.batch_size = 64
wandb.config.update({"seed": 7})
assert wandb.run is run and wandb.config.lr == 0.01 and wandb.config["seed"] == 7
for epoch in range(wandb.config.epochs):
    wandb.log({"train/loss": 1.0 / (epoch + 1), "epoch": epoch})
    wandb.log({"val/acc": 0.5 + epoch / 10}, commit=False)
    wandb.log({"lr": 0.01})
wandb.summary["best_acc"] = 0.8
wandb.summary["verdict"] = "ok"
print(run.id, run.name, run.summary["train/loss"])
wandb.finish()
assert wandb.run is None
"""


class TestWandbScript(RepoTest):
    def test_script_unchanged(self):
        env = dict(os.environ, PYTHONPATH=PKG,
                   PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        p = os.path.join(self.dir, "train_wandb.py")
        with open(p, "w") as f:
            f.write(SCRIPT)
        out = subprocess.check_output([sys.executable, p], env=env, cwd=self.dir,
                                      universal_newlines=True).split()
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        r = runs[0]
        self.assertEqual(out, [r["id"], "baseline", "0.25"])
        self.assertEqual(r["experiment"], "cats-vs-dogs")
        self.assertEqual(r["status"], "finished")
        self.assertEqual(r["params"], {"lr": 0.01, "epochs": 4, "model": {"layers": 3, "act": "relu"},
                                       "batch_size": 64, "seed": 7})
        self.assertEqual(r["tags"]["wandb.tags"], "cnn, small")
        self.assertEqual(r["tags"]["wandb.notes"], "first")
        self.assertEqual(r["tags"]["summary.verdict"], "ok")
        h = self.show(r["id"])["history"]
        # Two committed rows per epoch: W&B's step grows by one with each.
        self.assertEqual([(p["step"], p["value"]) for p in h["train/loss"]],
                         [(0, 1.0), (2, 0.5), (4, 1 / 3), (6, 0.25)])
        self.assertEqual([p["step"] for p in h["val/acc"]], [1, 3, 5, 7])
        self.assertEqual([p["step"] for p in h["lr"]], [1, 3, 5, 7])
        self.assertEqual([(p["step"], p["value"]) for p in h["best_acc"]], [(7, 0.8)])


class TestWandbCalls(RepoTest):
    def tearDown(self):
        wandb.finish()
        RepoTest.tearDown(self)

    def test_steps_and_config(self):
        ns = argparse.Namespace(lr=0.1, opt="adam")
        run = wandb.init(project="p", config=ns)
        self.assertEqual(run.config.as_dict(), {"lr": 0.1, "opt": "adam"})
        self.assertIs(wandb.init(project="p"), run)  # one run until it finishes
        wandb.log({"a": 1.0}, step=5)
        wandb.log({"b": 2.0})  # step 5 still: a given step is not committed by itself
        wandb.log({"a": 3.0}, step=9)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            wandb.log({"a": 9.0}, step=2)  # lower: ignored, as W&B does
            wandb.log({"text": "not a number", "c": 1})
        self.assertEqual(len(w), 2)
        wandb.config.update({"lr": 0.5}, allow_val_change=True)  # the first value stays the param
        wandb.config.lr2 = None  # the string "None", as MLflow stores it
        run.finish(exit_code=1)
        rec = self.show(run.id)
        self.assertEqual(rec["status"], "failed")
        self.assertEqual(rec["experiment"], "p")
        self.assertEqual(rec["params"], {"lr": 0.1, "lr2": "None", "opt": "adam"})
        self.assertEqual([(p["step"], p["value"]) for p in rec["history"]["a"]], [(5, 1.0), (9, 3.0)])
        self.assertEqual([p["step"] for p in rec["history"]["b"]], [5])
        self.assertEqual([p["step"] for p in rec["history"]["c"]], [9])
        self.assertNotIn("text", rec["history"])
        with self.assertRaises(gitruns.MlflowException):
            wandb.config.x = 1  # no run any more

    def test_media(self):
        self.assertIs(wandb.login(), True)
        run = wandb.init(project="m")
        wandb.define_metric("acc", summary="max")
        table = wandb.Table(columns=["x", "y"], data=[[1, "a"]])
        table.add_data(2, "b")
        wandb.log({"loss": 0.5, "sample": wandb.Image([[0, 255], [255, 0]], caption="c"), "preds": table})
        wandb.log({"loss": 0.4, "sample": wandb.Image([[1, 2], [3, 4]])})
        wandb.finish()
        rec = self.show(run.id)
        self.assertEqual(sorted(a["path"] for a in rec["artifacts"]), [
            "media/preds/step_0.table.json", "media/sample/step_0.png", "media/sample/step_1.png"])
        get = lambda p: subprocess.check_output([binary(), "artifact", "get", run.id, p, "-o", "-"])  # noqa: E731
        self.assertEqual(get("media/preds/step_0.table.json").decode(),
                         '{\n  "columns": [\n    "x",\n    "y"\n  ],\n  "data": [\n    [\n      1,\n      "a"\n'
                         '    ],\n    [\n      2,\n      "b"\n    ]\n  ]\n}\n')
        self.assertEqual(get("media/sample/step_1.png")[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual([p["value"] for p in rec["history"]["loss"]], [0.5, 0.4])

    def test_context_manager_and_log_without_init(self):
        wandb.log({"loss": 0.5})
        first = wandb.run
        self.assertIsNotNone(first)
        wandb.finish()
        with wandb.init(name="ctx") as run:
            run.log({"x": 1})
        rec = self.show(run.id)
        self.assertEqual((rec["name"], rec["status"]), ("ctx", "finished"))
        self.assertEqual(self.show(first.id)["metrics"]["loss"]["last"], 0.5)


if __name__ == "__main__":
    unittest.main()
