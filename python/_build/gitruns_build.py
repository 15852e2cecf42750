"""The package's own build backend (PEP 517 and PEP 660), standard library only.

pip builds a package in an isolated environment holding what the backend
requires; setuptools had to be fetched from the package index for that, so
``pip install ./python`` failed on a machine that cannot reach it. This
backend requires nothing: the package is pure Python, and a wheel is a zip
file with three small metadata files.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "gitruns"


def _project():
    """Reads the [project] strings of pyproject.toml (tomllib is 3.11+)."""
    fields, inside = {}, False
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                inside = line == "[project]"
            elif inside:
                m = re.match(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"\s*$', line)
                if m:
                    fields[m.group(1)] = m.group(2)
    for key in ("name", "version"):
        if key not in fields:
            raise RuntimeError("pyproject.toml: [project] has no %s" % key)
    return fields


def _metadata(p):
    lines = ["Metadata-Version: 2.1", "Name: " + p["name"], "Version: " + p["version"]]
    if "description" in p:
        lines.append("Summary: " + p["description"])
    if "requires-python" in p:
        lines.append("Requires-Python: " + p["requires-python"])
    return "\n".join(lines) + "\n"


def _sources():
    """The package's files, as (path in the archive, path on disk)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, PACKAGE)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                full = os.path.join(dirpath, name)
                out.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return out


def _wheel_name(p):
    return "%s-%s-py3-none-any.whl" % (p["name"].replace("-", "_"), p["version"])


def _digest(data):
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + h.decode("ascii")


def _write_wheel(directory, files):
    """Writes a wheel of files, a list of (archive path, bytes), adding
    its dist-info; returns the wheel's file name."""
    p = _project()
    info = "%s-%s.dist-info" % (p["name"].replace("-", "_"), p["version"])
    files = list(files) + [
        (info + "/METADATA", _metadata(p).encode("utf-8")),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: gitruns_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = "".join("%s,%s,%d\n" % (name, _digest(data), len(data)) for name, data in files)
    files.append((info + "/RECORD", (record + info + "/RECORD,,\n").encode("utf-8")))
    name = _wheel_name(p)
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return name


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(arc, _read(full)) for arc, full in _sources()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth line puts this directory on sys.path: edits show at once.
    return _write_wheel(wheel_directory, [(PACKAGE + "_editable.pth", (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (p["name"], p["version"])
    files = [("pyproject.toml", _read(os.path.join(ROOT, "pyproject.toml"))),
             ("PKG-INFO", _metadata(p).encode("utf-8")),
             ("_build/gitruns_build.py", _read(os.path.abspath(__file__)))]
    readme = os.path.join(ROOT, "README.md")
    if os.path.exists(readme):
        files.append(("README.md", _read(readme)))
    files += [(arc, _read(full)) for arc, full in _sources()]
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for arc, data in files:
            ti = tarfile.TarInfo(base + "/" + arc)
            ti.size, ti.mtime, ti.mode = len(data), int(time.time()), 0o644
            t.addfile(ti, io.BytesIO(data))
    return name
