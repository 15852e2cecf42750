"""gitruns.autolog(): scikit-learn for real (Debian's python3-sklearn), and
Keras, PyTorch Lightning and Transformers on stand-ins.

Debian 12 packages none of Keras, Lightning or Transformers, so the tests
write stand-in packages (keras, lightning.pytorch, transformers) into a
temporary directory. They are stand-ins, not the frameworks: each has only
the hook points autolog patches, called the way the real framework calls
them (keras.Model.fit(x, y, batch_size, epochs, callbacks=...) calling
Callback.on_epoch_end(epoch, logs); lightning.pytorch.Trainer(callbacks=...,
max_epochs=...) whose fit calls Callback.on_train_start,
on_train_epoch_end with trainer.callback_metrics of tensors, on_train_end;
transformers.Trainer(model, args, callbacks=...) in transformers.trainer,
reached through the package's lazy __getattr__ as the real one is, whose
train calls TrainerCallback.on_train_begin, on_log(logs=...), on_train_end
with (args, state, control)). Debian does package PyTorch (python3-torch),
so one test fills the Lightning stand-in's callback_metrics with real torch
tensors. Every script checks that autolog imported none of them.
"""

import os
import subprocess
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from test_gitruns import PKG, RepoTest, binary, python_with  # noqa: E402

STANDINS = {
    "keras/__init__.py": '''
        """Stand-in for Keras (see test_autolog.py): Model.fit and callbacks.Callback."""
        from . import callbacks


        class Adam(object):
            pass


        class Model(object):
            def __init__(self):
                self.optimizer = Adam()

            def fit(self, x=None, y=None, batch_size=None, epochs=1, callbacks=None, **kwargs):
                cbs = list(callbacks or [])
                for c in cbs:
                    c.on_train_begin({})
                for epoch in range(epochs):
                    logs = {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10}
                    for c in cbs:
                        c.on_epoch_end(epoch, logs)
                for c in cbs:
                    c.on_train_end({})
                return "history"
    ''',
    "keras/callbacks.py": '''
        class Callback(object):
            def on_train_begin(self, logs=None):
                pass

            def on_epoch_end(self, epoch, logs=None):
                pass

            def on_train_end(self, logs=None):
                pass
    ''',
    "lightning/__init__.py": '''
        """Stand-in for Lightning (see test_autolog.py)."""
    ''',
    "lightning/pytorch/__init__.py": '''
        """Stand-in for lightning.pytorch: Trainer, Callback, LightningModule."""


        class Tensor(object):
            def __init__(self, v):
                self.v = v

            def item(self):
                return self.v


        class Callback(object):
            def on_train_start(self, trainer, pl_module):
                pass

            def on_train_epoch_end(self, trainer, pl_module):
                pass

            def on_train_end(self, trainer, pl_module):
                pass

            def on_exception(self, trainer, pl_module, exception):
                pass


        class LightningModule(object):
            def __init__(self, **hparams):
                self.hparams = hparams


        class Trainer(object):
            def __init__(self, callbacks=None, max_epochs=1):
                self.callbacks = list(callbacks or [])
                self.max_epochs = max_epochs
                self.current_epoch = 0
                self.callback_metrics = {}

            def fit(self, model):
                for c in self.callbacks:
                    c.on_train_start(self, model)
                for epoch in range(self.max_epochs):
                    self.current_epoch = epoch
                    self.callback_metrics = {"train_loss": Tensor(2.0 - epoch), "val_acc": Tensor(0.6 + epoch / 10)}
                    for c in self.callbacks:
                        c.on_train_epoch_end(self, model)
                for c in self.callbacks:
                    c.on_train_end(self, model)
    ''',
    "transformers/__init__.py": '''
        """Stand-in for Transformers (see test_autolog.py): lazy, as the real one."""


        def __getattr__(name):
            if name == "Trainer":
                from .trainer import Trainer
                return Trainer
            if name == "TrainingArguments":
                from .training_args import TrainingArguments
                return TrainingArguments
            raise AttributeError(name)
    ''',
    "transformers/training_args.py": '''
        class TrainingArguments(object):
            def __init__(self, output_dir, learning_rate=5e-05, num_train_epochs=3.0):
                self.output_dir = output_dir
                self.learning_rate = learning_rate
                self.num_train_epochs = num_train_epochs
                self.report_to = []

            def to_dict(self):
                return dict(vars(self))
    ''',
    "transformers/trainer_callback.py": '''
        class TrainerState(object):
            def __init__(self):
                self.global_step = 0


        class TrainerControl(object):
            pass


        class TrainerCallback(object):
            def on_train_begin(self, args, state, control, **kwargs):
                pass

            def on_log(self, args, state, control, logs=None, **kwargs):
                pass

            def on_train_end(self, args, state, control, **kwargs):
                pass
    ''',
    "transformers/trainer.py": '''
        from .trainer_callback import TrainerControl, TrainerState


        class Trainer(object):
            def __init__(self, model=None, args=None, callbacks=None):
                self.args = args
                self.callbacks = list(callbacks or [])

            def train(self):
                state, control = TrainerState(), TrainerControl()
                for c in self.callbacks:
                    c.on_train_begin(self.args, state, control)
                for step in (10, 20, 30):
                    state.global_step = step
                    logs = {"loss": 3.0 / step * 10, "learning_rate": 1e-5, "epoch": step / 10}
                    for c in self.callbacks:
                        c.on_log(self.args, state, control, logs=logs)
                for c in self.callbacks:
                    c.on_train_end(self.args, state, control)
    ''',
}

