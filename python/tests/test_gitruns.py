"""Tests of the gitruns package against the git-runs binary.

Each test works in its own temporary git repository; git-runs must be on PATH
(or named by GITRUNS_BIN).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
sys.path.insert(0, PKG)

import gitruns  # noqa: E402
from gitruns import _run  # noqa: E402


def binary():
    return os.environ.get("GITRUNS_BIN") or shutil.which("git-runs")


def python_with(module):
    """The first python3 on PATH that imports module, as a user who types
    python3 gets it (a pyenv or venv python3 ahead of the system's may
    lack Debian's python3-* packages)."""
    seen = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.realpath(os.path.join(d or ".", "python3"))
        if exe in seen or not os.access(exe, os.X_OK):
            continue
        seen.add(exe)
        if subprocess.call([os.path.join(d or ".", "python3"), "-c", "import " + module],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
            return os.path.join(d or ".", "python3")
    raise AssertionError("no python3 on PATH imports %s (Debian: apt-get install python3-%s)" % (module, module))


class RepoTest(unittest.TestCase):
    def setUp(self):
        # A missing binary is a failure, not a skip: these tests are the
        # SDK's only check against the real thing.
        self.assertIsNotNone(binary(), "git-runs not found: set GITRUNS_BIN or PATH")
        self.old_cwd = os.getcwd()
        self.dir = tempfile.mkdtemp(prefix="gitruns-test-")
        os.chdir(self.dir)
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
        subprocess.check_call(["git", "init", "-q"], env=env)
        with open("train.py", "w") as f:
            f.write("print('hi')\n")
        subprocess.check_call(["git", "add", "."], env=env)
        subprocess.check_call(["git", "commit", "-q", "-m", "init"], env=env)
        self.saved_env = os.environ.pop("GITRUNS_RUN", None)

    def tearDown(self):
        r = gitruns.active_run()
        if r is not None:
            try:
                gitruns.end_run()
            except Exception:
                pass
        _run._experiment = _run._experiment_id = None
        if self.saved_env is not None:
            os.environ["GITRUNS_RUN"] = self.saved_env
        os.chdir(self.old_cwd)
        shutil.rmtree(self.dir, ignore_errors=True)

    def git_runs(self, *args):
        return subprocess.check_output([binary()] + list(args), universal_newlines=True)

    def show(self, rid):
        return json.loads(self.git_runs("show", "--json", rid))

    def ls(self):
        return json.loads(self.git_runs("ls", "--json"))

    def script(self, body):
        p = os.path.join(self.dir, "script_%d.py" % time.time_ns())
        with open(p, "w") as f:
            f.write("import sys\nsys.path.insert(0, %r)\nimport gitruns\n" % PKG)
            f.write(textwrap.dedent(body))
        return p


class TestStandalone(RepoTest):
    def test_everything_logged(self):
        gitruns.set_experiment("exp1")
        with gitruns.start_run(name="first", params={"lr": 0.01, "model": {"layers": [64, 32], "act": "relu"}},
                               tags={"who": "me"}) as r:
            self.assertIs(gitruns.active_run(), r)
            self.assertEqual(r.info.run_id, r.id)
            gitruns.log_param("epochs", 3)
            gitruns.log_params({"flag": True, "note": 'quote " and \\ back', "big": 1e20})
            for i in range(5):
                gitruns.log_metric("loss", 1.0 / (i + 1))
            gitruns.log_metrics({"acc": 0.9, "f1": 1}, step=7)
            gitruns.log_metric("weird", float("nan"))
            gitruns.log_metric("weird", float("inf"))
            gitruns.log_metric("weird", float("-inf"), step=10, timestamp=1700000000000)
            gitruns.set_tag("stage", "test")
            gitruns.set_tags({"n": 3})
            art = os.path.join(self.dir, "out.txt")
            with open(art, "w") as f:
                f.write("result\n")
            gitruns.log_artifact(art)
            gitruns.log_artifact(art, artifact_path="sub")
            gitruns.log_dict({"a": [1, 2]}, "cfg.json")
            gitruns.log_text("hello", "notes/readme.txt")
        self.assertIsNone(gitruns.active_run())
        run = self.show(r.id)
        self.assertEqual(run["status"], "finished")
        self.assertEqual(run["name"], "first")
        self.assertEqual(run["experiment"], "exp1")
        p = run["params"]
        self.assertEqual(p["lr"], 0.01)
        self.assertEqual(p["model"], {"layers": [64, 32], "act": "relu"})
        self.assertEqual(p["epochs"], 3)
        self.assertIs(p["flag"], True)
        self.assertEqual(p["note"], 'quote " and \\ back')
        self.assertEqual(p["big"], 1e20)
        self.assertEqual(run["tags"], {"who": "me", "stage": "test", "n": "3"})
        h = run["history"]
        self.assertEqual([x["step"] for x in h["loss"]], [0, 1, 2, 3, 4])
        self.assertAlmostEqual(h["loss"][4]["value"], 0.2)
        self.assertEqual(h["acc"][0]["step"], 7)
        self.assertEqual(h["f1"][0]["value"], 1)
        self.assertEqual([x["step"] for x in h["weird"]], [0, 1, 10])
        self.assertEqual(h["weird"][2]["timestamp"], 1700000000000)
        self.assertEqual(run["metrics"]["weird"]["count"], 3)
        paths = sorted(a["path"] for a in run["artifacts"])
        self.assertEqual(paths, ["cfg.json", "notes/readme.txt", "out.txt", "sub/out.txt"])
        hist = gitruns.get_metric_history(r.id, "loss")
        self.assertEqual(len(hist), 5)
        self.assertEqual(set(hist[0]), {"step", "timestamp", "value"})
        runs = gitruns.search_runs()
        self.assertEqual([x["id"] for x in runs], [r.id])
        self.assertEqual(gitruns.search_runs(where="params.lr > 1"), [])
        self.assertEqual(len(gitruns.search_runs(where="metrics.acc > 0.5", sort="-metrics.acc", limit=1)), 1)

    def test_context_manager_failed(self):
        with self.assertRaises(RuntimeError):
            with gitruns.start_run() as r:
                gitruns.log_metric("x", 1)
                raise RuntimeError("boom")
        run = self.show(r.id)
        self.assertEqual(run["status"], "failed")
        self.assertEqual(run["metrics"]["x"]["count"], 1)

    def test_context_manager_killed(self):
        with self.assertRaises(KeyboardInterrupt):
            with gitruns.start_run() as r:
                raise KeyboardInterrupt
        self.assertEqual(self.show(r.id)["status"], "killed")

    def test_auto_start_and_end_run(self):
        gitruns.log_metric("x", 2.5)
        r = gitruns.active_run()
        self.assertIsNotNone(r)
        gitruns.end_run()
        self.assertIsNone(gitruns.active_run())
        self.assertEqual(self.show(r.id)["metrics"]["x"]["last"], 2.5)

    def test_duck_typed_values(self):
        class Scalar(object):  # numpy scalar / 0-d tensor stand-in
            def __init__(self, v):
                self.v = v

            def item(self):
                return self.v

        class Floaty(object):
            def __float__(self):
                return 0.25

        with gitruns.start_run() as r:
            gitruns.log_metric("a", Scalar(3), step=Scalar(2))
            gitruns.log_metric("b", Floaty())
            gitruns.log_metric("c", True)
        h = self.show(r.id)["history"]
        self.assertEqual(h["a"][0]["step"], 2)
        self.assertEqual(h["a"][0]["value"], 3)
        self.assertEqual(h["b"][0]["value"], 0.25)
        self.assertEqual(h["c"][0]["value"], 1)

    def test_bad_values_raise(self):
        with gitruns.start_run():
            with self.assertRaisesRegex(TypeError, "loss"):
                gitruns.log_metric("loss", "high")
            with self.assertRaisesRegex(TypeError, "loss"):
                gitruns.log_metric("loss", None)
            with self.assertRaisesRegex(TypeError, "loss"):
                gitruns.log_metric("loss", [1, 2])
            with self.assertRaisesRegex(ValueError, "bad\\\\tkey|tab"):
                gitruns.log_metric("bad\tkey", 1.0)
            with self.assertRaisesRegex(ValueError, "empty"):
                gitruns.log_metric("", 1.0)
            with self.assertRaisesRegex(ValueError, "not allowed"):
                gitruns.log_metric("a*b", 1.0)
            with self.assertRaisesRegex(TypeError, "m"):
                gitruns.log_metric("m", 1.0, step=1.5)
            gitruns.log_param("p", None)  # "None", as MLflow has it
            with self.assertRaisesRegex(TypeError, "bad"):
                gitruns.log_metrics({"ok": 1.0, "bad": "x"})
            gitruns.log_param("q", 1)
            with self.assertRaises(gitruns.GitRunsError):  # params are write-once
                gitruns.log_param("q", 2)
            with self.assertRaises(ValueError):
                gitruns.end_run("weird")
        # the bad log_metrics call logged nothing
        r = gitruns.search_runs()[0]
        self.assertNotIn("ok", r["metrics"])
        self.assertEqual(r["params"]["p"], "None")

    def test_threads(self):
        n, per = 8, 20000
        with gitruns.start_run() as r:
            def work(t):
                for i in range(per):
                    gitruns.log_metric("t%d" % t, float(i))
                    gitruns.log_metric("shared", float(i))
            ts = [threading.Thread(target=work, args=(t,)) for t in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        m = self.show(r.id)["metrics"]
        for t in range(n):
            self.assertEqual(m["t%d" % t]["count"], per)
            self.assertEqual(m["t%d" % t]["step"], per - 1)
        self.assertEqual(m["shared"]["count"], n * per)
        self.assertEqual(m["shared"]["step"], n * per - 1)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_fork(self):
        with gitruns.start_run() as r:
            for i in range(10):
                gitruns.log_metric("parent", float(i))
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    for i in range(1000):
                        gitruns.log_metric("child", float(i))
                    gitruns.flush()
                except BaseException:
                    code = 1
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            self.assertEqual(status, 0)
            for i in range(10):
                gitruns.log_metric("parent", float(i))
        m = self.show(r.id)["metrics"]
        self.assertEqual(m["child"]["count"], 1000)
        # the parent's 10 unflushed points at fork time are written once, by the parent
        self.assertEqual(m["parent"]["count"], 20)
        self.assertEqual(self.show(r.id)["status"], "finished")

    def test_atexit_ends_run(self):
        p = self.script("""
            gitruns.start_run(name="s1")
            for i in range(100):
                gitruns.log_metric("x", i)
        """)
        subprocess.check_call([sys.executable, p])
        p2 = self.script("""
            gitruns.start_run(name="s2")
            gitruns.log_metric("x", 1)
            raise SystemExit(0) if False else ValueError("boom")
        """)
        rc = subprocess.call([sys.executable, p2], stderr=subprocess.DEVNULL)
        self.assertNotEqual(rc, 0)
        runs = {r["name"]: r for r in self.ls()}
        self.assertEqual(runs["s1"]["status"], "finished")
        self.assertEqual(runs["s1"]["metrics"]["x"]["count"], 100)
        self.assertEqual(runs["s2"]["status"], "failed")
        self.assertEqual(runs["s2"]["metrics"]["x"]["count"], 1)

    def test_sigkill_crashed(self):
        p = self.script("""
            import time
            gitruns.start_run(name="doomed")
            for i in range(500):
                gitruns.log_metric("x", i)
            gitruns.flush()
            time.sleep(0.2)
            for i in range(500):
                gitruns.log_metric("x", i)
            time.sleep(0.5)  # the timer flushes these
            print("ready", flush=True)
            time.sleep(60)
        """)
        proc = subprocess.Popen([sys.executable, p], stdout=subprocess.PIPE, universal_newlines=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), "ready")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["status"], "crashed")
        self.assertEqual(runs[0]["metrics"]["x"]["count"], 1000)


class TestSearchPandas(RepoTest):
    def test_pandas_rows_flattened(self):
        class FakePandas(object):  # stands in for pandas, which may be absent
            @staticmethod
            def DataFrame(rows):
                return rows

        with gitruns.start_run(params={"opt": {"lr": 0.1}}, tags={"k": "v"}):
            gitruns.log_metric("acc", 0.5)
        saved = sys.modules.get("pandas")
        sys.modules["pandas"] = FakePandas
        try:
            rows = gitruns.search_runs(output="pandas")
        finally:
            if saved is None:
                del sys.modules["pandas"]
            else:
                sys.modules["pandas"] = saved
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["params.opt.lr"], 0.1)
        self.assertEqual(rows[0]["metrics.acc"], 0.5)
        self.assertEqual(rows[0]["tags.k"], "v")
        self.assertEqual(rows[0]["status"], "finished")


    def test_real_pandas(self):
        # A python3 on PATH with pandas (.ci/run installs Debian's
        # python3-pandas): a DataFrame with a row per run, flattened columns
        # and times as times.
        with gitruns.start_run(name="a", params={"opt": {"lr": 0.1}}):
            gitruns.log_metric("acc", 0.5)
        with gitruns.start_run(name="b", params={"opt": {"lr": 0.2}}, tags={"k": "v"}):
            gitruns.log_metric("acc", 0.7)
        code = textwrap.dedent("""
            import gitruns
            df = gitruns.search_runs(output="pandas", sort="-metrics.acc")
            print(type(df).__name__, df.shape[0])
            print(list(df["name"]), list(df["params.opt.lr"]), list(df["metrics.acc"]))
            print(str(df["started"].dtype), df["tags.k"].isna().tolist())
        """)
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
        out = subprocess.check_output([python_with("pandas"), "-c", code], env=env, cwd=self.dir,
                                      universal_newlines=True)
        self.assertEqual(out.splitlines(), [
            "DataFrame 2",
            "['b', 'a'] [0.2, 0.1] [0.7, 0.5]",
            "datetime64[ns, UTC] [False, True]",
        ])


