"""MLflow code run unchanged with ``import gitruns as mlflow``: the
tutorial (with Debian's python3-sklearn), a sweep of nested runs, the rest
of the fluent API, MlflowClient and MlflowException; every run checked
through git runs ls --json or show --json."""

import json
import os
import struct
import subprocess
import sys
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from test_gitruns import PKG, RepoTest, binary, python_with  # noqa: E402

import gitruns  # noqa: E402
import gitruns as mlflow  # noqa: E402
from gitruns import MlflowClient  # noqa: E402
from gitruns.entities import FileInfo, Metric, Param, Run, RunTag, ViewType  # noqa: E402
from gitruns.exceptions import MlflowException  # noqa: E402

TUTORIAL = """
import gitruns as mlflow
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

mlflow.set_experiment("iris-tutorial")
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
with mlflow.start_run():
    mlflow.log_param("n_estimators", 100)
    mlflow.log_param("max_depth", 3)
    model = RandomForestClassifier(n_estimators=100, max_depth=3, random_state=0)
    model.fit(X_train, y_train)
    acc = accuracy_score(y_test, model.predict(X_test))
    mlflow.log_metric("accuracy", acc)
print(repr(acc))
"""

SWEEP = """
import gitruns as mlflow

mlflow.set_experiment(experiment_name="sweep")
with mlflow.start_run(run_name="grid") as parent:
    mlflow.log_param("grid", "lr")
    for lr in [0.1, 0.01, 0.001]:
        with mlflow.start_run(run_name="lr-%g" % lr, nested=True):
            mlflow.log_params({"lr": lr, "epochs": 5})
            for epoch in range(5):
                mlflow.log_metric("loss", lr / (epoch + 1), step=epoch)
            mlflow.set_tags({"trial": str(lr)})
    best = mlflow.search_runs(
        filter_string="tags.mlflow.parentRunId = '%s'" % parent.info.run_id,
        order_by=["metrics.loss ASC"], output_format="list")[0]
    mlflow.log_metric("best_loss", best.data.metrics["loss"])
    mlflow.set_tag("best_run", best.info.run_id)
print(parent.info.run_id)
"""


