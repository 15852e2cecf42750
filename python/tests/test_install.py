"""pip installs the package with no package index: its build backend needs
nothing but the standard library (pip used to fetch setuptools for it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from test_gitruns import PKG, RepoTest  # noqa: E402


def pip(python, *args):
    # --no-index: a build that needed anything from the index fails here.
    return subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "install",
                           "--no-index", "-q"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


class TestInstall(RepoTest):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="gitruns-install-")
        # Another directory than the source, so import cannot find it there.
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def run_from(self, python, env):
        code = ("import gitruns, json\n"
                "with gitruns.start_run(name='installed', params={'lr': 0.1}):\n"
                "    gitruns.log_metric('loss', 0.5)\n"
                "print(gitruns.__file__)\n")
        return subprocess.check_output([python, "-c", code], env=env, cwd=self.dir,
                                       universal_newlines=True).strip()

    def test_install_offline(self):
        target = os.path.join(self.tmp, "site")
        p = pip(sys.executable, "--target", target, PKG)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(sorted(os.listdir(os.path.join(target, "gitruns-0.1.0.dist-info")))[:3],
                         ["INSTALLER", "METADATA", "RECORD"])
        where = self.run_from(sys.executable, dict(self.env, PYTHONPATH=target))
        self.assertEqual(where, os.path.join(target, "gitruns", "__init__.py"))
        self.assertTrue(os.path.exists(os.path.join(target, "gitruns", "tracking", "__init__.py")))
        runs = json.loads(self.git_runs("ls", "--json"))
        self.assertEqual([(r["name"], r["params"]["lr"], r["metrics"]["loss"]["last"]) for r in runs],
                         [("installed", 0.1, 0.5)])
        self.assertFalse(os.path.exists(os.path.join(PKG, "build")), "the build left files in the source")

    def test_editable_into_venv(self):
        venv = os.path.join(self.tmp, "venv")
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        python = os.path.join(venv, "bin", "python")
        p = pip(python, "-e", PKG)
        self.assertEqual(p.returncode, 0, p.stdout)
        where = self.run_from(python, self.env)
        self.assertEqual(where, os.path.join(PKG, "gitruns", "__init__.py"))


if __name__ == "__main__":
    unittest.main()