class TestExec(RepoTest):
    def test_attach_under_exec(self):
        p = self.script("""
            import os
            with gitruns.start_run(params={"lr": 0.5}, tags={"k": "v"}) as r:
                assert r.id == os.environ["GITRUNS_RUN"], r.id
                for i in range(50):
                    gitruns.log_metric("loss", i)
                gitruns.log_text("x", "t.txt")
            # exec ends the run: a start_run after the with block would start a
            # run part of it
            print(r.id)
        """)
        out = subprocess.check_output([binary(), "exec", "--", sys.executable, p], universal_newlines=True)
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        r = runs[0]
        self.assertIn(r["id"], out)
        self.assertEqual(r["status"], "finished")
        self.assertEqual(r["params"]["lr"], 0.5)
        self.assertEqual(r["tags"]["k"], "v")
        self.assertEqual(r["metrics"]["loss"]["count"], 50)

    def test_bad_run_id_in_environment(self):
        # GITRUNS_RUN becomes part of a path; anything but an id is refused
        # and no file is touched.
        target = os.path.join(self.dir, "x.journal")
        with open(target, "w") as f:
            f.write("keep\n")
        os.environ["GITRUNS_RUN"] = "../../x"
        try:
            with self.assertRaises(gitruns.GitRunsError):
                gitruns.start_run()
        finally:
            del os.environ["GITRUNS_RUN"]
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")
        self.assertEqual(self.ls(), [])

    def test_auto_attach_under_exec_and_failure(self):
        p = self.script("""
            gitruns.log_metric("loss", 1.0)
            raise RuntimeError("boom")
        """)
        rc = subprocess.call([binary(), "exec", "--", sys.executable, p], stderr=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)
        self.assertNotEqual(rc, 0)
        runs = self.ls()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["status"], "failed")
        self.assertEqual(runs[0]["metrics"]["loss"]["count"], 1)


class TestValues(unittest.TestCase):
    def test_toml(self):
        t = _run._toml
        self.assertEqual(t("k", 1), "1")
        self.assertEqual(t("k", 1.0), "1.0")
        self.assertEqual(t("k", 1e20), "1e+20")
        self.assertEqual(t("k", True), "true")
        self.assertEqual(t("k", "a\"b\n"), '"a\\"b\\n"')
        self.assertEqual(t("k", [1, "x", [2.5]]), '[1, "x", [2.5]]')

    def test_flatten(self):
        self.assertEqual(_run._flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}),
                         {"a.b": 1, "a.c.d": 2, "e": 3})


if __name__ == "__main__":
    unittest.main()