def read_png(data):
    """Width, height, color type and the unfiltered rows of a PNG that uses
    filter type 0 only, as gitruns writes them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xffffffff, kind
        chunks.setdefault(kind, b"")
        chunks[kind] += body
        pos += 12 + n
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = len(raw) // h
    rows = [raw[i * stride:(i + 1) * stride] for i in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, color, [r[1:] for r in rows]


class Array(object):
    """A numpy array as log_image duck-types it: tolist and shape."""

    def __init__(self, rows):
        self.rows = rows
        self.shape = (len(rows), len(rows[0]))

    def tolist(self):
        return self.rows


class Figure(object):
    """A matplotlib figure as log_figure duck-types it."""

    def savefig(self, path, **kw):
        with open(path, "wb") as f:
            f.write(b"figure dpi=%d" % kw.get("dpi", 0))


class Image(object):
    """A PIL image as log_image duck-types it."""

    def save(self, path):
        with open(path, "wb") as f:
            f.write(b"pil image")


class Frame(object):
    """A pandas DataFrame as log_table duck-types it."""

    def to_dict(self, orient):
        assert orient == "list"
        return {"epoch": [0, 1], "loss": [0.5, 0.25]}


class TestScripts(RepoTest):
    def run_script(self, python, body):
        env = dict(os.environ, PYTHONPATH=PKG,
                   PATH=os.path.dirname(binary()) + os.pathsep + os.environ["PATH"])
        p = os.path.join(self.dir, "script.py")
        with open(p, "w") as f:
            f.write(body)
        return subprocess.check_output([python, p], env=env, cwd=self.dir, universal_newlines=True)

    def test_tutorial_unchanged(self):
        acc = float(self.run_script(python_with("sklearn"), TUTORIAL).strip())
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        r = runs[0]
        self.assertEqual(r["status"], "finished")
        self.assertEqual(r["experiment"], "iris-tutorial")
        self.assertEqual(r["params"], {"n_estimators": 100, "max_depth": 3})
        self.assertEqual(r["metrics"]["accuracy"]["last"], acc)
        self.assertEqual(r["metrics"]["accuracy"]["count"], 1)
        self.assertGreater(acc, 0.9)

    def test_sweep_of_nested_runs(self):
        parent = self.run_script(sys.executable, SWEEP).strip()
        runs = {r["id"]: r for r in self.ls()}
        self.assertEqual(len(runs), 4)
        self.assertEqual({r["experiment"] for r in runs.values()}, {"sweep"})
        self.assertEqual({r["status"] for r in runs.values()}, {"finished"})
        kids = [r for r in runs.values() if r["id"] != parent]
        self.assertEqual(sorted(k["name"] for k in kids), ["lr-0.001", "lr-0.01", "lr-0.1"])
        for k in kids:
            lr = k["params"]["lr"]
            self.assertEqual(k["tags"]["mlflow.parentRunId"], parent)
            self.assertEqual(k["tags"]["trial"], str(lr))
            self.assertEqual(k["params"]["epochs"], 5)
            self.assertEqual(k["metrics"]["loss"]["count"], 5)
            self.assertEqual(k["metrics"]["loss"]["last"], lr / 5)
        best = min(kids, key=lambda k: k["metrics"]["loss"]["last"])
        self.assertEqual(runs[parent]["tags"]["best_run"], best["id"])
        self.assertEqual(runs[parent]["metrics"]["best_loss"]["last"], best["metrics"]["loss"]["last"])
        self.assertEqual(sorted(self.show(parent)["children"]), sorted(k["id"] for k in kids))

    def test_real_figure_image_table(self):
        # Debian's matplotlib, numpy, PIL and pandas: the duck typing meets
        # the real objects, and PIL reads back the PNGs gitruns wrote.
        body = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image
import gitruns as mlflow

rgb = np.zeros((3, 4, 3), dtype=np.uint8)
rgb[1, 2] = [10, 200, 30]
gray = np.linspace(0, 1, 12).reshape(3, 4)
with mlflow.start_run() as run:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    mlflow.log_figure(fig, "plots/line.png")
    mlflow.log_image(rgb, "img/rgb.png")
    mlflow.log_image(gray, "img/gray.png")
    mlflow.log_image(Image.new("RGB", (5, 2), (1, 2, 3)), "img/pil.png")
    mlflow.log_table(pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]}), "t.json")
    mlflow.log_metric("m", np.float32(0.5))
c = mlflow.MlflowClient()
d = c.download_artifacts(run.info.run_id, "img", "dl")
a = np.asarray(Image.open(d + "/rgb.png"))
print(a.shape, a[1, 2].tolist(), int(a.sum()))
g = np.asarray(Image.open(d + "/gray.png"))
print(g.shape, g.tolist()[2], (g == (gray * 255).astype(np.uint8)).all())
print(Image.open(d + "/pil.png").size, Image.open(d + "/pil.png").getpixel((4, 1)))
print(Image.open(c.download_artifacts(run.info.run_id, "plots/line.png", "dl")).format)
"""
        out = self.run_script(python_with("matplotlib"), body).splitlines()
        self.assertEqual(out, ["(3, 4, 3) [10, 200, 30] 240",
                               "(3, 4) [185, 208, 231, 255] True",
                               "(5, 2) (1, 2, 3)",
                               "PNG"])
        r = self.ls()[0]
        self.assertEqual(r["metrics"]["m"]["last"], 0.5)
        t = json.loads(subprocess.check_output([binary(), "artifact", "get", r["id"], "t.json", "-o", "-"]))
        self.assertEqual(t, {"columns": ["a", "b"], "data": [[1, 0.5], [2, 0.25]]})

    def test_search_runs_pandas(self):
        body = """
import gitruns as mlflow
for i, acc in enumerate([0.5, 0.9, 0.7]):
    with mlflow.start_run(run_name="r%d" % i, experiment_id="exp"):
        mlflow.log_params({"lr": 0.1 * (i + 1), "opt": "sgd"})
        mlflow.log_metric("acc", acc)
df = mlflow.search_runs(experiment_names=["exp"], filter_string="metrics.acc > 0.6", order_by=["metrics.acc DESC"])
print(type(df).__name__, list(df["tags.mlflow.runName"]), list(df["metrics.acc"]), list(df["params.opt"]))
print(str(df["start_time"].dtype), list(df["status"]), list(df["experiment_id"]))
print(len(mlflow.search_runs(experiment_ids=["0"])))
print(mlflow.get_experiment_by_name("exp").experiment_id)
"""
        out = self.run_script(python_with("pandas"), body).splitlines()
        eid = out[3]
        self.assertRegex(eid, r"^\d{18}$")
        self.assertEqual(out[:3], ["DataFrame ['r1', 'r2'] [0.9, 0.7] ['sgd', 'sgd']",
                                   "datetime64[ns, UTC] ['FINISHED', 'FINISHED'] [%r, %r]" % (eid, eid),
                                   "0"])


