"""MLflow's artifact calls beyond single files: log_artifacts, log_figure,
log_image, log_table and log_input, with duck typing instead of imports
(matplotlib's savefig, PIL's save, numpy's shape and tolist, pandas'
to_dict)."""

import json
import os
import shutil
import struct
import tempfile
import zlib

from . import _run
from .exceptions import InvalidTypeError, InvalidValueError


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    """Stores every file under local_dir, under artifact_path if given."""
    if not os.path.isdir(local_dir):
        raise InvalidValueError("log_artifacts: %s is not a directory" % local_dir)
    r = _run._target(run_id)
    base = (artifact_path or "").strip("/")
    for root, dirs, files in os.walk(local_dir):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            rel = os.path.relpath(p, local_dir).replace(os.sep, "/")
            dest = base + "/" + rel if base else rel
            r._binary_call(["artifact", "--run", r.id, "--as", dest, os.path.abspath(p)])


def _stored(run_id, artifact_file, write):
    """Calls write(path) for a file in a temporary directory, then stores it
    as artifact_file."""
    r = _run._target(run_id)
    d = tempfile.mkdtemp(prefix="gitruns-")
    try:
        p = os.path.join(d, os.path.basename(artifact_file) or "artifact")
        write(p)
        r._binary_call(["artifact", "--run", r.id, "--as", artifact_file.strip("/"), p])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def log_figure(figure, artifact_file, save_kwargs=None, run_id=None):
    """Stores a matplotlib (anything with savefig) or plotly (write_image or
    write_html) figure; the format follows artifact_file's extension."""
    kw = dict(save_kwargs or {})
    if hasattr(figure, "savefig"):
        _stored(run_id, artifact_file, lambda p: figure.savefig(p, **kw))
    elif artifact_file.endswith(".html") and hasattr(figure, "write_html"):
        _stored(run_id, artifact_file, lambda p: figure.write_html(p, **kw))
    elif hasattr(figure, "write_image"):
        _stored(run_id, artifact_file, lambda p: figure.write_image(p, **kw))
    else:
        raise InvalidTypeError("log_figure: %s is not a figure (no savefig)" % type(figure).__name__)


def log_image(image, artifact_file=None, key=None, step=None, timestamp=None, run_id=None):
    """Stores a PIL image (anything with save) or an array of shape (H, W),
    (H, W, 1), (H, W, 3) or (H, W, 4) (numpy, duck-typed by tolist) as a PNG.
    Integer values are 0-255, floats 0-1, as MLflow reads them. With key
    instead of artifact_file, it goes to images/<key>/step_<step>.png."""
    if artifact_file is None:
        if key is None:
            raise InvalidValueError("log_image: give artifact_file or key")
        artifact_file = "images/%s/step_%d.png" % (key, step or 0)
    if hasattr(image, "save") and not hasattr(image, "tolist"):
        _stored(run_id, artifact_file, lambda p: image.save(p))
        return
    rows = image.tolist() if hasattr(image, "tolist") else image
    data = png(rows)
    _stored(run_id, artifact_file, lambda p: _write(p, data))


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def png(rows):
    """A PNG of rows of pixels: each pixel a number (gray) or a list of 1, 3
    or 4 channels; ints 0-255, floats 0.0-1.0."""
    if not rows or not isinstance(rows, list) or not isinstance(rows[0], list) or not rows[0]:
        raise InvalidValueError("log_image: an image needs a shape (H, W) or (H, W, C)")
    h, w = len(rows), len(rows[0])
    first = rows[0][0]
    ch = len(first) if isinstance(first, (list, tuple)) else 0
    if ch not in (0, 1, 3, 4):
        raise InvalidValueError("log_image: %d channels; want 1, 3 or 4" % ch)
    floats = any(isinstance(v, float) for px in rows[0] for v in (px if ch else [px]))
    color = {0: 0, 1: 0, 3: 2, 4: 6}[ch]

    def byte(v):
        if isinstance(v, bool):
            v = int(v)
        if floats:
            v = int(round(float(v) * 255))
        return 0 if v < 0 else 255 if v > 255 else int(v)

    raw = bytearray()
    for row in rows:
        if len(row) != w:
            raise InvalidValueError("log_image: rows of different lengths")
        raw.append(0)  # filter type None
        for px in row:
            if ch:
                if len(px) != ch:
                    raise InvalidValueError("log_image: pixels of different channel counts")
                raw.extend(byte(v) for v in px)
            else:
                raw.append(byte(px))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def log_table(data, artifact_file, run_id=None):
    """Stores a table as MLflow does: JSON {"columns": [...], "data": [[...],
    ...]}. data is a dict of equal-length columns or a pandas DataFrame
    (duck-typed by to_dict)."""
    if hasattr(data, "to_dict") and not isinstance(data, dict):
        data = data.to_dict(orient="list")
    if not isinstance(data, dict):
        raise InvalidTypeError("log_table: data must be a dict of columns or a DataFrame")
    cols = [str(c) for c in data]
    values = [list(v.tolist() if hasattr(v, "tolist") else v) for v in data.values()]
    n = {len(v) for v in values}
    if len(n) > 1:
        raise InvalidValueError("log_table: columns of different lengths")
    table = {"columns": cols, "data": [list(r) for r in zip(*values)]}
    _run.log_dict(table, artifact_file, run_id=run_id)


def log_input(dataset, context=None, tags=None, run_id=None):
    """Records a dataset the run used, as MLflow's dataset inputs: its
    description (name, digest, source_type, source, schema, profile, the
    context, tags) as the artifact inputs/<name>.json, and the tag
    mlflow.dataset.<name> = "<digest> <context>". dataset is anything with
    MLflow's Dataset attributes (name, digest, source...) or a dict."""
    d = dataset if isinstance(dataset, dict) else {}
    info = {}
    for k in ("name", "digest", "source_type", "source", "schema", "profile"):
        v = d.get(k) if d else getattr(dataset, k, None)
        if v is not None and not isinstance(v, (str, int, float, bool, list, dict)):
            to_json = getattr(v, "to_json", None)
            v = to_json() if callable(to_json) else str(v)
        if v is not None:
            info[k] = v
    name = str(info.get("name") or "dataset")
    if context is not None:
        info["context"] = context
    if tags:
        info["tags"] = {str(k): str(v) for k, v in tags.items()}
    _run.log_dict(info, "inputs/%s.json" % name.replace("/", "_"), run_id=run_id)
    _run.set_tag("mlflow.dataset." + name, " ".join(str(x) for x in (info.get("digest", ""), context or "") if x) or name,
                 run_id=run_id)