NOTHING_IMPORTED = """
import sys
assert "torch" not in sys.modules
import gitruns
FRAMEWORKS = ("sklearn", "keras", "lightning", "pytorch_lightning", "transformers", "torch", "tensorflow")
gitruns.autolog()
imported = sorted(m for m in sys.modules if m.split(".")[0] in FRAMEWORKS)
assert imported == [], imported
"""


class TestAutolog(RepoTest):
    def run_script(self, python, body, extra_path=None, flags=()):
        path = PKG if extra_path is None else PKG + os.pathsep + extra_path
        env = dict(os.environ, PYTHONPATH=path,
                   PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        p = os.path.join(self.dir, "script.py")
        with open(p, "w") as f:
            f.write(NOTHING_IMPORTED + textwrap.dedent(body))
        return subprocess.check_output([python] + list(flags) + [p], env=env, cwd=self.dir,
                                       universal_newlines=True)

    def runs_by_name(self):
        return {r["name"]: r for r in self.ls()}

    def test_sklearn_for_real(self):
        out = self.run_script(python_with("sklearn"), """
            from sklearn.datasets import load_iris
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            X, y = load_iris(return_X_y=True)
            lr = LogisticRegression(max_iter=500, C=0.5).fit(X, y)
            print(repr(lr.score(X, y)))
            from sklearn import metrics
            print(repr(metrics.f1_score(y, lr.predict(X), average="weighted")))
            with gitruns.start_run(run_name="forest"):
                forest = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
            print(repr(forest.score(X, y)))
            with gitruns.start_run(run_name="pipe"):
                pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
            print(repr(pipe.score(X, y)))
            StandardScaler().fit(X)  # data preparation: no run, as in MLflow
            gitruns.autolog(disable=True)
            LogisticRegression(max_iter=500).fit(X, y)  # no run: autolog is off
            gitruns.sklearn.autolog()  # mlflow.sklearn.autolog(), as tutorials call it
            with gitruns.start_run(run_name="again"):
                LogisticRegression(max_iter=400).fit(X, y)
        """)
        lr_score, lr_f1, forest_score, pipe_score = [float(x) for x in out.split()]
        runs = self.ls()
        self.assertEqual(len(runs), 4)
        by = self.runs_by_name()
        self.assertEqual(by["again"]["params"]["max_iter"], 400)
        lr = [r for r in runs if r["name"] not in ("forest", "pipe", "again")][0]
        self.assertEqual(lr["status"], "finished")
        self.assertEqual(lr["params"]["C"], 0.5)
        self.assertEqual(lr["params"]["max_iter"], 500)
        self.assertEqual(lr["params"]["penalty"], "l2")
        self.assertEqual(lr["params"]["random_state"], "None")
        self.assertEqual(lr["tags"]["estimator_name"], "LogisticRegression")
        self.assertEqual(lr["tags"]["estimator_class"], "sklearn.linear_model._logistic.LogisticRegression")
        self.assertEqual(lr["metrics"]["training_score"]["last"], lr_score)
        self.assertEqual(lr["metrics"]["training_accuracy_score"]["last"], lr_score)
        self.assertEqual(lr["metrics"]["training_f1_score"]["last"], lr_f1)
        self.assertEqual(sorted(k for k in lr["metrics"] if k.startswith("training_")), [
            "training_accuracy_score", "training_f1_score", "training_precision_score",
            "training_recall_score", "training_score"])
        forest = by["forest"]
        self.assertEqual(forest["params"]["n_estimators"], 10)
        self.assertEqual(forest["params"]["max_depth"], 3)
        self.assertEqual(forest["metrics"]["training_score"]["last"], forest_score)
        self.assertEqual(forest["metrics"]["training_score"]["count"], 1)  # the trees' own fits log nothing
        self.assertEqual(forest["tags"]["estimator_name"], "RandomForestClassifier")
        pipe = by["pipe"]
        self.assertEqual(pipe["params"]["logisticregression__max_iter"], 500)
        self.assertIs(pipe["params"]["standardscaler__with_mean"], True)
        self.assertEqual(pipe["metrics"]["training_score"]["last"], pipe_score)
        self.assertEqual(pipe["tags"]["estimator_name"], "Pipeline")

    def test_sklearn_imported_before_autolog(self):
        out = self.run_script(python_with("sklearn"), """
            import sklearn.linear_model
            from sklearn.datasets import load_iris
            from sklearn.metrics import mean_squared_error
            gitruns.autolog()
            X, y = load_iris(return_X_y=True)
            m = sklearn.linear_model.Ridge(alpha=2.0).fit(X, y)
            print(repr(m.score(X, y)), repr(mean_squared_error(y, m.predict(X))))
        """)
        r2, mse = [float(x) for x in out.split()]
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        got = runs[0]["metrics"]
        self.assertEqual(runs[0]["params"]["alpha"], 2.0)
        self.assertEqual(got["training_score"]["last"], r2)
        self.assertEqual(got["training_r2_score"]["last"], r2)
        self.assertEqual(got["training_mean_squared_error"]["last"], mse)
        self.assertEqual(got["training_root_mean_squared_error"]["last"], mse ** 0.5)
        self.assertIn("training_mean_absolute_error", got)

    def test_frameworks_on_stand_ins(self):
        d = self.write_standins()
        self.run_script(sys.executable, """
            import keras
            with gitruns.start_run(run_name="keras"):
                keras.Model().fit([1], [2], 8, 3)
            import lightning.pytorch as L
            with gitruns.start_run(run_name="lightning"):
                L.Trainer(max_epochs=2).fit(L.LightningModule(hidden=16, dropout=0.1))
            from transformers import Trainer, TrainingArguments
            with gitruns.start_run(run_name="transformers"):
                Trainer(model=None, args=TrainingArguments("out", learning_rate=2e-5)).train()
            keras.Model().fit([1], [2], epochs=2)  # no active run: the fit has its own
        """, extra_path=d)
        runs = self.ls()
        self.assertEqual(len(runs), 4)
        by = self.runs_by_name()
        for name in ("keras", "lightning", "transformers"):
            self.assertEqual(by[name]["status"], "finished", name)
        k = by["keras"]
        self.assertEqual(k["params"], {"batch_size": 8, "epochs": 3, "optimizer_name": "Adam"})
        h = self.show(k["id"])["history"]
        self.assertEqual([(p["step"], p["value"]) for p in h["loss"]], [(0, 1.0), (1, 0.5), (2, 1 / 3)])
        self.assertEqual([p["step"] for p in h["accuracy"]], [0, 1, 2])
        own = [r for r in runs if r["name"] not in by or r["name"] not in ("keras", "lightning", "transformers")]
        self.assertEqual(len(own), 1)
        self.assertEqual(own[0]["status"], "finished")
        self.assertEqual(own[0]["params"]["epochs"], 2)
        self.assertEqual(own[0]["metrics"]["loss"]["count"], 2)
        li = by["lightning"]
        self.assertEqual(li["params"], {"hidden": 16, "dropout": 0.1, "max_epochs": 2})
        h = self.show(li["id"])["history"]
        self.assertEqual([(p["step"], p["value"]) for p in h["train_loss"]], [(0, 2.0), (1, 1.0)])
        self.assertEqual([p["step"] for p in h["val_acc"]], [0, 1])
        tr = by["transformers"]
        self.assertEqual(tr["params"], {"output_dir": "out", "learning_rate": 2e-5, "num_train_epochs": 3.0})
        h = self.show(tr["id"])["history"]
        self.assertEqual([(p["step"], p["value"]) for p in h["loss"]], [(10, 3.0), (20, 1.5), (30, 1.0)])
        self.assertEqual([p["step"] for p in h["epoch"]], [10, 20, 30])

    def write_standins(self):
        d = os.path.join(self.dir, "standins")
        for rel, body in STANDINS.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(textwrap.dedent(body).lstrip())
        return d

    def test_lightning_stand_in_with_real_torch_tensors(self):
        # Debian's python3-torch: callback_metrics hold real 0-d tensors,
        # as Lightning's do; the stand-in Trainer makes them through its
        # module's Tensor, which the script points at torch.tensor.
        d = self.write_standins()
        out = self.run_script(python_with("torch"), """
            import torch
            import lightning.pytorch as L
            L.Tensor = lambda v: torch.tensor(v, dtype=torch.float32)
            with gitruns.start_run(run_name="torch"):
                L.Trainer(max_epochs=3).fit(L.LightningModule(hidden=32))
                gitruns.log_metric("direct", torch.tensor(0.1))
            print(repr([float(torch.tensor(0.6 + e / 10, dtype=torch.float32)) for e in range(3)]))
            print(repr(float(torch.tensor(0.1))))
        """, extra_path=d)
        vals, direct = [eval(line) for line in out.splitlines()]
        r = self.runs_by_name()["torch"]
        h = self.show(r["id"])["history"]
        self.assertEqual([p["value"] for p in h["val_acc"]], vals)
        self.assertEqual([(p["step"], p["value"]) for p in h["train_loss"]], [(0, 2.0), (1, 1.0), (2, 0.0)])
        self.assertEqual(r["metrics"]["direct"]["last"], direct)
        self.assertEqual(r["params"], {"hidden": 32, "max_epochs": 3})

    def test_stand_ins_from_a_zip(self):
        # A zip on sys.path: one zipimporter loads every module in it, so
        # the hook wraps the loader apart instead of changing the shared one.
        import zipfile
        z = os.path.join(self.dir, "standins.zip")
        with zipfile.ZipFile(z, "w") as f:
            for rel, body in STANDINS.items():
                f.writestr(rel, textwrap.dedent(body).lstrip())
        self.run_script(sys.executable, """
            import keras
            assert keras.__loader__ is not None
            with gitruns.start_run(run_name="zipped"):
                keras.Model().fit(epochs=2)
            import keras.callbacks
            import lightning.pytorch as L
            with gitruns.start_run(run_name="zipped-l"):
                L.Trainer(max_epochs=1).fit(L.LightningModule(hidden=2))
        """, extra_path=z)
        by = self.runs_by_name()
        self.assertEqual(by["zipped"]["metrics"]["loss"]["count"], 2)
        self.assertEqual(by["zipped-l"]["params"], {"hidden": 2, "max_epochs": 1})

    def test_per_framework_autolog(self):
        # mlflow.keras.autolog() and the like: only that framework.
        d = self.write_standins()
        self.run_script(sys.executable, """
            import gitruns as mlflow
            mlflow.autolog(disable=True)
            mlflow.keras.autolog()
            import keras
            import lightning.pytorch as L
            with mlflow.start_run(run_name="k"):
                keras.Model().fit(epochs=2)
            with mlflow.start_run(run_name="l"):
                L.Trainer(max_epochs=2).fit(L.LightningModule(hidden=4))
            mlflow.pytorch.autolog()
            with mlflow.start_run(run_name="l2"):
                L.Trainer(max_epochs=1).fit(L.LightningModule(hidden=8))
            mlflow.keras.autolog(disable=True)
            with mlflow.start_run(run_name="k2"):
                keras.Model().fit(epochs=2)
        """, extra_path=d)
        by = self.runs_by_name()
        self.assertEqual(sorted(by), ["k", "k2", "l", "l2"])
        self.assertEqual(by["k"]["metrics"]["loss"]["count"], 2)
        own = lambda r: sorted(k for k in r["metrics"] if not k.startswith("system/"))  # noqa: E731
        self.assertEqual(own(by["l"]), [])
        self.assertEqual(by["l2"]["params"], {"hidden": 8, "max_epochs": 1})
        self.assertEqual(own(by["k2"]), [])
        self.assertEqual(by["k2"]["params"], {})

    def test_nothing_installed(self):
        # python -S leaves site-packages off sys.path, so none of the
        # frameworks can be found whatever this python3 has installed;
        # training code without them is untouched and no hook is left
        # waiting.
        self.run_script(sys.executable, flags=["-S"], body="""
            import importlib.util
            for top in ("sklearn", "keras", "lightning", "pytorch_lightning", "transformers"):
                assert importlib.util.find_spec(top) is None, top
            assert gitruns._autolog._hook is None, gitruns._autolog._hook
            assert gitruns._autolog._patched == []
        """)
        self.assertEqual(self.ls(), [])


if __name__ == "__main__":
    unittest.main()