class TestFluent(RepoTest):
    def test_run_object(self):
        exp = mlflow.set_experiment(experiment_name="e")
        self.assertRegex(exp.experiment_id, r"^\d{18}$")
        self.assertEqual(exp.name, "e")
        with mlflow.start_run(run_name="one", tags={"k": "v"}, description="first try") as run:
            self.assertIs(mlflow.active_run(), run)
            self.assertEqual(run.info.run_id, run.id)
            self.assertEqual(run.info.experiment_id, exp.experiment_id)
            self.assertEqual(run.info.status, "RUNNING")
            mlflow.log_param("lr", 0.1)
            mlflow.log_params({"layers": [64, 32], "act": "relu", "bn": True})
            mlflow.log_metric("loss", 1.5, step=0)
            mlflow.log_metric("loss", 0.5, step=1, timestamp=1700000000000)
            mlflow.log_metrics({"acc": 1, "f1": 0.25}, step=2)
            mlflow.set_tag("gone", "soon")
            mlflow.delete_tag("gone")
            self.assertEqual(mlflow.get_artifact_uri(), "gitruns:/%s/artifacts" % run.id)
            self.assertEqual(mlflow.get_artifact_uri("a/b.txt"), "gitruns:/%s/artifacts/a/b.txt" % run.id)
        self.assertIsNone(mlflow.active_run())
        r = mlflow.get_run(run.info.run_id)
        self.assertIsInstance(r, Run)
        self.assertEqual(r["id"], run.id)  # still git-runs' record
        self.assertEqual(r.info.run_name, "one")
        self.assertEqual(r.info.status, "FINISHED")
        self.assertEqual(r.info.lifecycle_stage, "active")
        self.assertEqual(r.info.experiment_id, exp.experiment_id)
        self.assertEqual(r.info.artifact_uri, "gitruns:/%s/artifacts" % run.id)
        self.assertLessEqual(r.info.start_time, r.info.end_time)
        rec = self.show(run.id)
        self.assertEqual(r.info.start_time, _ms(rec["started"]))
        self.assertEqual(r.data.params, {"lr": "0.1", "layers": "[64, 32]", "act": "relu", "bn": "True"})
        self.assertEqual({k: v for k, v in r.data.metrics.items() if not k.startswith("system/")},
                         {"loss": 0.5, "acc": 1.0, "f1": 0.25})
        self.assertEqual(r.data.tags["k"], "v")
        self.assertEqual(r.data.tags["mlflow.note.content"], "first try")
        self.assertEqual(r.data.tags["mlflow.runName"], "one")
        self.assertNotIn("gone", rec["tags"])
        self.assertEqual(rec["history"]["loss"][1]["timestamp"], 1700000000000)
        self.assertEqual(mlflow.last_active_run().info.run_id, run.id)

    def test_end_run_statuses_and_experiment_ids(self):
        mlflow.start_run(experiment_id="0")
        mlflow.end_run(status="FAILED")
        mlflow.set_experiment(experiment_id="exp2")
        mlflow.start_run(run_name="k")
        mlflow.end_run("KILLED")
        runs = self.ls()
        self.assertEqual([(r["experiment"], r["status"]) for r in runs],
                         [("exp2", "killed"), ("default", "failed")])
        with self.assertRaises(MlflowException) as cm:
            mlflow.end_run("DONE")
        self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")
        self.assertIsInstance(cm.exception, ValueError)

    def test_resume_an_ended_run(self):
        with mlflow.start_run(run_name="trained") as run:
            mlflow.log_metric("loss", 0.2)
        with mlflow.start_run(run_id=run.info.run_id) as again:
            self.assertEqual(mlflow.active_run().info.run_id, run.id)
            mlflow.log_metric("test_acc", 0.93)
            mlflow.set_tag("evaluated", "yes")
        self.assertIs(again._ended, True)
        rec = self.show(run.id)
        self.assertEqual(rec["status"], "finished")
        self.assertEqual(rec["metrics"]["test_acc"]["last"], 0.93)
        self.assertEqual(rec["metrics"]["loss"]["last"], 0.2)
        self.assertEqual(rec["tags"]["evaluated"], "yes")
        self.assertEqual(len(self.ls()), 1)

    def test_resume_a_running_run_ends_it(self):
        c = MlflowClient()
        created = c.create_run("0", run_name="made")
        self.assertEqual(created.info.status, "RUNNING")
        with mlflow.start_run(run_id=created.info.run_id):
            mlflow.log_metric("x", 1.0)
        rec = self.show(created.info.run_id)
        self.assertEqual(rec["status"], "finished")
        self.assertEqual(rec["metrics"]["x"]["last"], 1.0)

    def test_artifacts(self):
        src = os.path.join(self.dir, "outdir")
        os.makedirs(os.path.join(src, "sub"))
        for p, body in (("a.txt", "A"), ("sub/b.txt", "B")):
            with open(os.path.join(src, p), "w") as f:
                f.write(body)
        pixels = [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]]
        with mlflow.start_run() as run:
            mlflow.log_artifacts(src, artifact_path="out")
            mlflow.log_artifacts(src)
            mlflow.log_figure(Figure(), "plots/fig.png", save_kwargs={"dpi": 72})
            mlflow.log_image(Array(pixels), "img/rgb.png")
            mlflow.log_image(Array([[0.0, 0.5], [1.0, 0.25]]), "img/gray.png")
            mlflow.log_image(Image(), "img/pil.png")
            mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "tables/t.json")
            mlflow.log_table(Frame(), "tables/frame.json")
            mlflow.log_input({"name": "iris", "digest": "d41d8", "source_type": "local",
                              "source": "data/iris.csv"}, context="training")
            mlflow.log_input({"name": "iris", "digest": "d41d8", "source_type": "local",
                              "source": "data/iris.csv"}, context="training")
            with self.assertRaises(MlflowException):
                mlflow.log_image(Array([[[1, 2]]]), "img/bad.png")  # two channels
            with self.assertRaisesRegex(MlflowException, "out of range"):
                mlflow.log_image(Array([[0.5, 1.5]]), "img/bad.png")
            with self.assertRaisesRegex(MlflowException, "out of range"):
                mlflow.log_image(Array([[0, 256]]), "img/bad.png")
        rec = self.show(run.id)
        self.assertEqual(sorted(a["path"] for a in rec["artifacts"]), [
            "a.txt", "img/gray.png", "img/pil.png", "img/rgb.png", "out/a.txt", "out/sub/b.txt",
            "plots/fig.png", "sub/b.txt", "tables/frame.json", "tables/t.json"])
        get = lambda p: subprocess.check_output([binary(), "artifact", "get", run.id, p, "-o", "-"])  # noqa: E731
        self.assertEqual(get("out/sub/b.txt"), b"B")
        self.assertEqual(get("plots/fig.png"), b"figure dpi=72")
        self.assertEqual(get("img/pil.png"), b"pil image")
        self.assertEqual(read_png(get("img/rgb.png")), (2, 2, 2, [bytes([255, 0, 0, 0, 255, 0]),
                                                                 bytes([0, 0, 255, 10, 20, 30])]))
        # Floats times 255, truncated, as MLflow converts them.
        self.assertEqual(read_png(get("img/gray.png")), (2, 2, 0, [bytes([0, 127]), bytes([255, 63])]))
        self.assertEqual(json.loads(get("tables/t.json")), {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]})
        self.assertEqual(json.loads(get("tables/frame.json")),
                         {"columns": ["epoch", "loss"], "data": [[0, 0.5], [1, 0.25]]})
        self.assertEqual(json.loads(rec["tags"]["gitruns.mlflow.inputs"]), {"dataset_inputs": [{
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {"name": "iris", "digest": "d41d8", "source_type": "local", "source": "data/iris.csv"}}]})

    def test_search_runs_list(self):
        for i, acc in enumerate([0.5, 0.9, 0.7]):
            with mlflow.start_run(run_name="r%d" % i, experiment="e" if i else None):
                mlflow.log_params({"lr": 0.1 * (i + 1)})
                mlflow.log_metric("acc", acc)
        got = mlflow.search_runs(filter_string="metrics.acc > 0.6 and attributes.status = 'FINISHED'",
                                 order_by=["metrics.acc DESC"], output_format="list",
                                 search_all_experiments=True)
        self.assertEqual([r.info.run_name for r in got], ["r1", "r2"])
        # Without experiments named, as MLflow: the active experiment's runs.
        got = mlflow.search_runs(filter_string="metrics.acc > 0", output_format="list")
        self.assertEqual([r.info.run_name for r in got], ["r0"])
        mlflow.set_experiment("e")
        got = mlflow.search_runs(filter_string="metrics.acc > 0", order_by=["metrics.acc"], output_format="list")
        self.assertEqual([r.info.run_name for r in got], ["r2", "r1"])
        got = mlflow.search_runs(experiment_ids=["0"], output_format="list")
        self.assertEqual([r.info.run_name for r in got], ["r0"])
        got = mlflow.search_runs(filter_string="tags.`mlflow.runName` = 'r2'", output_format="list",
                                 search_all_experiments=True)
        self.assertEqual([r.data.params["lr"] for r in got], [repr(0.1 * 3)])
        got = mlflow.search_runs(experiment_names=["e"], max_results=1, order_by=["start_time ASC"],
                                 output_format="list")
        self.assertEqual([r.info.run_name for r in got], ["r1"])
        with self.assertRaises(MlflowException) as cm:
            mlflow.search_runs(filter_string="metrics.acc >>> 1", output_format="list", search_all_experiments=True)
        self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")


class TestModuleCalls(RepoTest):
    def test_tracking_uri_and_experiments(self):
        import warnings
        self.assertEqual(mlflow.get_tracking_uri(), "gitruns:/")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mlflow.set_tracking_uri("file:./mlruns")
            self.assertEqual(w, [])
            mlflow.set_tracking_uri("http://127.0.0.1:5000")
            self.assertEqual(len(w), 1)
        self.assertEqual(mlflow.get_tracking_uri(), "http://127.0.0.1:5000")
        mlflow.set_tracking_uri(None)
        eid = mlflow.create_experiment("nlp")
        self.assertRegex(eid, r"^\d{18}$")
        self.assertEqual(mlflow.get_experiment_by_name("nlp").experiment_id, eid)
        self.assertEqual(mlflow.get_experiment("0").name, "Default")
        with mlflow.start_run(experiment_id=eid) as p:
            self.assertEqual(p.info.experiment_id, eid)
            with mlflow.start_run(nested=True) as c:
                pass
        self.assertEqual(mlflow.get_parent_run(c.info.run_id).info.run_id, p.info.run_id)
        self.assertIsNone(mlflow.get_parent_run(p.info.run_id))
        self.assertEqual([(e.experiment_id, e.name) for e in mlflow.search_experiments()],
                         [(eid, "nlp"), ("0", "Default")])
        self.assertEqual({r["id"]: r["experiment"] for r in self.ls()},
                         {p.info.run_id: "nlp", c.info.run_id: "nlp"})  # a nested run is in its parent's


class TestClient(RepoTest):
    def test_experiments(self):
        c = MlflowClient()
        self.assertIs(gitruns.client.MlflowClient, MlflowClient)
        self.assertIs(gitruns.tracking.MlflowClient, MlflowClient)
        self.assertEqual([e.name for e in c.search_experiments()], ["Default"])
        eid = c.create_experiment("vision", tags={"team": "cv"})
        # The id exists in the repository at once, before any run.
        self.assertRegex(eid, r"^\d{18}$")
        stored = json.loads(self.git_runs("experiment", "show", "--json", eid))
        self.assertEqual((stored["name"], stored["tags"]), ("vision", {"team": "cv"}))
        self.assertEqual(subprocess.check_output(["git", "for-each-ref", "--format=%(refname)", "refs/runs-experiments"],
                                                 universal_newlines=True).split(), ["refs/runs-experiments/" + eid])
        e = c.get_experiment(eid)
        self.assertEqual((e.experiment_id, e.name, e.tags, e.lifecycle_stage), (eid, "vision", {"team": "cv"}, "active"))
        self.assertIsInstance(e.creation_time, int)
        self.assertEqual(c.get_experiment_by_name("vision").experiment_id, eid)
        self.assertEqual(c.get_experiment("vision").experiment_id, eid)  # a name, as gitruns took before
        self.assertIsNone(c.get_experiment_by_name("audio"))
        with self.assertRaises(MlflowException) as cm:
            c.create_experiment("vision")
        self.assertEqual(cm.exception.error_code, "RESOURCE_ALREADY_EXISTS")
        with self.assertRaises(MlflowException) as cm:
            c.create_experiment("Default")
        self.assertEqual(cm.exception.error_code, "RESOURCE_ALREADY_EXISTS")
        for bad in ("audio", "123456789012345678"):
            with self.assertRaises(MlflowException) as cm:
                c.get_experiment(bad)
            self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")

        # A run created in it by id is recorded in it.
        r = c.create_run(eid, run_name="r")
        self.assertEqual(r.info.experiment_id, eid)
        c.set_terminated(r.info.run_id)
        self.assertEqual(self.ls()[0]["experiment"], "vision")
        with self.assertRaises(MlflowException) as cm:
            c.create_run("123456789012345678")
        self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")
        self.assertEqual([e.name for e in c.search_experiments()], ["vision", "Default"])
        self.assertEqual([e.name for e in c.search_experiments(order_by=["name DESC"])], ["vision", "Default"])
        self.assertEqual([e.name for e in c.search_experiments(order_by=["name"])], ["Default", "vision"])
        self.assertEqual([e.name for e in c.search_experiments(filter_string="name LIKE 'vis%'")], ["vision"])
        self.assertEqual([e.name for e in c.search_experiments(filter_string="tags.team = 'cv'")], ["vision"])
        self.assertEqual([x.info.run_id for x in c.search_runs([eid])], [r.info.run_id])
        self.assertEqual([x.info.experiment_id for x in c.search_runs([eid, "0"])], [eid])
        self.assertEqual(c.search_runs(["123456789012345678"]), [])

        # Renamed: the same id, its runs still in it.
        c.rename_experiment(eid, "vision-v2")
        self.assertIsNone(c.get_experiment_by_name("vision"))
        self.assertEqual(c.get_experiment_by_name("vision-v2").experiment_id, eid)
        self.assertEqual([x.info.run_id for x in c.search_runs([eid])], [r.info.run_id])
        self.assertEqual(c.get_run(r.info.run_id).info.experiment_id, eid)
        with self.assertRaises(MlflowException) as cm:
            c.create_experiment("vision")  # its runs still belong to vision-v2
        self.assertEqual(cm.exception.error_code, "RESOURCE_ALREADY_EXISTS")

        c.set_experiment_tag(eid, "stage", "prod")
        c.delete_experiment_tag(eid, "team")
        self.assertEqual(c.get_experiment(eid).tags, {"stage": "prod"})

        # Deleted as MLflow deletes: kept, out of the default view, restorable.
        c.delete_experiment(eid)
        self.assertEqual(c.get_experiment(eid).lifecycle_stage, "deleted")
        self.assertEqual([e.name for e in c.search_experiments()], ["Default"])
        self.assertEqual([e.name for e in c.search_experiments(ViewType.DELETED_ONLY)], ["vision-v2"])
        self.assertEqual(len(c.search_experiments(ViewType.ALL)), 2)
        with self.assertRaises(MlflowException) as cm:
            c.create_run(eid)
        self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")
        with self.assertRaises(MlflowException):
            mlflow.set_experiment(experiment_id=eid)
        with self.assertRaises(MlflowException):
            c.delete_experiment("0")
        c.restore_experiment(eid)
        self.assertEqual(c.get_experiment(eid).lifecycle_stage, "active")
        self.assertEqual(len(self.ls()), 1)  # no run was started by the refusals

    def test_experiment_ids_and_names(self):
        # A numeric id wins over a name that reads as one; names that are
        # no id still work as ids, as gitruns took them before.
        c = MlflowClient()
        eid = c.create_experiment("churn")
        odd = c.create_experiment(eid)  # named as churn's id
        self.assertNotEqual(odd, eid)
        self.assertEqual(c.get_experiment(eid).name, "churn")
        self.assertEqual(c.get_experiment_by_name(eid).experiment_id, odd)
        with mlflow.start_run(experiment_id=eid) as a:
            pass
        with mlflow.start_run(experiment_id="legacy") as b:  # no such experiment: the name, as before
            pass
        exp = mlflow.set_experiment("churn")
        self.assertEqual(exp.experiment_id, eid)
        with mlflow.start_run() as d:
            self.assertEqual(d.info.experiment_id, eid)
        recs = {r["id"]: r["experiment"] for r in self.ls()}
        self.assertEqual(recs, {a.info.run_id: "churn", b.info.run_id: "legacy", d.info.run_id: "churn"})
        legacy = c.get_experiment_by_name("legacy")
        self.assertEqual(mlflow.get_run(b.info.run_id).info.experiment_id, legacy.experiment_id)
        self.assertEqual(sorted(x.info.run_id for x in c.search_runs(["churn"])), sorted([a.info.run_id, d.info.run_id]))
        # set_experiment creates what does not exist, as MLflow's does.
        made = mlflow.set_experiment("brand-new")
        self.assertEqual(c.get_experiment_by_name("brand-new").experiment_id, made.experiment_id)
        self.assertEqual(mlflow.set_experiment(experiment_id="0").name, "Default")
        with self.assertRaises(MlflowException) as cm:
            mlflow.set_experiment(experiment_id="123456789012345678")
        self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")

    def test_runs(self):
        c = MlflowClient()
        r = c.create_run("0", tags={"k": "v"}, run_name="made")
        rid = r.info.run_id
        self.assertEqual((r.info.run_name, r.info.status, r.data.tags["k"]), ("made", "RUNNING", "v"))
        c.log_param(rid, "lr", 0.01)
        c.log_metric(rid, "loss", 0.9, timestamp=1700000000000, step=0)
        c.log_batch(rid, metrics=[Metric("loss", 0.5, 1700000001000, 1), Metric("acc", 0.7, 1700000001000, 1),
                                  Metric("loss", 0.25, 1700000002000, 2)],
                    params=[Param("bs", "32")], tags=[RunTag("stage", "dev")])
        c.set_tag(rid, "note", "x")
        c.delete_tag(rid, "note")
        hist = c.get_metric_history(rid, "loss")
        self.assertEqual(hist, [Metric("loss", 0.9, 1700000000000, 0), Metric("loss", 0.5, 1700000001000, 1),
                                Metric("loss", 0.25, 1700000002000, 2)])
        c.set_terminated(rid, status="KILLED")
        got = c.get_run(rid)
        self.assertEqual(got.info.status, "KILLED")
        self.assertEqual(got.data.params, {"lr": "0.01", "bs": "32"})
        self.assertEqual(got.data.metrics, {"loss": 0.25, "acc": 0.7})
        self.assertEqual(got.data.tags["stage"], "dev")
        self.assertNotIn("note", got.data.tags)
        found = c.search_runs(["0"], "params.bs = '32'", order_by=["metrics.loss DESC"])
        self.assertEqual([x.info.run_id for x in found], [rid])
        self.assertEqual(self.show(rid)["status"], "killed")

    def test_artifacts(self):
        c = MlflowClient()
        with mlflow.start_run() as run:
            mlflow.log_text("hello", "notes/readme.txt")
            mlflow.log_dict({"a": 1}, "notes/deep/cfg.json")
            mlflow.log_text("top", "top.txt")
        rid = run.info.run_id
        self.assertEqual(c.list_artifacts(rid), [FileInfo("notes", True, None), FileInfo("top.txt", False, 3)])
        self.assertEqual(c.list_artifacts(rid, "notes"), [FileInfo("notes/deep", True, None),
                                                          FileInfo("notes/readme.txt", False, 5)])
        dst = os.path.join(self.dir, "dl")
        p = c.download_artifacts(rid, "notes/readme.txt", dst)
        self.assertEqual(p, os.path.join(dst, "notes", "readme.txt"))
        with open(p) as f:
            self.assertEqual(f.read(), "hello")
        p = c.download_artifacts(rid, "notes", dst)
        self.assertEqual(p, os.path.join(dst, "notes"))
        with open(os.path.join(p, "deep", "cfg.json")) as f:
            self.assertEqual(json.load(f), {"a": 1})
        with self.assertRaises(MlflowException) as cm:
            c.download_artifacts(rid, "missing.txt", dst)
        self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")

    def test_client_logs_into_the_active_run_through_its_journal(self):
        c = MlflowClient()
        with mlflow.start_run() as run:
            for i in range(3):
                c.log_metric(run.info.run_id, "m", float(i), step=i)
            self.assertEqual([m.value for m in c.get_metric_history(run.info.run_id, "m")], [0.0, 1.0, 2.0])
        self.assertEqual(self.show(run.id)["metrics"]["m"]["count"], 3)


class TestExceptions(RepoTest):
    def test_error_codes(self):
        with self.assertRaises(MlflowException) as cm:
            mlflow.get_run("0000000000000000000000000z")
        self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")
        self.assertIsInstance(cm.exception, gitruns.GitRunsError)
        with mlflow.start_run():
            mlflow.log_param("lr", 0.1)
            with self.assertRaises(MlflowException) as cm:
                mlflow.log_param("lr", 0.2)  # params are write-once, as in MLflow
            self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")
            with self.assertRaises(MlflowException) as cm:
                mlflow.log_metric("loss", "high")
            self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")
            self.assertIsInstance(cm.exception, TypeError)
            with self.assertRaises(MlflowException) as cm:
                mlflow.log_metric("bad\tkey", 1.0)
            self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(MlflowException) as cm:
            MlflowClient().log_metric("0000000000000000000000000z", "m", 1.0)
        self.assertEqual(cm.exception.error_code, "RESOURCE_DOES_NOT_EXIST")
        self.assertEqual(json.loads(cm.exception.serialize_as_json())["error_code"], "RESOURCE_DOES_NOT_EXIST")


def _ms(t):
    from gitruns import _mlflow
    return _mlflow.ms(t)


if __name__ == "__main__":
    unittest.main()
